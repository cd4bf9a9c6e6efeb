// Gradient checking by central finite differences. The function runs on the GPU in float32;
// the objective sum(v · f(x)) and the differences are formed in float64 on the host.
import { grad, requireGrad } from './autograd.js';
import { Tensor, tidy, shapeStr } from './tensor.js';
import { tensor } from './ops/create.js';
import { concat, reshape } from './ops/shape.js';
import { hostRng } from './random.js';
import { bool, checkOptions, num, type OptionSpec } from './options.js';

export { hostRng };

// Default tolerances. Each objective is a float64 sum of float32 outputs, so its rounding error
// is about 1e-7 · sqrt(outputs) for O(1) values, and the central difference divides that by
// 2·eps = 2e-3: ~1e-4 for a thousand outputs, which atol 1e-3 covers with room. Truncation is
// O(eps²) = 1e-6 relative. rtol 1e-3 then fails a backward that is 1% wrong wherever the
// gradient is above ~0.1 (the old 1e-2 let exactly that through).
const DEFAULTS = { eps: 1e-3, atol: 1e-3, rtol: 1e-3, maxElements: 48, seed: 1234 };

// eps > 0 and finite tolerances: eps 0 or NaN, or an infinite tolerance, would pass any backward
const GRADCHECK_SPEC: OptionSpec = {
  eps: num({ gt: 0, max: 1 }),
  atol: num({ min: 0 }),
  rtol: num({ min: 0 }),
  throwOnFailure: bool,
  maxElements: num({ int: true, min: 1 }),
  seed: num({ int: true, min: 0 }),
};

function checkGradcheck(op: string, fn: unknown, inputs: unknown, opts: GradcheckOptions): void {
  checkOptions(op, opts, GRADCHECK_SPEC);
  if ((opts.atol ?? DEFAULTS.atol) === 0 && (opts.rtol ?? DEFAULTS.rtol) === 0)
    throw new Error(`${op}: atol and rtol are both 0; no float32 gradient passes that`);
  if (typeof fn !== 'function') throw new Error(`${op}: fn must be a function, got ${typeof fn}`);
  if (!Array.isArray(inputs) || !inputs.length || inputs.some((t) => !(t instanceof Tensor)))
    throw new Error(`${op}: inputs must be a non-empty array of tensors`);
}

export interface GradcheckOptions {
  /** finite-difference step (default 1e-3; float32 rarely wants smaller) */
  eps?: number;
  /** default 1e-3 */
  atol?: number;
  /** default 1e-3 */
  rtol?: number;
  /** throw an Error with the report's message when the check fails (default false: return it) */
  throwOnFailure?: boolean;
  /** elements checked per input, spread evenly (default 48); all when the input is smaller */
  maxElements?: number;
  /** seed of the random projection v and of the element choice */
  seed?: number;
}

export interface GradcheckWorst {
  input: number;
  /** flat index into the input */
  index: number;
  /** the same element as a multi-dimensional index, e.g. [2, 0, 1] */
  position: number[];
  analytic: number;
  numeric: number;
  error: number;
}

export interface GradcheckReport {
  ok: boolean;
  checked: number;
  worst: GradcheckWorst;
  message: string;
}

type Fn = (...xs: Tensor[]) => Tensor;

async function objective(
  fn: Fn,
  values: Float64Array[],
  shapes: (readonly number[])[],
  v: Float64Array,
): Promise<number> {
  const out = tidy(() => fn(...values.map((x, i) => requireGrad(tensor(Float32Array.from(x), shapes[i])))));
  const y = await out.toFloat32();
  out.dispose();
  let s = 0;
  for (let i = 0; i < y.length; i++) s += v[i] * y[i];
  return s;
}

/**
 * Compares the analytic gradient of sum(v · fn(inputs)) with central differences.
 * `v` is a fixed random projection, so non-scalar outputs are checked too.
 */
