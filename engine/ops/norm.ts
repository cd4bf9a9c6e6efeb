// Batch and layer normalisation. The input is viewed as [A, B, D] and normalised per b over
// A·D elements. Forward passes are fused kernels (statistics, then one normalise+affine pass).
// Backward rules: a first-order pass with no graph (createGraph off) runs two fused kernels;
// when the backward is itself recorded it is composed from differentiable ops (sumB/spreadB
// below plus elementwise ops), so gradient penalties can differentiate through it.
import { isGradEnabled, record } from '../autograd.js';
import { numel, shapeStr, Tensor, type Shape } from '../tensor.js';
import { any, bool, checkOptions } from '../options.js';
import { dispatch, kernel, Params } from '../runtime.js';
import type { KernelDecl } from '../../shaders/kernel.js';
import { broadcastShapes, normAxes, sameShape } from '../shape_util.js';
import {
  affineKernel,
  channelReduceKernel,
  GRID_WG,
  REDUCE_WG,
  normApplyKernel,
  normBackwardKernel,
  runningUpdateKernel,
  spreadKernel,
  type IndexMode,
  type ReduceKind,
  type ReduceMode,
} from '../../shaders/norm.js';
import { checkF32, groups1d } from './map.js';
import { add, mul, pow } from './elementwise.js';
import { permute, reshape } from './shape.js';

/** x viewed as [A, B, D]; statistics per b. */
interface Geo {
  A: number;
  B: number;
  D: number;
}

// ---------- kernels ----------

/** The kernel named by the part of `key` before the first ':'. */
const normKernel = (key: string, declare: () => KernelDecl) => kernel(key.split(':')[0], key, declare);

const MAX_GROUPS = 65535;

/** vec4 access when rows are a multiple of 4 long; D4 = elements (or vec4s) per row. */
const isVec = (g: Geo) => g.D % 4 === 0;
const rowLen = (g: Geo) => (isVec(g) ? g.D / 4 : g.D);

/** Grid indexing needs rows long enough to fill a workgroup and A, B within the group limits. */
function indexMode(g: Geo): IndexMode {
  const d4 = rowLen(g);
  return d4 >= GRID_WG && g.A <= MAX_GROUPS && g.B <= MAX_GROUPS && Math.ceil(d4 / GRID_WG) <= MAX_GROUPS
    ? 'grid'
    : 'flat';
}
function elementwiseGroups(g: Geo, mode: IndexMode): [number, number, number] {
  if (mode === 'grid') return [Math.ceil(rowLen(g) / GRID_WG), g.B, g.A];
  const [x, y] = groups1d(g.A * g.B * rowLen(g), 256);
  return [x, y, 1];
}
/** One workgroup per b unless each b has few elements (then one invocation per b). */
function reduceMode(g: Geo): ReduceMode {
  return g.A * g.D <= 256 || g.B > MAX_GROUPS ? 'thread' : 'group';
}
function reduceGroups(g: Geo, mode: ReduceMode): [number, number] {
  return mode === 'group' ? [g.B, 1] : groups1d(g.B, 64);
}
/** Uniforms of the reduction kernels: A, B, D4, s, eps, then REDUCE_WG = da·D4 + dd. */
function reduceParams(g: Geo, s: number, eps: number): Params {
  const d4 = rowLen(g);
  return new Params()
    .u32(g.A, g.B, d4)
    .f32(s, eps)
    .u32(Math.floor(REDUCE_WG / d4), REDUCE_WG % d4);
}

/** A per-b reduction of x (and y for 'dot') into a new tensor. */
function reduceRaw(kind: Exclude<ReduceKind, 'bwd'>, x: Tensor, g: Geo, s: number, eps = 0, y?: Tensor): Tensor {
  const mode = reduceMode(g);
  const vec = isVec(g);
  const out = Tensor.empty(kind === 'moments' ? [2, g.B] : [g.B]);
  const ins = y ? [x, y] : [x];
  const k = normKernel(`norm.${kind}:${mode}:${vec}`, () => channelReduceKernel(kind, mode, vec));
  dispatch(
    k,
    [...ins, out].map((t) => t.binding(`norm.${kind}`)),
    reduceParams(g, s, eps),
    reduceGroups(g, mode),
  );
  return out;
}

