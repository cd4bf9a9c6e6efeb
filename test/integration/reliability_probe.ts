// Reliability probe: kill -9 during checkpointing and runs that go non-finite, on the main
// experiment scripts, each checked as a user would see it (exit code, the one-line message, what
// is on disk afterwards). `--quick` is the CI form; without it every scenario runs more kills.
//
//   npx tsx test/integration/reliability_probe.ts [--quick]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeSafetensors, encodeSafetensors } from '../../nn/safetensors.js';

const quick = process.argv.includes('--quick');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'alr-probe-'));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  seconds: number;
}

/** Runs an experiment script; `killAfter` (ms after the first checkpoint exists) sends SIGKILL. */
function run(
  script: string,
  args: string[],
  o: { killAfter?: number; out?: string; timeoutMs?: number } = {},
): Promise<Run> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    // node with tsx's loader, not the tsx CLI: that is a parent process, and SIGKILL to it would
    // leave the real run going on as an orphan
    const child = spawn(process.execPath, ['--import', 'tsx', `experiments/${script}.ts`, '--no-progress', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timers: NodeJS.Timeout[] = [setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 120_000)];
    if (o.killAfter !== undefined) {
      const ckpt = path.join(o.out!, 'checkpoint.safetensors');
      const poll = setInterval(() => {
        if (!fs.existsSync(ckpt)) return;
        clearInterval(poll);
        timers.push(setTimeout(() => child.kill('SIGKILL'), o.killAfter));
      }, 20);
      timers.push(poll as unknown as NodeJS.Timeout);
    }
    child.on('exit', (code, signal) => {
      timers.forEach((t) => clearTimeout(t));
      const lines = stderr
        .split('\n')
        .filter((l) => l && !l.startsWith('Warning: ') && !l.startsWith('adapter: ') && !l.startsWith('resumed from'));
      resolve({ code, signal, stderr: lines.join('\n'), seconds: (performance.now() - t0) / 1000 });
    });
  });
}

const results: { scenario: string; ok: boolean; detail: string }[] = [];
function check(scenario: string, ok: boolean, detail: string): void {
  results.push({ scenario, ok, detail: detail.replace(/\s+/g, ' ').slice(0, 160) });
  console.error(`${ok ? 'ok  ' : 'FAIL'} ${scenario}: ${detail.split('\n')[0].slice(0, 160)}`);
}

const dir = (name: string) => fs.mkdtempSync(path.join(root, `${name}-`));
const metricRows = (out: string) =>
  fs
    .readFileSync(path.join(out, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const { seconds: _s, rssMB: _r, gpuMB: _g, bindGroups: _b, ...rest } = JSON.parse(l);
      return JSON.stringify(rest);
    });
const ckptFinite = (file: string) => {
  const { tensors } = decodeSafetensors(new Uint8Array(fs.readFileSync(file)));
  return [...tensors.values()].every((t) => t.data.every(Number.isFinite));
};
const oneLine = (r: Run) => r.stderr.trim().split('\n').length === 1 && !/\n\s+at /.test(r.stderr);

// the main experiment scripts, with small models and a checkpoint every 2 iterations
const SCRIPTS = {
  toy_wgan: { base: ['--dim', '8', '--batch', '16', '--every', '2'], iters: '--iters', n: 12 },
  image_wgan: {
    base: ['--dim', '8', '--batch', '8', '--critic-iters', '2', '--every', '2', '--sample-every', '2'],
    iters: '--iters',
    n: 6,
  },
} as const;

