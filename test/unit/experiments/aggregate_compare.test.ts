// experiments/sweep/aggregate.ts --compare: Welch tests of each setting against a reference
// setting, on a sweep folder written by hand (the runs' summaries are all aggregate reads).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { aggregate } from '../../../experiments/sweep/aggregate.js';
import { planRuns, saveSpec } from '../../../experiments/sweep/layout.js';
import type { SweepSpec } from '../../../experiments/sweep/spec.js';
import { stat, welch } from '../../../experiments/training/welch.js';

/** A finished sweep over reg × data × seed whose final w1 is `w1(reg, data, seed)`. */
function fakeSweep(w1: (reg: string, data: string, seed: number) => number): string {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'agg-'));
  const spec = {
    script: 'experiments/toy_wgan.ts',
    out,
    args: [],
    grid: { reg: ['alp', 'gp'], data: ['a', 'b'], seed: [0, 1, 2] },
    replicate: 'seed',
    result: 'summary.json',
    outFlag: '--out',
    resumeFlag: '--resume',
    node: process.execPath,
    cwd: out,
    backend: 'local',
    workers: 1,
  } as unknown as SweepSpec;
  saveSpec(spec);
  for (const r of planRuns(spec)) {
    fs.mkdirSync(r.dir, { recursive: true });
    const { reg, data, seed } = r.point as { reg: string; data: string; seed: number };
    fs.writeFileSync(path.join(r.dir, 'summary.json'), JSON.stringify({ final: { w1: w1(reg, data, seed) } }));
  }
  return out;
}

describe('sweep aggregate --compare', () => {
  it('tests every setting against the reference with the same other keys, in the table and the JSON', async () => {
    const noise = [0.01, -0.02, 0.015];
    const w1 = (reg: string, data: string, seed: number) =>
      (reg === 'alp' ? 0.3 : 0.5) + (data === 'b' ? 1 : 0) + noise[seed];
    const out = fakeSweep(w1);
    const agg = await aggregate(out, { compare: 'reg=gp', curves: false });
    for (const data of ['a', 'b']) {
      const s = agg.settings.find((x) => x.setting.reg === 'alp' && x.setting.data === data)!;
      expect(s.vs!.reference).toBe(`reg=gp data=${data}`);
      const values = (reg: string) => [0, 1, 2].map((seed) => w1(reg, data, seed));
      const expected = welch(stat(values('alp')), stat(values('gp')));
      expect(s.vs!.metrics.w1.delta).toBeCloseTo(-0.2, 12);
      expect(s.vs!.metrics.w1.t).toBeCloseTo(expected.t, 10);
      expect(s.vs!.metrics.w1.p).toBeCloseTo(expected.p, 10);
    }
    expect(agg.settings.filter((s) => s.setting.reg === 'gp').every((s) => !s.vs)).toBe(true);
    const md = fs.readFileSync(agg.table, 'utf8');
    expect(md).toMatch(/Against reg=gp/);
    expect(md).toMatch(/^\| reg=alp data=a \| reg=gp data=a \| -0\.2 \(t -\d+\.\d\d, p [\d.e-]+\) \|$/m);
  });

  it('refuses a key that does not vary or a value the sweep lacks, in one line', async () => {
    const out = fakeSweep(() => 1);
    await expect(aggregate(out, { compare: 'seed=0', curves: false })).rejects.toThrow(
      /^aggregate --compare: expected key=value with a varying grid key \(reg, data\), got 'seed=0'$/,
    );
    await expect(aggregate(out, { compare: 'reg=sn', curves: false })).rejects.toThrow(
      /^aggregate --compare: reg takes alp, gp in this sweep, got 'sn'$/,
    );
  });
});