function applyRaw(
  x: Tensor,
  mean: Tensor,
  vr: Tensor,
  voff: number,
  w: Tensor | null,
  b: Tensor | null,
  g: Geo,
  eps: number,
): Tensor {
  const mode = indexMode(g);
  const vec = isVec(g);
  const out = Tensor.empty(x.shape);
  const k = normKernel(`norm.apply:${mode}:${vec}:${!!w}:${!!b}`, () => normApplyKernel(mode, vec, !!w, !!b));
  const bufs = [x, mean, vr, ...(w ? [w] : []), ...(b ? [b] : []), out].map((t) => t.binding('norm.apply'));
  dispatch(k, bufs, new Params().u32(g.A, g.B, rowLen(g), voff).f32(eps), elementwiseGroups(g, mode));
  return out;
}

// ---------- differentiable per-b sum and its adjoint ----------

/** [A·B·D elements] -> [B]: s · Σ over a, d. */
function sumB(x: Tensor, g: Geo, s = 1): Tensor {
  const y = reduceRaw('sum', x, g, s);
  const shape = x.shape;
  return record(y, 'norm.sumB', [x], (gy) => [spreadB(gy, g, shape, s)]);
}

/** [B]: Σ over a, d of x·y (same shapes): one pass instead of mul then sumB. */
function dotB(x: Tensor, y: Tensor, g: Geo): Tensor {
  const out = reduceRaw('dot', x, g, 1, 0, y);
  return record(out, 'norm.dotB', [x, y], (gv) => [affine(y, gv, null, g), affine(x, gv, null, g)]);
}

/** [B] -> `shape` (A·B·D elements): out[a, b, d] = s · v[b]. */
function spreadB(v: Tensor, g: Geo, shape: Shape, s = 1): Tensor {
  const mode = indexMode(g);
  const vec = isVec(g);
  const out = Tensor.empty(shape);
  const k = normKernel(`norm.spread:${mode}:${vec}`, () => spreadKernel(mode, vec));
  const p = new Params().u32(g.A, g.B, rowLen(g)).f32(s);
  dispatch(k, [v.binding('norm.spread'), out.binding('norm.spread')], p, elementwiseGroups(g, mode));
  return record(out, 'norm.spreadB', [v], (gy) => [sumB(gy, g, s)]);
}

// ---------- affine with parameters broadcast over one run of axes ----------

/**
 * The [A, B, D] view in which a parameter broadcast against `shape` is indexed by b alone, or
 * null when its non-broadcast axes are not adjacent.
 */
function paramGeo(shape: Shape, p: Tensor): Geo | null {
  const ps = [...Array(shape.length - p.rank).fill(1), ...p.shape];
  const own = shape.map((_, i) => i).filter((i) => ps[i] !== 1);
  if (own.length === 0) return { A: numel(shape), B: 1, D: 1 };
  const [first, last] = [own[0], own[own.length - 1]];
  for (let i = first; i <= last; i++) if (ps[i] !== shape[i]) return null;
  return { A: numel(shape.slice(0, first)), B: numel(shape.slice(first, last + 1)), D: numel(shape.slice(last + 1)) };
}

const sameGeo = (a: Geo, b: Geo) => a.A === b.A && a.B === b.B && a.D === b.D;

