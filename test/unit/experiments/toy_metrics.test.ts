import { describe, expect, it } from 'vitest';
import { exactW1, modeCoverage } from '../../../experiments/common/toy_metrics.js';
import { toySampler } from '../../../experiments/common/toy_data.js';

// brute force over all permutations for tiny n
function bruteW1(a: number[], b: number[]): number {
  const n = a.length / 2;
  let best = Infinity;
  const perm = [...Array(n).keys()];
  const rec = (k: number) => {
    if (k === n) {
      let s = 0;
      for (let i = 0; i < n; i++) s += Math.hypot(a[2 * i] - b[2 * perm[i]], a[2 * i + 1] - b[2 * perm[i] + 1]);
      best = Math.min(best, s / n);
      return;
    }
    for (let i = k; i < n; i++) {
      [perm[k], perm[i]] = [perm[i], perm[k]];
      rec(k + 1);
      [perm[k], perm[i]] = [perm[i], perm[k]];
    }
  };
  rec(0);
  return best;
}

describe('toy metrics', () => {
  it('exact W1 equals brute-force optimal assignment', () => {
    for (let seed = 0; seed < 5; seed++) {
      const a = Array.from({ length: 14 }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) * 2);
      const b = Array.from({ length: 14 }, (_, i) => Math.cos(i * 4.1414 + seed * 3.7) * 2);
      expect(exactW1(a, b)).toBeCloseTo(bruteW1(a, b), 10);
    }
    expect(exactW1([0, 0, 1, 1], [1, 1, 0, 0])).toBe(0);
  });

  it('samples from 8gaussians cover all 8 modes; a shifted set covers none', () => {
    const s = toySampler('8gaussians', 1);
    const pts = s.sample(512);
    const cov = modeCoverage(pts, s.modes!);
    expect(cov.covered).toBe(8);
    expect(cov.fractionNear).toBeGreaterThan(0.98);
    const shifted = pts.map((v) => v + 0.5);
    expect(modeCoverage(shifted, s.modes!).covered).toBe(0);
  });

  it('samplers are reproducible from their saved state', () => {
    for (const name of ['8gaussians', '25gaussians', 'swissroll'] as const) {
      const s = toySampler(name, 3);
      s.sample(100);
      const st = s.state();
      const next = s.sample(50);
      s.setState(st);
      expect(s.sample(50)).toEqual(next);
    }
  });
});
