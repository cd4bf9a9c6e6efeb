// The sweep tool's local backend, end to end through its CLI (experiments/sweep/main.ts) on tiny toy
// WGAN runs: run folders and recorded commands, the aggregate against the runs' own summaries,
// a failing grid point reported and retried, and sweeps interrupted by SIGINT and by SIGKILL
// that resume without touching finished runs. Plus the grid and spec parsing it rests on.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandGrid, gridFromObject, parseGridEntry, pointArgs } from '../../experiments/sweep/grid.js';
import { readSpecFile, resolveSpec } from '../../experiments/sweep/spec.js';
import { pidAlive } from '../../experiments/sweep/layout.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `alr-sweep-${name}-`));

/** Tiny toy runs: 2 metric rows each (so aggregate draws curves), a second or two of training. */
const TINY = ['--dim', '16', '--batch', '32', '--critic-iters', '1', '--no-progress'];

interface Done {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function sweep(args: string[]): { child: ChildProcess; done: Promise<Done> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'experiments/sweep/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? os.tmpdir() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<Done>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

async function until(what: string, cond: () => boolean, timeoutMs = 150_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const json = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));
const runDirs = (out: string) => fs.readdirSync(path.join(out, 'runs')).map((n) => path.join(out, 'runs', n));
const status = (dir: string) =>
  fs.existsSync(path.join(dir, 'status.json')) ? json(path.join(dir, 'status.json')) : null;
// finished and recorded as such: a run caught between writing its summary and its status (its
// watcher killed with the sweep) is still settling, and its status.json may yet change
const finished = (out: string) =>
  runDirs(out).filter((d) => fs.existsSync(path.join(d, 'summary.json')) && status(d)?.state === 'done');

/** mtime of every file of a run folder: a finished run must not be written again. */
function snapshot(dirs: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const d of dirs) for (const f of fs.readdirSync(d)) m.set(path.join(d, f), fs.statSync(path.join(d, f)).mtimeMs);
  return m;
}

function expectUntouched(before: Map<string, number>): void {
  for (const [f, t] of before) expect(fs.statSync(f).mtimeMs, `${f} was written again`).toBe(t);
  const dirs = new Set([...before.keys()].map((f) => path.dirname(f)));
  for (const d of dirs)
    for (const f of fs.readdirSync(d)) expect(before.has(path.join(d, f)), `${d}/${f} is new`).toBe(true);
}

function meanStd(v: number[]): { mean: number; std: number } {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  return { mean, std: Math.sqrt(v.reduce((a, x) => a + (x - mean) ** 2, 0) / (v.length - 1)) };
}

describe('grid and spec', () => {
  it('parses entries, ranges and booleans, and expands the product first key slowest', () => {
    expect(parseGridEntry('seed=0-3')).toEqual(['seed', [0, 1, 2, 3]]);
    expect(parseGridEntry('lambda=0.1,1e-4,10')).toEqual(['lambda', ['0.1', '1e-4', '10']]);
    expect(() => parseGridEntry('reg')).toThrow(/key=value/);
    expect(() => parseGridEntry('seed=4-1')).toThrow(/ends before it starts/);
    const points = expandGrid({ reg: ['alp', 'gp'], seed: [0, 1] });
    expect(points).toEqual([
      { reg: 'alp', seed: 0 },
      { reg: 'alp', seed: 1 },
      { reg: 'gp', seed: 0 },
      { reg: 'gp', seed: 1 },
    ]);
    expect(pointArgs({ epsMin: 0.5, 'critic-iters': 2, flip: false, quick: 'true' })).toEqual([
      '--eps-min',
      '0.5',
      '--critic-iters',
      '2',
      '--no-flip',
      '--quick',
    ]);
    expect(() => expandGrid({ seed: [0, 0] })).toThrow(/listed twice/);
  });

  it('reads YAML and JSON spec files; flags override them; unknown keys are errors', () => {
    const dir = tmp('spec');
    const yaml = path.join(dir, 's.yaml');
    fs.writeFileSync(
      yaml,
      'script: experiments/toy_wgan.ts\nout: out/x\nargs: [--iters, 10]\ngrid:\n  reg: [alp, gp]\n  seed: 0-2\nslurm: { gpus: 1 }\n',
    );
    const spec = resolveSpec(readSpecFile(yaml), { workers: 2, grid: { lambda: ['1', '10'] } });
    expect(spec).toMatchObject({
      script: 'experiments/toy_wgan.ts',
      out: 'out/x',
      args: ['--iters', '10'],
      workers: 2,
      backend: 'local',
      replicate: 'seed',
    });
    expect(spec.grid).toEqual({ reg: ['alp', 'gp'], seed: [0, 1, 2], lambda: ['1', '10'] });
    expect(spec.slurm.gpus).toBe(1);
    expect(gridFromObject({ reg: 'alp,gp', seed: 3 }, 'x')).toEqual({ reg: ['alp', 'gp'], seed: [3] });
    fs.writeFileSync(path.join(dir, 'bad.json'), '{"script": "experiments/toy_wgan.ts", "seeds": 3}');
    expect(() => readSpecFile(path.join(dir, 'bad.json'))).toThrow(/unknown key 'seeds'/);
    expect(() => resolveSpec({ script: 'experiments/toy_wgan.ts', out: 'o', args: ['--out', 'x'] }, {})).toThrow(
      /must not set --out/,
    );
  });
});