/** y = x · w + bias with w, bias indexed by b of the [A, B, D] view (one fused kernel). */
function affine(x: Tensor, w: Tensor | null, b: Tensor | null, g: Geo): Tensor {
  const mode = indexMode(g);
  const vec = isVec(g);
  const out = Tensor.empty(x.shape);
  const k = normKernel(`norm.affine:${mode}:${vec}:${!!w}:${!!b}`, () => affineKernel(mode, vec, !!w, !!b));
  const bufs = [x, ...(w ? [w] : []), ...(b ? [b] : []), out].map((t) => t.binding('layerNorm.affine'));
  dispatch(k, bufs, new Params().u32(g.A, g.B, rowLen(g)), elementwiseGroups(g, mode));
  const inputs = [x, ...(w ? [w] : []), ...(b ? [b] : [])];
  return record(out, 'affine', inputs, (gy) => {
    const grads = [w ? affine(gy, w, null, g) : gy];
    if (w) grads.push(reshape(dotB(gy, x, g), w.shape));
    if (b) grads.push(reshape(sumB(gy, g), b.shape));
    return grads;
  });
}

// ---------- normalisation with batch statistics ----------

/**
 * y = (x - mean_b) / sqrt(var_b + eps) · w_b + bias_b with mean/var (biased) from x itself.
 * `useStats` sees the [2, B] statistics (mean; var) right after they are computed.
 */
function normTrain(
  x: Tensor,
  w: Tensor | null,
  b: Tensor | null,
  g: Geo,
  eps: number,
  useStats?: (stats: Tensor) => void,
): Tensor {
  const stats = reduceRaw('moments', x, g, 1 / (g.A * g.D));
  useStats?.(stats);
  const y = applyRaw(x, stats, stats, g.B, w, b, g, eps);
  const inputs = [x, ...(w ? [w] : []), ...(b ? [b] : [])];
  record(y, 'normTrain', inputs, (gy) => {
    const [dx, dw, db] = isGradEnabled()
      ? normTrainBackwardOps(x, w, b, gy, g, eps)
      : normTrainBackwardFused(x, stats, w, b, gy, g, eps);
    return [dx, ...(w ? [dw] : []), ...(b ? [db] : [])];
  });
  // the backward rule holds the statistics (released with the enclosing scope)
  if (!y.node) stats.dispose();
  return y;
}

/** First-order gradients in two fused kernels: per-b sums of g and g·x̂, then dx. */
function normTrainBackwardFused(
  x: Tensor,
  stats: Tensor,
  w: Tensor | null,
  b: Tensor | null,
  gy: Tensor,
  g: Geo,
  eps: number,
): (Tensor | null)[] {
  const rmode = reduceMode(g);
  const vec = isVec(g);
  const sg = Tensor.empty([g.B]);
  const sgx = Tensor.empty([g.B]);
  const rk = normKernel(`norm.bwdReduce:${rmode}:${vec}`, () => channelReduceKernel('bwd', rmode, vec));
  dispatch(
    rk,
    [x, stats, gy, sg, sgx].map((t) => t.binding('normBackward')),
    reduceParams(g, 0, eps),
    reduceGroups(g, rmode),
  );
  const mode = indexMode(g);
  const dx = Tensor.empty(x.shape);
  const ek = normKernel(`norm.bwdApply:${mode}:${vec}:${!!w}`, () => normBackwardKernel(mode, vec, !!w));
  const p = new Params().u32(g.A, g.B, rowLen(g)).f32(1 / (g.A * g.D), eps);
  dispatch(
    ek,
    [x, stats, gy, sg, sgx, ...(w ? [w] : []), dx].map((t) => t.binding('normBackward')),
    p,
    elementwiseGroups(g, mode),
  );
  if (!w) sgx.dispose();
  if (!b) sg.dispose();
  return [dx, w && sgx, b && sg];
}

/**
 * The same gradients composed from differentiable ops (for createGraph):
 * dx = w·invstd·(g - Σg/M - x̂·Σgx̂/M), with x̂ and invstd themselves differentiable in x.
 */
