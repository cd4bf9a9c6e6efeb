// experiments/common/gan_options.ts emaWarning: a short run's EMA that is still mostly the
// initial generator is flagged, with a decay that fits the run.
import { describe, expect, it } from 'vitest';
import { emaWarning } from '../../../experiments/common/gan_options.js';

describe('--ema warning', () => {
  it('flags an average that still holds more than 10% of the initial weights, and suggests a decay', () => {
    expect(emaWarning(0.999, 500)).toBe(
      '--ema 0.999 over 500 iterations: the average still holds 61% of the initial generator at the end (decay^iters); for a run this long try --ema 0.99',
    );
    expect(0.99 ** 500).toBeLessThan(0.01);
    expect(emaWarning(0.999, 2000)).toMatch(/holds 14% .* try --ema 0\.99$/);
    expect(emaWarning(0.999, 5000)).toBeNull(); // 0.7%
    expect(emaWarning(0.99, 500)).toBeNull();
    expect(emaWarning(0.9999, 20000)).toMatch(/holds 14% .* try --ema 0\.999$/);
  });
});
