// Seeded random tensors generated on the GPU. The state is (seed, counter): every draw
// advances the counter by the number of Philox blocks it used, so a seed fixes every draw
// and the state can be saved and restored exactly.
import { Tensor, type Shape } from './tensor.js';
import { dispatch, kernel, Params } from './runtime.js';
import { randomKernel, type Distribution } from '../shaders/random.js';
import { groups1d } from './ops/map.js';

export interface RngState {
  seed: number;
  /** Philox blocks consumed so far (4 values each) */
  counter: number;
}

const state: RngState = { seed: 0, counter: 0 };

/** Resets the generator: the same seed gives the same draws on the same adapter. */
export function manualSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new Error(`manualSeed: seed must be an integer in [0, 2^32), got ${seed}`);
  }
  state.seed = seed;
  state.counter = 0;
}

export function getRngState(): RngState {
  return { ...state };
}

export function setRngState(s: RngState): void {
  if (
    !(
      s &&
      Number.isInteger(s.seed) &&
      s.seed >= 0 &&
      s.seed <= 0xffffffff &&
      Number.isSafeInteger(s.counter) &&
      s.counter >= 0
    )
  ) {
    throw new Error(
      `setRngState: expected { seed: an integer in [0, 2^32), counter: an integer >= 0 }, got ${JSON.stringify(s)}`,
    );
  }
  state.seed = s.seed;
  state.counter = s.counter;
}

function draw(dist: Distribution, shape: Shape, p0: number, p1: number): Tensor {
  const out = Tensor.empty(shape);
  const blocks = Math.ceil(out.size / 4);
  if (blocks === 0) return out;
  const size = out.size;
  // the uniforms advance the generator: a replayed step draws anew each time, as an eager one
  const params = () => {
    const c = state.counter;
    state.counter += blocks;
    return new Params()
      .u32(state.seed, 0x5eed1234) // key: the seed and a fixed second word
      .u32(c % 2 ** 32, Math.floor(c / 2 ** 32))
      .u32(size)
      .f32(p0, p1);
  };
  dispatch(
    kernel(`random.${dist}`, `random.${dist}`, () => randomKernel(dist)),
    [out.binding(`random.${dist}`)],
    params,
    groups1d(blocks),
  );
  return out;
}

/** Uniform on [lo, hi). */
export function randUniform(shape: Shape, lo = 0, hi = 1): Tensor {
  if (!(lo <= hi)) throw new Error(`randUniform: lo ${lo} must not exceed hi ${hi}`);
  return draw('uniform', shape, lo, hi);
}

/** Normal with the given mean and standard deviation. */
export function randNormal(shape: Shape, mean = 0, std = 1): Tensor {
  if (!(std >= 0)) throw new Error(`randNormal: std must be >= 0, got ${std}`);
  return draw('normal', shape, mean, std);
}

/**
 * A small seeded generator for host-side draws (mulberry32): test data, data-set shuffles, toy
 * distributions. Its whole state is one uint32 (`state()`), so resumed runs continue exactly.
 */
export class HostRng {
  private a: number;
  constructor(seed: number) {
    this.a = seed >>> 0;
  }
  state(): number {
    return this.a;
  }
  setState(s: number): void {
    if (!(Number.isInteger(s) && s >= 0 && s <= 0xffffffff))
      throw new Error(`HostRng.setState: the state must be an integer in [0, 2^32), got ${JSON.stringify(s)}`);
    this.a = s >>> 0;
  }
  /** uniform on [0, 1) */
  next(): number {
    this.a = (this.a + 0x6d2b79f5) >>> 0;
    let t = this.a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }
  /** standard normal (Box-Muller; 1 - next() is in (0, 1]) */
  normal(): number {
    return Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
}

/** A function form of HostRng, uniform on [0, 1). */
export function hostRng(seed: number): () => number {
  const r = new HostRng(seed);
  return () => r.next();
}
