// The benchmark suite's output structure (not its speed): `bench/run.ts --quick` in a child process.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { adapterName } from '../../engine/index.js';
import { useGpu } from '../support/gpu.js';
import { runScript } from '../support/run_script.js';
import {
  parseArgs,
  PeerBudget,
  repeat,
  stats,
  targets,
  type RepPolicy,
  type Row,
  type TargetResult,
} from '../../bench/harness.js';
import { targetIds } from '../../bench/suites/workloads.js';

useGpu();

const bench = (args: string[]) => runScript('bench/run.ts', args);

/** Every markdown table row has as many cells as its header. */
function checkTables(md: string): number {
  let header = 0;
  let rows = 0;
  for (const line of md.split('\n')) {
    if (!line.startsWith('|')) {
      header = 0;
      continue;
    }
    const cells = line.replace(/\\\|/g, '').split('|').length;
    if (!header) header = cells;
    else expect(cells, line).toBe(header);
    rows++;
  }
  return rows;
}

describe('bench/run.ts --quick', () => {
  it('prints tables, writes JSON rows with timings, counters and peers', async () => {
    const json = path.join(os.tmpdir(), `alr-bench-test-${process.pid}.json`);
    const r = await bench(['--quick', '--json', json]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('### matmul');
    expect(r.stdout).toContain('### targets');
    expect(r.stdout).toContain(adapterName());
    expect(checkTables(r.stdout)).toBeGreaterThan(20);

    const doc = JSON.parse(fs.readFileSync(json, 'utf8')) as { adapter: string; rows: Row[]; targets: TargetResult[] };
    fs.rmSync(json, { force: true });
    expect(doc.adapter).toBe(adapterName());
    expect(doc.targets.length).toBeGreaterThanOrEqual(6);
    for (const row of doc.rows) {
      if (row.ms === undefined) {
        expect(row.skipped, `${row.impl} ${row.workload}`).toMatch(/\S/);
        continue;
      }
      for (const v of [row.ms, row.min!, row.max!])
        expect(Number.isFinite(v) && v > 0, `${row.impl} ${row.workload}: ${v}`).toBe(true);
      expect(row.min!).toBeLessThanOrEqual(row.ms);
      expect(row.max!).toBeGreaterThanOrEqual(row.ms);
      expect(row.reps!).toBeGreaterThanOrEqual(1);
    }

    const ours = doc.rows.filter((x) => x.impl === 'ours');
    // our rows are measured, or wait for a feature that has not landed; never an error
    for (const row of ours) if (row.ms === undefined) expect(row.skipped, row.workload).toMatch(/^not available yet/);
    for (const kind of ['matmul', 'adam', 'elementwise chain', 'toy MLP', 'batchnorm']) {
      const row = ours.find((x) => x.workload.startsWith(kind));
      expect(row?.ms, kind).toBeGreaterThan(0);
      expect(row!.dispatches, kind).toBeGreaterThan(0);
      expect(row!.submits, kind).toBeGreaterThanOrEqual(1);
    }
    // the training step is recorded whole: one submit (the sync) and no readback
    const mlp = ours.find((x) => x.workload.startsWith('toy MLP'))!;
    expect(mlp.submits).toBe(1);
    expect(mlp.readbacks).toBe(0);
    const mm = ours.find((x) => x.workload.startsWith('matmul'))!;
    expect(mm.gflops).toBeGreaterThan(0);

    // the tfjs WebGPU peer ran on the same adapter (it is a devDependency)
    const peerMm = doc.rows.find((x) => x.impl === 'tfjs-webgpu' && x.workload === mm.workload);
    expect(peerMm?.ms, peerMm?.skipped).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/tfjs-webgpu: adapter /);
  }, 150_000);

  it('--filter selects workloads; --no-peer runs ours only', async () => {
    const r = await bench(['--quick', '--no-peer', '--filter', 'matmul']);
    expect(r.code, r.stderr).toBe(0);
    // benchmark rows are '| workload | impl | ...'; the targets table has other rows
    const rows = r.stdout.split('\n').filter((l) => /^\| [^|]+ \| (ours|tfjs-webgpu|tfjs-wasm|pytorch-cpu) \|/.test(l));
    expect(rows.length).toBeGreaterThan(0);
    for (const l of rows) expect(l).toMatch(/^\| matmul \[.*\| ours \|/);
  }, 90_000);

  it("times PyTorch's critic steps in the same rounds as ours, or says why it could not", async () => {
    const json = path.join(os.tmpdir(), `alr-bench-steps-${process.pid}.json`);
    const r = await bench(['--quick', '--filter', 'critic step', '--peer', 'torch', '--json', json]);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(fs.readFileSync(json, 'utf8')) as { rows: Row[]; peerNotes: string[] };
    fs.rmSync(json, { force: true });
    const ours = doc.rows.filter((x) => x.impl === 'ours');
    expect(ours.length).toBe(4); // GP and ALP, residual and toy MLP critics
    for (const row of ours) expect(row.ms, row.workload).toBeGreaterThan(0);
    const theirs = doc.rows.filter((x) => x.impl === 'pytorch-cpu');
    if (theirs.length) {
      // PyTorch is installed here: every step measured, as many rounds as ours
      expect(theirs.map((x) => x.workload)).toEqual(ours.map((x) => x.workload));
      theirs.forEach((x, i) => expect([x.ms! > 0, x.reps], x.workload).toEqual([true, ours[i].reps]));
    } else {
      expect(doc.peerNotes.join('\n')).toMatch(/pytorch-cpu critic steps skipped: .+/);
    }
  }, 120_000);

  it('rejects unknown flags with the usage line', async () => {
    const r = await bench(['--quick', '--frobnicate']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('unknown flag');
    expect(r.stderr).toContain('usage:');
  }, 60_000);
});

describe('bench harness', () => {
  it('median, spread and repetition policy', async () => {
    expect(stats([5, 1, 3])).toEqual({ ms: 3, min: 1, max: 5, iqr: 4 });
    expect(stats([1, 2, 3, 4, 100]).iqr).toBe(2);
    const policy: RepPolicy = {
      warmup: 2,
      minReps: 3,
      maxReps: 10,
      budgetMs: 50,
      slowMs: 1000,
      slowReps: 2,
      crawlMs: 5000,
    };
    const run = async (ms: number[]) => {
      let i = 0;
      return repeat(policy, async () => ms[Math.min(i++, ms.length - 1)]);
    };
    // the first (compiling) warm-up is slow, the second is not: fast policy, reps until the budget
    expect(await run([3000, 10, 10])).toEqual({ times: [10, 10, 10, 10, 10], warmup: 2 });
    expect((await run([1500, 1500])).times).toEqual([1500, 1500]); // slow: slowReps
    expect(await run([6000])).toEqual({ times: [6000], warmup: 1 }); // crawling: one warm-up, one rep
    // rounds of two workloads: as slow as the slowest, costing their sum
    let k = 0;
    const rounds = await repeat(policy, async () => (k++ < 2 ? [10, 1200] : [20, 30]));
    expect(rounds.warmup).toBe(2);
    expect(rounds.times).toEqual([
      [20, 30],
      [20, 30],
    ]); // the last warm-up was slow (1200 ms): slowReps
  });

  it('parses flags', () => {
    const a = parseArgs([
      '--quick',
      '--filter',
      'conv',
      '--filter',
      'adam',
      '--peer',
      'torch,webgpu',
      '--peer-budget',
      '30',
      '--json',
      'x.json',
    ]);
    expect(a).toMatchObject({
      quick: true,
      filter: ['conv', 'adam'],
      peers: ['pytorch-cpu', 'tfjs-webgpu'],
      json: 'x.json',
    });
    expect(a.peerBudget['tfjs-wasm']).toBe(30);
    expect(parseArgs(['--no-peer']).peers).toEqual([]);
    expect(parseArgs(['--eager', '--peer', 'torch2']).eager).toBe(true);
    expect(parseArgs(['--peer', 'torch2']).peers).toEqual(['pytorch-cpu-2t']);
    expect(parseArgs([]).eager).toBe(false);
    expect(() => parseArgs(['--peer', 'jax'])).toThrow(/unknown peer 'jax'/);
    expect(() => parseArgs(['--filter'])).toThrow(/--filter needs a value/);
  });

  it('checks targets from rows', () => {
    const t = targetIds();
    const row = (workload: string, impl: Row['impl'], ms: number, extra: Partial<Row> = {}): Row => ({
      workload,
      group: 'g',
      impl,
      ms,
      ...extra,
    });
    const rows: Row[] = [
      row(t.matmul, 'ours', 100),
      row(t.matmul, 'tfjs-webgpu', 400),
      row(t.mlp, 'ours', 10, { submits: 2, readbacks: 0 }),
      row(t.mlp, 'tfjs-webgpu', 100),
      row(t.mlp, 'pytorch-cpu', 12),
      // residual critic B 8+8: ALP 120 ms against PyTorch's 100 (2 threads: 60)
      row(t.steps[0].gp, 'ours', 100),
      row(t.steps[0].alp, 'ours', 120),
      row(t.steps[0].gp, 'pytorch-cpu', 76.9),
      row(t.steps[0].alp, 'pytorch-cpu', 100),
      row(t.steps[0].alp, 'pytorch-cpu-2t', 60),
      // residual critic B 64+64: exactly PyTorch's time is not ahead
      row(t.steps[1].alp, 'ours', 100),
      row(t.steps[1].alp, 'pytorch-cpu', 100),
      // toy MLP critic: ours only
      row(t.steps[2].gp, 'ours', 10),
      row(t.steps[2].alp, 'ours', 30, { dispatches: 64 }),
      { workload: t.adam, group: 'g', impl: 'ours', skipped: 'not available yet: x' },
    ];
    const res = targets(rows);
    const find = (s: string) => res.find((r) => r.target.startsWith(s))!;
    expect(find('matmul 1024')).toMatchObject({ met: 'yes', ratio: 4 });
    expect(find('toy MLP step >= 15x')).toMatchObject({ met: 'no', ratio: 10 }); // 10x, and 2 submits
    expect(find('toy MLP step >= 15x').measured).toContain('2 submits');
    expect(find('toy MLP step no slower than PyTorch')).toMatchObject({ met: 'yes', ratio: 10 / 12 });
    expect(t.steps.map((p) => p.label)).toEqual([
      'residual critic B 8+8',
      'residual critic B 64+64',
      'toy MLP critic B 256+256',
    ]);
    const short = find('ALP(k=1) critic step no slower than PyTorch CPU, residual critic B 8+8');
    expect(short).toMatchObject({ met: 'no', ratio: 1.2 });
    expect(short.measured).toBe('1.20x (120 vs 100 ms); 2.00x PyTorch with 2 threads (60.0 ms)');
    expect(find('ALP(k=1) critic step ahead of PyTorch CPU, residual critic B 64+64')).toMatchObject({
      met: 'no',
      ratio: 1,
    });
    expect(find("ALP(k=1) critic step <= 2x PyTorch CPU's, toy MLP")).toMatchObject({
      met: 'not measured',
      measured: 'pytorch-cpu peer not run',
    });
    expect(find('ALP(k=1) critic step in <= 64 dispatches, toy MLP')).toMatchObject({ met: 'yes', measured: '64' });
    expect(find('Adam')).toMatchObject({ met: 'not measured' });
    expect(find('Adam').measured).toContain('not available yet');
    expect(find('residual critic').measured).toBe('workload not selected');
  });

  it('a peer budget skips work it cannot finish', () => {
    const b = new PeerBudget(10_000);
    const conv = { kind: 'conv', dir: 'dw', oursMs: 100 };
    expect(b.skipReason(conv, 2)).toBeNull(); // no ratio known yet
    b.done(conv, 2000); // the peer is 20x slower on this kind of work
    expect(b.skipReason({ ...conv, oursMs: 200 }, 2)).toBeNull(); // ~8 s
    expect(b.skipReason({ ...conv, oursMs: 300 }, 2)).toMatch(/peer time budget/); // ~12 s
    expect(b.skipReason({ kind: 'matmul', oursMs: 300 }, 2)).toMatch(/budget/); // other kinds use the median ratio
    expect(b.skipReason({ ...conv, oursMs: 300, target: true }, 2)).toBeNull(); // targets always run
  });
});