export async function gradcheck(fn: Fn, inputs: Tensor[], opts: GradcheckOptions = {}): Promise<GradcheckReport> {
  checkGradcheck('gradcheck', fn, inputs, opts);
  const eps = opts.eps ?? DEFAULTS.eps;
  const atol = opts.atol ?? DEFAULTS.atol;
  const rtol = opts.rtol ?? DEFAULTS.rtol;
  const maxEl = opts.maxElements ?? DEFAULTS.maxElements;
  const seed = opts.seed ?? DEFAULTS.seed;
  const rand = hostRng(seed);
  const shapes = inputs.map((t) => t.shape);
  const values = await Promise.all(inputs.map(async (t) => Float64Array.from(await t.toFloat32())));

  // analytic
  const probe = tidy(() => fn(...values.map((x, i) => tensor(Float32Array.from(x), shapes[i]))));
  const outShape = probe.shape;
  probe.dispose();
  const v = new Float64Array(outShape.reduce((a, b) => a * b, 1)).map(() => rand() * 2 - 1);
  const analyticT = tidy(() => {
    const xs = values.map((x, i) => requireGrad(tensor(Float32Array.from(x), shapes[i])));
    const out = fn(...xs);
    return grad(out, xs, { gradOutputs: [tensor(Float32Array.from(v), out.shape)] });
  });
  const analytic = await Promise.all(analyticT.map((g) => g.toFloat32()));
  analyticT.forEach((g) => g.dispose());

  let worst: GradcheckWorst = { input: -1, index: -1, position: [], analytic: 0, numeric: 0, error: 0 };
  let worstExcess = -Infinity;
  let checked = 0;
  for (let i = 0; i < values.length; i++) {
    const n = values[i].length;
    const count = Math.min(n, maxEl);
    const offset = Math.floor(rand() * n);
    for (let k = 0; k < count; k++) {
      const idx = count === n ? k : (offset + Math.floor((k * n) / count)) % n;
      const orig = values[i][idx];
      values[i][idx] = orig + eps;
      const fp = await objective(fn, values, shapes, v);
      values[i][idx] = orig - eps;
      const fm = await objective(fn, values, shapes, v);
      values[i][idx] = orig;
      const numeric = (fp - fm) / (2 * eps);
      const a = analytic[i][idx];
      const error = Math.abs(a - numeric);
      const excess = error - (atol + rtol * Math.abs(numeric));
      checked++;
      if (excess > worstExcess || !Number.isFinite(a)) {
        worstExcess = Number.isFinite(a) ? excess : Infinity;
        worst = { input: i, index: idx, position: unravel(idx, shapes[i]), analytic: a, numeric, error };
      }
    }
  }
  const ok = worstExcess <= 0;
  const message =
    `gradcheck ${ok ? 'passed' : 'FAILED'}: ${checked} elements; worst at input ${worst.input} ${shapeStr(shapes[worst.input] ?? [])}` +
    ` element [${worst.position.join(', ')}]: analytic ${worst.analytic}, numeric ${worst.numeric}, |diff| ${worst.error.toExponential(3)}` +
    ` (atol ${atol}, rtol ${rtol}, eps ${eps})`;
  if (!ok && opts.throwOnFailure) throw new Error(message);
  return { ok, checked, worst, message };
}

function unravel(i: number, shape: readonly number[]): number[] {
  const idx = shape.map(() => 0);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

/**
 * Checks second derivatives: gradcheck of x ↦ ∂(u · fn(x))/∂x, built with createGraph.
 * This is what gradient penalties (WGAN-GP, -LP) differentiate.
 */
export async function gradgradcheck(fn: Fn, inputs: Tensor[], opts: GradcheckOptions = {}): Promise<GradcheckReport> {
  checkGradcheck('gradgradcheck', fn, inputs, opts);
  const rand = hostRng((opts.seed ?? DEFAULTS.seed) + 1);
  const probe = tidy(() => fn(...inputs));
  const u = Float32Array.from({ length: probe.size }, () => rand() * 2 - 1);
  const uShape = probe.shape;
  probe.dispose();
  const firstGrads = (...xs: Tensor[]) => {
    const out = fn(...xs);
    const gs = grad(out, xs, { gradOutputs: [tensor(u, uShape)], createGraph: true });
    return concat(
      gs.map((g) => reshape(g, [-1])),
      0,
    );
  };
  return gradcheck(firstGrads, inputs, opts);
}