describe('local backend', () => {
  it('runs a grid on 2 workers, records each command, aggregates mean ± std; a failing point is reported and retried', async () => {
    const out = tmp('grid');
    const args = [
      'run',
      'experiments/toy_wgan.ts',
      '--out',
      out,
      '--workers',
      '2',
      'reg=alp,bogus',
      'seed=0-1',
      '--',
      '--iters',
      '4',
      '--every',
      '2',
      ...TINY,
    ];
    const first = await sweep(args).done;
    expect(first.code, first.stderr).toBe(1); // two runs failed
    expect(first.stdout).toMatch(/2\/4 finished .* 2 failed/);
    expect(first.stdout).toMatch(/failed reg-bogus_seed-0: --reg: expected one of/);

    const names = fs.readdirSync(path.join(out, 'runs')).sort();
    expect(names).toEqual(['reg-alp_seed-0', 'reg-alp_seed-1', 'reg-bogus_seed-0', 'reg-bogus_seed-1']);
    for (const name of names) {
      const dir = path.join(out, 'runs', name);
      const run = json(path.join(dir, 'run.json'));
      const [reg, seed] = [run.setting.reg, run.setting.seed];
      expect(run.argv.slice(3)).toEqual([
        'experiments/toy_wgan.ts',
        '--iters',
        '4',
        '--every',
        '2',
        ...TINY,
        '--reg',
        reg,
        '--seed',
        String(seed),
        '--out',
        dir,
        '--resume',
      ]);
      expect(fs.readFileSync(path.join(dir, 'command.sh'), 'utf8')).toContain(run.command);
      if (reg === 'bogus') {
        expect(status(dir)).toMatchObject({
          state: 'failed',
          attempt: 1,
          code: 1,
          error: expect.stringMatching(/--reg: expected one of/),
        });
        continue;
      }
      expect(status(dir)).toMatchObject({ state: 'done', attempt: 1, code: 0 });
      // what ran is what was recorded: the script's own config.json
      expect(json(path.join(dir, 'config.json')).options).toMatchObject({ reg, seed, iters: 4, out: dir });
    }

    const agg = json(path.join(out, 'aggregate', 'aggregate.json'));
    expect(agg.varying).toEqual(['reg']);
    expect(agg.settings.map((s: { label: string }) => s.label)).toEqual(['reg=alp', 'reg=bogus']);
    const md = fs.readFileSync(path.join(out, 'aggregate', 'summary.md'), 'utf8');
    const header = md
      .split('\n')
      .find((l) => l.startsWith('| reg |'))!
      .split('|')
      .map((c) => c.trim());
    for (const reg of ['alp']) {
      const s = agg.settings.find((x: { label: string }) => x.label === `reg=${reg}`);
      expect([s.done, s.runs]).toEqual([2, 2]);
      const finals = [0, 1].map(
        (seed) => json(path.join(out, 'runs', `reg-${reg}_seed-${seed}`, 'summary.json')).final,
      );
      for (const k of ['w1', 'gradNormInterp', 'probeViolations', 'modesCovered', 'wasserstein']) {
        const { mean, std } = meanStd(finals.map((f) => f[k]));
        expect(s.metrics[k].n).toBe(2);
        expect(s.metrics[k].mean).toBeCloseTo(mean, 12);
        expect(s.metrics[k].std).toBeCloseTo(std, 12);
      }
      // the table's w1 cell says the same to the digits it shows
      const row = md
        .split('\n')
        .find((l) => l.startsWith(`| ${reg} |`))!
        .split('|')
        .map((c) => c.trim());
      expect(row[header.indexOf('n')]).toBe('2/2');
      const [m, sd] = row[header.indexOf('w1')].split('±').map((x) => x.trim());
      const { mean, std } = meanStd(finals.map((f) => f.w1));
      const tol = 0.51 * 10 ** -(m.split('.')[1]?.length ?? 0);
      expect(Math.abs(Number(m) - mean)).toBeLessThanOrEqual(tol);
      expect(Math.abs(Number(sd) - std)).toBeLessThanOrEqual(tol);
    }
    const bogus = agg.settings.find((x: { label: string }) => x.label === 'reg=bogus');
    expect([bogus.done, bogus.failed.length]).toEqual([0, 2]);
    expect(md).toMatch(/reg-bogus_seed-0: failed — --reg: expected one of/);
    for (const c of ['w1', 'gradNormInterp'])
      expect(fs.existsSync(path.join(out, 'aggregate', `curves_${c}.png`)), c).toBe(true);

    // rerun: finished runs skipped and untouched, the failed ones run again (attempt 2)
    const before = snapshot(runDirs(out).filter((d) => !d.includes('bogus')));
    const second = await sweep(args).done;
    expect(second.code).toBe(1);
    expect(second.stdout).toMatch(/2\/4 finished \(2 before, 0 now\), 2 failed/);
    expectUntouched(before);
    for (const seed of [0, 1]) {
      const dir = path.join(out, 'runs', `reg-bogus_seed-${seed}`);
      expect(status(dir)).toMatchObject({ state: 'failed', attempt: 2 });
      expect(fs.readFileSync(path.join(dir, 'stderr.log'), 'utf8').match(/^=== attempt/gm)).toHaveLength(2);
    }
  }, 300_000);

  it('an interrupted sweep (SIGINT, then SIGKILL) resumes: finished runs kept untouched, the rest continue from their checkpoints', async () => {
    const out = tmp('resume');
    const args = [
      'run',
      'experiments/toy_wgan.ts',
      '--out',
      out,
      '--workers',
      '2',
      'seed=0-4',
      '--',
      '--iters',
      '30',
      '--every',
      '10',
      ...TINY,
    ];
    /** a run still running that has written a checkpoint (so it resumes rather than restarts) */
    const checkpointedRunning = () =>
      runDirs(out).some(
        (d) =>
          status(d)?.state === 'running' &&
          !fs.existsSync(path.join(d, 'summary.json')) &&
          fs.existsSync(path.join(d, 'checkpoint.safetensors')),
      );

    // 1. SIGINT once a run has finished: the sweep stops its runs and exits 130
    const a = sweep(args);
    await until(
      'a finished run and a checkpointed running one',
      () => fs.existsSync(path.join(out, 'runs')) && finished(out).length >= 1 && checkpointedRunning(),
    );
    a.child.kill('SIGINT');
    const ra = await a.done;
    expect(ra.code, ra.stderr).toBe(130);
    expect(ra.stderr).toMatch(/SIGINT: stopping/);
    const doneA = finished(out);
    for (const d of runDirs(out)) {
      const s = status(d);
      if (!s) continue;
      expect(['done', 'interrupted'], `${d}: ${s.state}`).toContain(s.state);
      expect(pidAlive(s.pid), `${d} pid ${s.pid} still alive`).toBe(false);
    }
    expect(runDirs(out).some((d) => status(d)?.state === 'interrupted')).toBe(true);
    const keptA = snapshot(doneA);

    // 2. SIGKILL the resumed sweep once one more run has finished: its runs are left running
    const b = sweep(args);
    await until('another finished run', () => finished(out).length > doneA.length && checkpointedRunning());
    b.child.kill('SIGKILL');
    await b.done;
    const orphans = runDirs(out)
      .filter((d) => status(d)?.state === 'running' && pidAlive(status(d).pid))
      .map((d) => status(d).pid as number);
    expect(orphans.length, 'runs left running by the killed sweep').toBeGreaterThan(0);
    expectUntouched(keptA);

    // 3. rerun to the end: orphans stopped and resumed, finished runs untouched, everything done
    const doneB = finished(out).filter((d) => !doneA.includes(d));
    // a run that has just written summary.json may still be printing its last line: let it exit
    await until('finished runs to exit', () => doneB.every((d) => !pidAlive(status(d)?.pid)));
    const keptB = snapshot(doneB);
    const c = await sweep(args).done;
    expect(c.code, c.stderr + c.stdout).toBe(0);
    expect(c.stdout).toMatch(/5\/5 finished/);
    for (const pid of orphans) expect(pidAlive(pid)).toBe(false);
    expectUntouched(keptA);
    expectUntouched(keptB);
    let resumed = 0;
    for (const d of runDirs(out)) {
      expect(status(d).state).toBe('done');
      const steps = fs
        .readFileSync(path.join(d, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).step);
      expect(steps, d).toEqual([10, 20, 30]); // no row lost or repeated across the interruptions
      if (/resumed from .* at iteration [1-9]/.test(fs.readFileSync(path.join(d, 'stderr.log'), 'utf8'))) resumed++;
    }
    expect(resumed, 'runs continued from a checkpoint').toBeGreaterThan(0);
    expect(json(path.join(out, 'aggregate', 'aggregate.json')).settings[0]).toMatchObject({ done: 5, runs: 5 });
  }, 400_000);
});
