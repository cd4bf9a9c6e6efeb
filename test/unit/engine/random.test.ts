import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import { useGpu } from '../../support/gpu.js';

useGpu();

const moments = (a: Float32Array) => {
  let m = 0;
  for (const v of a) m += v;
  m /= a.length;
  let v2 = 0;
  for (const v of a) v2 += (v - m) ** 2;
  return { mean: m, var: v2 / a.length };
};

describe('random', () => {
  it('the same seed gives the same draws; a different seed does not', async () => {
    E.manualSeed(42);
    const a = await E.randNormal([1000]).toFloat32();
    const b = await E.randUniform([10]).toFloat32();
    E.manualSeed(42);
    const a2 = await E.randNormal([1000]).toFloat32();
    const b2 = await E.randUniform([10]).toFloat32();
    expect(a2).toEqual(a);
    expect(b2).toEqual(b);
    E.manualSeed(43);
    expect(await E.randNormal([1000]).toFloat32()).not.toEqual(a);
  });

  it('consecutive draws differ and the saved state replays them', async () => {
    E.manualSeed(7);
    const first = await E.randUniform([8]).toFloat32();
    const state = E.getRngState();
    const second = await E.randUniform([8]).toFloat32();
    expect(second).not.toEqual(first);
    E.setRngState(state);
    expect(await E.randUniform([8]).toFloat32()).toEqual(second);
  });

  it('uniform [lo, hi) and normal(mean, std) have the right moments', async () => {
    E.manualSeed(1);
    const u = await E.randUniform([200_000], -0.5, 0.5).toFloat32();
    expect(Math.min(...u.subarray(0, 50000))).toBeGreaterThanOrEqual(-0.5);
    expect(Math.max(...u.subarray(0, 50000))).toBeLessThan(0.5);
    const mu = moments(u);
    expect(Math.abs(mu.mean)).toBeLessThan(0.005);
    expect(Math.abs(mu.var - 1 / 12)).toBeLessThan(0.002);
    const n = await E.randNormal([200_000], 3, 2).toFloat32();
    const mn = moments(n);
    expect(Math.abs(mn.mean - 3)).toBeLessThan(0.02);
    expect(Math.abs(mn.var - 4)).toBeLessThan(0.06);
    expect(n.every(Number.isFinite)).toBe(true);
  });

  it('has no visible correlation between neighbouring values', async () => {
    E.manualSeed(3);
    const u = await E.randUniform([100_000]).toFloat32();
    let c = 0;
    for (let i = 1; i < u.length; i++) c += (u[i] - 0.5) * (u[i - 1] - 0.5);
    expect(Math.abs(c / u.length / (1 / 12))).toBeLessThan(0.02);
  });

  it('rejects bad arguments', () => {
    expect(() => E.manualSeed(-1)).toThrow(/manualSeed/);
    expect(() => E.randUniform([2], 1, 0)).toThrow(/randUniform/);
    expect(() => E.randNormal([2], 0, -1)).toThrow(/randNormal/);
  });
});