function normTrainBackwardOps(
  x: Tensor,
  w: Tensor | null,
  b: Tensor | null,
  gy: Tensor,
  g: Geo,
  eps: number,
): (Tensor | null)[] {
  const M = g.A * g.D;
  const xhat = normTrain(x, null, null, g, eps);
  const invstd = invStd(x, g, eps);
  const sg = sumB(gy, g);
  const sgx = dotB(gy, xhat, g);
  const inner = add(gy, affine(xhat, mul(sgx, -1 / M), mul(sg, -1 / M), g));
  const dx = affine(inner, w ? mul(w, invstd) : invstd, null, g);
  return [dx, w && reshape(sgx, w.shape), b && reshape(sg, b.shape)];
}

/** [B]: (var_b + eps)^-1/2 of x, biased variance; d/dx_i = -invstd_b²·x̂_i / M. */
function invStd(x: Tensor, g: Geo, eps: number): Tensor {
  const y = reduceRaw('invstd', x, g, 1 / (g.A * g.D), eps);
  return record(y, 'norm.invStd', [x], (gy) => [
    mul(spreadB(mul(gy, mul(y, y)), g, x.shape, -1 / (g.A * g.D)), normTrain(x, null, null, g, eps)),
  ]);
}

// ---------- normalisation with fixed statistics (eval) ----------

function normEval(x: Tensor, w: Tensor | null, b: Tensor | null, rm: Tensor, rv: Tensor, g: Geo, eps: number): Tensor {
  const y = applyRaw(x, rm, rv, 0, w, b, g, eps);
  const inputs = [x, ...(w ? [w] : []), ...(b ? [b] : [])];
  return record(y, 'normEval', inputs, (gy) => {
    const invstd = pow(add(rv, eps), -0.5); // constant: rv records nothing
    const out: Tensor[] = [affine(gy, w ? mul(w, invstd) : invstd, null, g)];
    if (w) out.push(dotB(gy, normEval(x, null, null, rm, rv, g, eps), g));
    if (b) out.push(sumB(gy, g));
    return out;
  });
}

// ---------- public ops ----------

export interface BatchNormOptions {
  training: boolean;
  /** weight of the new batch statistics in the running averages (PyTorch convention), default 0.1 */
  momentum?: number;
  eps?: number;
  /** default true; false uses batch statistics without touching the running statistics */
  updateStats?: boolean;
}

function checkVector(op: string, what: string, t: Tensor | null, c: number, x: Tensor): void {
  if (!t) return;
  checkF32(op, t);
  if (t.rank !== 1 || t.shape[0] !== c) {
    throw new Error(`${op}: ${what} has shape ${shapeStr(t.shape)}, expected [${c}] for input ${shapeStr(x.shape)}`);
  }
}

/**
 * Batch normalisation of x [N, C, ...] per channel C (PyTorch semantics).
 * Training: normalises with the batch mean and biased variance; running statistics are updated
 * in place as r = (1-m)·r + m·stat with the unbiased variance. Eval: uses the running statistics.
 */
