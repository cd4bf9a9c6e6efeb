// PyTorch fixture cases (bench/conformance/fixtures/*.json, from gen_ops.py) and the engine call for each op,
// shared by the vitest suites (Node) and the portable suite (Deno, the browser).
import * as E from '../../engine/web.js';

export interface Arr {
  shape: number[];
  data: number[];
}
export interface Params {
  scalar?: number;
  slope?: number;
  lo?: number;
  hi?: number;
  axes?: number[] | null;
  keepdim?: boolean;
  axis?: number;
  shape?: number[];
  perm?: number[];
  a?: number;
  b?: number;
  start?: number;
  end?: number | null;
  step?: number;
  transA?: boolean;
  transB?: boolean;
  eps?: number;
  stride?: number;
  padding?: number;
  /** conv2d: whether the case has a bias input */
  bias?: boolean;
  block?: number;
  mode?: E.DepthSpaceMode;
}
export interface Case {
  name: string;
  op: string;
  params: Params;
  inputs: Arr[];
  out: Arr;
  gradOut: Arr;
  /** VJP per input; null where the input is not differentiable */
  grads: (Arr | null)[];
}

/** One batchNorm sequence: two training calls, then eval with the updated running statistics. */
export interface BNCall {
  out: Arr;
  gradOut: Arr;
  /** VJPs for x, then weight and bias when affine */
  grads: Arr[];
  runningMean?: Arr;
  runningVar?: Arr;
}
export interface BNCase {
  name: string;
  momentum: number;
  eps: number;
  affine: boolean;
  x1: Arr;
  x2: Arr;
  x3: Arr;
  weight: Arr | null;
  bias: Arr | null;
  runningMean0: Arr;
  runningVar0: Arr;
  train1: BNCall;
  train2: BNCall;
  eval: BNCall;
}
/** An optimiser run: parameter values after each step, given the stored gradients. */
export interface OptimRun {
  name: string;
  kind: 'Adam' | 'SGD';
  config: {
    lr: number;
    betas?: [number, number];
    eps?: number;
    momentum?: number;
    weightDecay?: number;
    dampening?: number;
    nesterov?: boolean;
  };
  params: Arr[];
  grads: Arr[][];
  after: Arr[][];
}

export type OpFn = (xs: E.Tensor[], p: Params) => E.Tensor;
const axesOf = (p: Params) => p.axes ?? undefined;

export const OPS: Record<string, OpFn> = {
  neg: ([x]) => E.neg(x),
  abs: ([x]) => E.abs(x),
  sqrt: ([x]) => E.sqrt(x),
  exp: ([x]) => E.exp(x),
  log: ([x]) => E.log(x),
  square: ([x]) => E.square(x),
  reciprocal: ([x]) => E.reciprocal(x),
  relu: ([x]) => E.relu(x),
  tanh: ([x]) => E.tanh(x),
  sigmoid: ([x]) => E.sigmoid(x),
  leakyRelu: ([x], p) => E.leakyRelu(x, p.slope),
  clamp: ([x], p) => E.clamp(x, p.lo!, p.hi!),
  add: ([a, b], p) => E.add(a, p.scalar ?? b),
  sub: ([a, b], p) => E.sub(a, p.scalar ?? b),
  mul: ([a, b], p) => E.mul(a, p.scalar ?? b),
  div: ([a, b], p) => E.div(a, p.scalar ?? b),
  maximum: ([a, b], p) => E.maximum(a, p.scalar ?? b),
  minimum: ([a, b], p) => E.minimum(a, p.scalar ?? b),
  pow: ([a, b], p) => E.pow(a, p.scalar ?? b),
  where: ([c, a, b]) => E.where(c, a, b),

  sum: ([x], p) => E.sum(x, axesOf(p), p.keepdim),
  mean: ([x], p) => E.mean(x, axesOf(p), p.keepdim),
  max: ([x], p) => E.max(x, axesOf(p), p.keepdim),
  variance: ([x], p) => E.variance(x, axesOf(p), p.keepdim),
  softmax: ([x], p) => E.softmax(x, p.axis),
  logSoftmax: ([x], p) => E.logSoftmax(x, p.axis),
  logsumexp: ([x], p) => E.logsumexp(x, p.axis, p.keepdim),
  perSampleNorm: ([x]) => E.perSampleNorm(x),
  normalizePerSample: ([x]) => E.normalizePerSample(x),

  reshape: ([x], p) => E.reshape(x, p.shape!),
  permute: ([x], p) => E.permute(x, p.perm!),
  transpose: ([x], p) => E.transpose(x, p.a, p.b),
  expand: ([x], p) => E.expand(x, p.shape!),
  slice: ([x], p) => E.slice(x, p.axis!, p.start!, p.end ?? undefined, p.step),
  concat: (xs, p) => E.concat(xs, p.axis!),
  stack: (xs, p) => E.stack(xs, p.axis),

  matmul: ([a, b], p) => E.matmul(a, b, { transA: p.transA, transB: p.transB }),

  conv2d: ([x, w, b], p) => E.conv2d(x, w, p.bias ? b : null, { stride: p.stride, padding: p.padding }),

  layerNorm: ([x, w, b], p) => E.layerNorm(x, [1, 2, 3], w, b, p.eps),
  avgPool2x2: ([x]) => E.avgPool2x2(x),
  upsampleNearest2x: ([x]) => E.upsampleNearest2x(x),
  globalMeanPool: ([x]) => E.globalMeanPool(x),
  depthToSpace: ([x], p) => E.depthToSpace(x, p.block!, p.mode),
  spaceToDepth: ([x], p) => E.spaceToDepth(x, p.block!, p.mode),
};

