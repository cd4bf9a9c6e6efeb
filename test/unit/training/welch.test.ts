// experiments/training/welch.ts: the incomplete beta function and Welch's test against closed
// forms and scipy.
import { describe, expect, it } from 'vitest';
import { incompleteBeta, stat, welch } from '../../../experiments/training/welch.js';

describe('Welch t-test', () => {
  it('incomplete beta and Welch p-values match closed forms', () => {
    expect(incompleteBeta(0.5, 2, 3)).toBeCloseTo(0.6875, 10); // 11/16
    expect(incompleteBeta(0.3, 1, 1)).toBeCloseTo(0.3, 10);
    // t = 2 with df = 10: two-sided p = 0.07339 (t tables)
    expect(incompleteBeta(10 / (10 + 4), 5, 0.5)).toBeCloseTo(0.073388, 5);
    const a = stat([1, 2, 3, 4, 5]);
    expect([a.mean, a.std, a.n]).toEqual([3, Math.sqrt(2.5), 5]);
    const w = welch(stat([1, 2, 3, 4, 5]), stat([2, 4, 6, 8, 10]));
    // scipy.stats.ttest_ind(a, b, equal_var=False): t = -1.8974, df = 5.882, p = 0.1076
    expect(w.t).toBeCloseTo(-1.8974, 3);
    expect(w.df).toBeCloseTo(5.882, 2);
    expect(w.p).toBeCloseTo(0.1076, 3);
  });
});
