// Shared test set-up: one device per test file, released afterwards so the worker can exit.
import { afterAll, beforeAll, expect } from 'vitest';
import { initDevice, releaseDevice, Tensor } from '../../engine/index.js';
import { gradcheck, gradgradcheck, type GradcheckOptions } from '../../engine/gradcheck.js';

export function useGpu(): void {
  beforeAll(async () => {
    await initDevice();
  });
  afterAll(async () => {
    await releaseDevice();
  });
}

/** Asserts that fn's gradient matches central differences (the report names the worst element). */
export async function expectGrad(
  fn: (...xs: Tensor[]) => Tensor,
  inputs: Tensor[],
  opts?: GradcheckOptions,
): Promise<void> {
  const r = await gradcheck(fn, inputs, opts);
  expect(r.ok, r.message).toBe(true);
}

/** Asserts second derivatives (gradient of the gradient) match central differences. */
export async function expectGradGrad(
  fn: (...xs: Tensor[]) => Tensor,
  inputs: Tensor[],
  opts?: GradcheckOptions,
): Promise<void> {
  const r = await gradgradcheck(fn, inputs, opts);
  expect(r.ok, r.message).toBe(true);
}

/** max |a - b| */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Asserts elementwise closeness with a message naming the worst element. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol = 1e-5, rtol = 1e-4): void {
  expect(actual.length, 'length').toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const excess = Math.abs(actual[i] - expected[i]) - (atol + rtol * Math.abs(expected[i]));
    if (excess > worstExcess || Number.isNaN(actual[i]) !== Number.isNaN(expected[i])) {
      worst = i;
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
    }
  }
  expect(
    worst,
    worst >= 0
      ? `element ${worst}: got ${actual[worst]}, expected ${expected[worst]} (atol ${atol}, rtol ${rtol})`
      : '',
  ).toBe(-1);
}