for (const [script, s] of Object.entries(SCRIPTS)) {
  const args = (n: number, extra: string[] = []) => [...s.base, s.iters, String(n), ...extra];

  // kill -9 at several moments while checkpoints are being written, resume each time, and end
  // with the same metrics as an uninterrupted run
  const ref = dir(`${script}-ref`);
  const r0 = await run(script, [...args(s.n), '--out', ref]);
  if (r0.code !== 0) {
    check(`${script}: uninterrupted run`, false, r0.stderr);
    continue;
  }
  const killed = dir(`${script}-kill`);
  const delays = quick ? [150, 600] : [0, 50, 150, 300, 600, 1000, 1500];
  let survivors = 0;
  for (const d of delays) {
    const r = await run(script, [...args(s.n), '--out', killed, '--resume'], { killAfter: d, out: killed });
    if (r.signal === 'SIGKILL') survivors++;
    const ckpt = path.join(killed, 'checkpoint.safetensors');
    if (fs.existsSync(ckpt)) {
      try {
        decodeSafetensors(new Uint8Array(fs.readFileSync(ckpt)), ckpt);
      } catch (e) {
        check(`${script}: checkpoint after kill at +${d} ms`, false, (e as Error).message);
      }
    }
  }
  fs.writeFileSync(
    path.join(killed, `.checkpoint.safetensors.tmp-${2 ** 22 + 12345}-orphan`),
    'left by a killed writer',
  );
  const fin = await run(script, [...args(s.n), '--out', killed, '--resume']);
  const [got, want] = [metricRows(killed), metricRows(ref)];
  const same = fin.code === 0 && JSON.stringify(got) === JSON.stringify(want);
  const firstDiff = got.findIndex((row, i) => row !== want[i]);
  check(
    `${script}: ${delays.length} kills (${survivors} mid-run), resumed`,
    same,
    same
      ? 'metrics identical to the uninterrupted run'
      : fin.stderr ||
          `metrics differ (${got.length} vs ${want.length} rows; first at row ${firstDiff}: ${got[firstDiff]} vs ${want[firstDiff]})`,
  );
  const orphans = fs.readdirSync(killed).filter((f) => f.includes('.tmp-'));
  check(`${script}: orphan temp files removed`, orphans.length === 0, orphans.join(', ') || 'none left');

  // divergence after a good checkpoint: non-zero exit, one line naming the iteration and the
  // quantity, and the checkpoint on disk untouched
  const nan = dir(`${script}-nan`);
  await run(script, [...args(4), '--out', nan]);
  const ckpt = path.join(nan, 'checkpoint.safetensors');
  const before = fs.readFileSync(ckpt);
  const rn = await run(script, [...args(s.n, ['--lr', '1e12']), '--out', nan, '--resume'], { timeoutMs: 90_000 });
  const untouched = Buffer.compare(before, fs.readFileSync(ckpt)) === 0 && ckptFinite(ckpt);
  check(
    `${script}: --lr 1e12 after a checkpoint`,
    rn.code === 1 &&
      oneLine(rn) &&
      /(diverged|non-finite)/.test(rn.stderr) &&
      /iteration|step/.test(rn.stderr) &&
      untouched,
    `exit ${rn.code ?? rn.signal} in ${rn.seconds.toFixed(1)} s, checkpoint ${untouched ? 'untouched' : 'CHANGED'}: ${rn.stderr}`,
  );

  // a checkpoint holding NaN is refused on resume, quickly and by name
  const poisoned = dir(`${script}-poison`);
  fs.cpSync(nan, poisoned, { recursive: true });
  const pfile = path.join(poisoned, 'checkpoint.safetensors');
  const st = decodeSafetensors(new Uint8Array(fs.readFileSync(pfile)));
  const [firstName, first] = [...st.tensors][0];
  first.data[0] = NaN;
  fs.writeFileSync(pfile, encodeSafetensors(st.tensors, st.metadata));
  const rp = await run(script, [...args(s.n), '--out', poisoned, '--resume'], { timeoutMs: 60_000 });
  check(
    `${script}: resume from a NaN checkpoint`,
    rp.code === 1 && rp.stderr.includes(firstName) && /non-finite/.test(rp.stderr),
    `exit ${rp.code ?? rp.signal}: ${rp.stderr}`,
  );

  // corrupt metadata: named, and metrics.jsonl is not erased
  for (const [key, value] of [
    ['step', 'abc'],
    ['step', '-5'],
    ['step', '1000000000'],
    ['rng.counter', 'abc'],
  ] as const) {
    const bad = dir(`${script}-meta`);
    fs.cpSync(nan, bad, { recursive: true });
    const file = path.join(bad, 'checkpoint.safetensors');
    const m = decodeSafetensors(new Uint8Array(fs.readFileSync(file)));
    m.metadata[key] = value;
    fs.writeFileSync(file, encodeSafetensors(m.tensors, m.metadata));
    const metricsBefore = fs.readFileSync(path.join(bad, 'metrics.jsonl'), 'utf8');
    const r = await run(script, [...args(s.n), '--out', bad, '--resume']);
    const kept = fs.readFileSync(path.join(bad, 'metrics.jsonl'), 'utf8') === metricsBefore;
    check(
      `${script}: resume with ${key} = ${value}`,
      r.code === 1 && r.stderr.includes(key) && r.stderr.includes(file) && kept,
      `exit ${r.code}, metrics ${kept ? 'kept' : 'CHANGED'}: ${r.stderr}`,
    );
    if (quick) break;
  }

  // a torn last metrics line (a kill mid-write) does not block --resume
  const torn = dir(`${script}-torn`);
  fs.cpSync(nan, torn, { recursive: true });
  fs.appendFileSync(path.join(torn, 'metrics.jsonl'), '{"step": 6, "wasser');
  const rt = await run(script, [...args(6), '--out', torn, '--resume']);
  check(`${script}: resume over a torn metrics line`, rt.code === 0, `exit ${rt.code}: ${rt.stderr || 'ok'}`);
}

fs.rmSync(root, { recursive: true, force: true });
const failed = results.filter((r) => !r.ok);
console.log(
  `\n| scenario | result |\n|---|---|\n${results.map((r) => `| ${r.scenario} | ${r.ok ? 'ok' : 'FAIL: ' + r.detail} |`).join('\n')}`,
);
console.log(`\nprobe: ${results.length - failed.length} passed, ${failed.length} failed`);
process.exitCode = failed.length ? 1 : 0;