export function batchNorm(
  x: Tensor,
  weight: Tensor | null,
  bias: Tensor | null,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  opts: BatchNormOptions,
): Tensor {
  const op = 'batchNorm';
  checkOptions(op, opts, { training: bool, momentum: any, eps: any, updateStats: bool });
  if (typeof opts?.training !== 'boolean')
    throw new Error(`${op}: option 'training' must be true or false, got ${opts?.training}`);
  checkF32(op, x);
  if (x.rank < 2) throw new Error(`${op}: expected input [N, C] or [N, C, H, W], got ${shapeStr(x.shape)}`);
  const C = x.shape[1];
  checkVector(op, 'weight', weight, C, x);
  checkVector(op, 'bias', bias, C, x);
  checkVector(op, 'runningMean', runningMean, C, x);
  checkVector(op, 'runningVar', runningVar, C, x);
  const eps = opts.eps ?? 1e-5;
  const momentum = opts.momentum ?? 0.1;
  if (!(eps > 0 && Number.isFinite(eps))) throw new Error(`${op}: eps must be positive, got ${eps}`);
  if (!(momentum >= 0 && momentum <= 1)) throw new Error(`${op}: momentum must be in [0, 1], got ${momentum}`);
  if (!runningMean !== !runningVar) throw new Error(`${op}: pass both runningMean and runningVar, or neither`);
  const g: Geo = { A: x.shape[0], B: C, D: numel(x.shape.slice(2)) };
  if (x.size === 0) throw new Error(`${op}: empty input ${shapeStr(x.shape)}`);

  if (!opts.training) {
    if (!runningMean || !runningVar)
      throw new Error(`${op}: eval mode needs runningMean and runningVar (got null) for input ${shapeStr(x.shape)}`);
    return normEval(x, weight, bias, runningMean, runningVar, g, eps);
  }
  const M = g.A * g.D;
  if (M < 2) throw new Error(`${op}: training needs more than one value per channel, input ${shapeStr(x.shape)}`);
  const update = runningMean && runningVar && (opts.updateStats ?? true);
  // running statistics are updated in place by one kernel (in the command stream, no autograd)
  return normTrain(x, weight, bias, g, eps, (stats) => {
    if (!update) return;
    const p = new Params().u32(C).f32(momentum, M / (M - 1));
    dispatch(
      normKernel('norm.runningUpdate', runningUpdateKernel),
      [stats, runningMean!, runningVar!].map((t) => t.binding(op)),
      p,
      groups1d(C, 64),
    );
  });
}

/**
 * Layer normalisation over `axes` (e.g. [1, 2, 3] for C, H, W), biased variance; weight and
 * bias broadcast against x (e.g. [1, C, 1, 1] per channel, or [C, H, W] elementwise).
 */
export function layerNorm(x: Tensor, axes: number[], weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor {
  const op = 'layerNorm';
  checkF32(op, x);
  const ax = normAxes(op, axes, x.rank);
  if (ax.length === 0) throw new Error(`${op}: no axes to normalise over for input ${shapeStr(x.shape)}`);
  if (!(eps > 0)) throw new Error(`${op}: eps must be positive, got ${eps}`);
  for (const [what, t] of [
    ['weight', weight],
    ['bias', bias],
  ] as const) {
    if (!t) continue;
    checkF32(op, t);
    if (!sameShape(broadcastShapes(op, x.shape, t.shape), x.shape)) {
      throw new Error(`${op}: ${what} ${shapeStr(t.shape)} does not broadcast to input ${shapeStr(x.shape)}`);
    }
  }
  const kept = x.shape.map((_, i) => i).filter((i) => !ax.includes(i));
  const contiguousKept = kept.every((a, i) => i === 0 || a === kept[i - 1] + 1);
  let y: Tensor;
  if (contiguousKept) {
    const first = kept.length ? kept[0] : x.rank;
    const last = kept.length ? kept[kept.length - 1] : x.rank - 1;
    const g: Geo = {
      A: numel(x.shape.slice(0, first)),
      B: numel(kept.map((a) => x.shape[a])),
      D: numel(x.shape.slice(last + 1)),
    };
    y = normTrain(x, null, null, g, eps);
  } else {
    // bring the kept axes to the front, normalise the trailing block, and put them back
    const perm = [...kept, ...ax];
    const inv = perm.map((_, i) => perm.indexOf(i));
    const xp = permute(x, perm);
    const B = numel(kept.map((a) => x.shape[a]));
    y = permute(normTrain(xp, null, null, { A: 1, B, D: x.size / B }, eps), inv);
  }
  // the affine part: fused when each parameter varies along one run of adjacent axes
  const gw = weight && paramGeo(x.shape, weight);
  const gb = bias && paramGeo(x.shape, bias);
  if (gw && gb && sameGeo(gw, gb)) return affine(y, weight, bias, gw);
  if (weight) y = gw ? affine(y, weight, null, gw) : mul(y, weight);
  if (bias) y = gb ? affine(y, null, bias, gb) : add(y, bias);
  return y;
}
