// experiments/lipschitz_seeds.ts: A.4 runs of several seed folders gathered per run name, with
// mean ± sample std and the LP-vs-ALP Welch tests the README's A.4 text quotes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { seedRows, seedTables } from '../../../experiments/lipschitz_seeds.js';

function writeRun(dir: string, name: string, label: string, seed: number, maxGradNorm: number): void {
  fs.mkdirSync(path.join(dir, name), { recursive: true });
  const metrics = {
    mseTarget: 0.02,
    mseOpt: 0.001,
    gradNormErr: 0.05,
    maxGradNorm,
    fracAbove105: maxGradNorm > 1.05 ? 0.1 : 0,
  };
  fs.writeFileSync(path.join(dir, name, 'summary.json'), JSON.stringify({ name, label, options: { seed }, metrics }));
}

describe('lipschitz_seeds', () => {
  it('gathers each run over the seed folders and tests LP against ALP k=1 with the same λ and BN', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'a4seeds-'));
    const dirs = [0, 1, 2].map((s) => path.join(root, `seed${s}`));
    const lp = [1.7, 1.8, 1.9];
    const alp = [0.98, 0.99, 1.0];
    dirs.forEach((d, s) => {
      writeRun(d, 'bn_lp_l1', 'LP λ=1 +BN', s, lp[s]);
      writeRun(d, 'bn_alp_l1_k1', 'ALP λ=1 k=1 +BN', s, alp[s]);
    });
    writeRun(dirs[0], 'nobn_none', 'none', 0, 18); // one seed only
    const rows = seedRows(dirs);
    // grid order: no BN first, then BN; LP before ALP
    expect(rows.map((r) => r.name)).toEqual(['nobn_none', 'bn_lp_l1', 'bn_alp_l1_k1']);
    const lpRow = rows.find((r) => r.name === 'bn_lp_l1')!;
    expect(lpRow.seeds).toEqual([0, 1, 2]);
    expect(lpRow.stats.maxGradNorm.mean).toBeCloseTo(1.8, 12);
    expect(lpRow.stats.maxGradNorm.std).toBeCloseTo(0.1, 12);
    const md = seedTables(rows);
    expect(md).toContain('| none | 0 | 18.000 (1) |');
    expect(md).toContain('| LP λ=1 +BN | 0, 1, 2 | 1.800 ± 0.100 (3) |');
    // t = (1.8 - 0.99) / sqrt(0.1²/3 + 0.01²/3) = 13.96
    expect(md).toMatch(/\| LP λ=1 \+BN vs ALP λ=1 k=1 \+BN \| t 13\.96, p 0\.00/);
  });

  it('refuses folders without runs in one line', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'a4seeds-'));
    expect(() => seedRows([empty])).toThrow(/^lipschitz_seeds: no runs \(<name>\/summary.json\) in /);
    expect(() => seedRows([path.join(empty, 'nope')])).toThrow(/^lipschitz_seeds: no folder /);
  });
});