/** The first element outside atol + rtol·|expected| (or a shape mismatch), described; null if none. */
export function mismatch(
  label: string,
  shape: readonly number[],
  values: ArrayLike<number>,
  ref: Arr,
  atol: number,
  rtol: number,
): string | null {
  if (shape.join() !== ref.shape.join())
    return `${label}: shape [${shape.join(', ')}], PyTorch has [${ref.shape.join(', ')}]`;
  const want = Float32Array.from(ref.data); // the stored decimals are float32 values
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < want.length; i++) {
    const diff = Math.abs(values[i] - want[i]);
    const excess = diff - (atol + rtol * Math.abs(want[i]));
    if (excess > worstExcess || Number.isNaN(values[i])) {
      worst = i;
      worstExcess = Number.isNaN(values[i]) ? Infinity : excess;
    }
  }
  if (worst < 0) return null;
  return `${label}: element ${worst} [${unravel(worst, ref.shape).join(', ')}] is ${values[worst]}, PyTorch says ${want[worst]} (atol ${atol}, rtol ${rtol})`;
}

export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = shape.map(() => 0);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

/** atol/rtol for a case: float32 vs float64 reference, looser where long sums accumulate rounding. */
export function tolerance(c: Case): [number, number] {
  return c.op === 'matmul' || c.op === 'conv2d' ? [5e-5, 1e-4] : [2e-5, 1e-4];
}

/** An optimiser run from optim.json replayed with its stored gradients: the first mismatch, or null. */
export async function optimRun(run: OptimRun): Promise<string | null> {
  const params = run.params.map((a) => E.tensor(a.data, a.shape));
  const { lr, betas, eps, momentum, weightDecay, dampening, nesterov } = run.config;
  const opt =
    run.kind === 'Adam'
      ? new E.Adam(params, { lr, betas, eps, weightDecay })
      : new E.SGD(params, { lr, momentum, weightDecay, dampening, nesterov });
  try {
    for (let k = 0; k < run.grads.length; k++) {
      const gs = run.grads[k].map((a) => E.tensor(a.data, a.shape));
      opt.step(gs);
      E.dispose(gs);
      for (let i = 0; i < params.length; i++) {
        // Adam moves each value by ~lr per step: atol well below that catches a wrong update
        const m = mismatch(
          `step ${k + 1}, param ${i}`,
          params[i].shape,
          await params[i].toFloat32(),
          run.after[k][i],
          1e-6,
          1e-5,
        );
        if (m) return m;
      }
    }
    return null;
  } finally {
    opt.dispose();
    E.dispose(params);
  }
}
