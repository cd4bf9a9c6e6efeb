// Pooling and resampling on NCHW tensors. Each op is one kernel; the backward rules use the
// adjoint op (2x2 sum-pool <-> nearest upsampling, depth-to-space <-> space-to-depth), so
// every order of derivative is available.
import { record } from '../autograd.js';
import { shapeStr, Tensor } from '../tensor.js';
import { dispatch, kernel, Params } from '../runtime.js';
import { depthSpaceKernel, maxPoolKernel, pool2x2Kernel, upsample2xKernel } from '../../shaders/pool.js';
import { checkF32, groups1d } from './map.js';
import { mean } from './composite.js';
import { slice } from './shape.js';

function check4(op: string, x: Tensor): void {
  checkF32(op, x);
  if (x.rank !== 4) throw new Error(`${op}: expected an NCHW input of rank 4, got ${shapeStr(x.shape)}`);
}

const maxPool = (scatter: boolean) => {
  const name = scatter ? 'maxPool2x2.scatter' : 'maxPool2x2.select';
  return kernel(name, name, () => maxPoolKernel(scatter));
};

/** s · (sum of each 2x2 block); adjoint of upsample(·, s). */
function pool2x2(x: Tensor, s: number): Tensor {
  const [n, c, h, w] = x.shape;
  const out = Tensor.empty([n, c, h / 2, w / 2]);
  if (out.size)
    dispatch(
      kernel('pool2x2', 'pool2x2', pool2x2Kernel),
      [x.binding('avgPool2x2'), out.binding('avgPool2x2')],
      new Params().u32(out.size, w / 2).f32(s),
      groups1d(out.size),
    );
  return record(out, 'pool2x2', [x], (g) => [upsample(g, s)]);
}

/** s · nearest-neighbour 2x upsampling; adjoint of pool2x2(·, s). */
function upsample(x: Tensor, s: number): Tensor {
  const [n, c, h, w] = x.shape;
  const out = Tensor.empty([n, c, 2 * h, 2 * w]);
  if (x.size)
    dispatch(
      kernel('upsample2x', 'upsample2x', upsample2xKernel),
      [x.binding('upsampleNearest2x'), out.binding('upsampleNearest2x')],
      new Params().u32(x.size, w).f32(s),
      groups1d(x.size),
    );
  return record(out, 'upsample2x', [x], (g) => [pool2x2(g, s)]);
}

/** Each 2x2 window's value of v at the window's argmax in x (v, x [N, C, H, W]). */
function maxPoolSelect(v: Tensor, x: Tensor): Tensor {
  const [n, c, h, w] = x.shape;
  const out = Tensor.empty([n, c, h / 2, w / 2]);
  const b = [v, x, out].map((t) => t.binding('maxPool2x2'));
  if (out.size) dispatch(maxPool(false), b, new Params().u32(out.size, w / 2), groups1d(out.size));
  return record(out, 'maxPool2x2', [v, x], (g) => [maxPoolScatter(g, x), null]);
}

/** g [N, C, H/2, W/2] placed at each window's argmax in x, zero elsewhere: maxPoolSelect's adjoint. */
function maxPoolScatter(g: Tensor, x: Tensor): Tensor {
  const [n, c, h, w] = x.shape;
  const out = Tensor.empty([n, c, h, w]);
  const b = [g, x, out].map((t) => t.binding('maxPool2x2'));
  if (g.size) dispatch(maxPool(true), b, new Params().u32(g.size, w / 2), groups1d(g.size));
  return record(out, 'maxPool2x2Grad', [g, x], (gg) => [maxPoolSelect(gg, x), null]);
}

/**
 * 2x2 max pooling with stride 2; H and W must be even. The gradient goes to the first maximum
 * of each window (PyTorch's choice); it is zero with respect to where the maxima are.
 */
export function maxPool2x2(x: Tensor): Tensor {
  check4('maxPool2x2', x);
  if (x.shape[2] % 2 || x.shape[3] % 2) throw new Error(`maxPool2x2: H and W must be even, got ${shapeStr(x.shape)}`);
  return maxPoolSelect(x, x);
}

/**
 * 2x2 mean pooling with stride 2. An odd H or W drops its last row or column first, as PyTorch's
 * avg_pool2d(x, 2) does (5x7 -> 2x3): a slice, so the dropped entries get zero gradient and every
 * order of derivative stays available.
 */
export function avgPool2x2(x: Tensor): Tensor {
  check4('avgPool2x2', x);
  const [, , h, w] = x.shape;
  if (h % 2 === 0 && w % 2 === 0) return pool2x2(x, 0.25);
  if (h < 2 || w < 2) throw new Error(`avgPool2x2: H and W must be at least 2, got ${shapeStr(x.shape)}`);
  // the slices are intermediates like any composite op's: the enclosing tidy() releases them
  return pool2x2(slice(slice(x, 2, 0, h - (h % 2)), 3, 0, w - (w % 2)), 0.25);
}

/**
 * Nearest-neighbour 2x upsampling [N, C, H, W] -> [N, C, 2H, 2W]. This is what WGAN-GP writes as
 * TF depth_to_space(concat([x, x, x, x], channels)), i.e. depthToSpace(concat(...), 2, 'DCR').
 */
export function upsampleNearest2x(x: Tensor): Tensor {
  check4('upsampleNearest2x', x);
  return upsample(x, 1);
}

export type DepthSpaceMode = 'CRD' | 'DCR';

function depthSpace(op: string, x: Tensor, r: number, mode: DepthSpaceMode, toSpace: boolean): Tensor {
  check4(op, x);
  if (!Number.isInteger(r) || r < 1) throw new Error(`${op}: block must be a positive integer, got ${r}`);
  if (mode !== 'CRD' && mode !== 'DCR') throw new Error(`${op}: mode must be 'CRD' or 'DCR', got '${mode}'`);
  const [n, c, h, w] = x.shape;
  let shape: number[];
  let cOut: number;
  if (toSpace) {
    if (c % (r * r))
      throw new Error(`${op}: channels ${c} of ${shapeStr(x.shape)} are not divisible by block² = ${r * r}`);
    cOut = c / (r * r);
    shape = [n, cOut, h * r, w * r];
  } else {
    if (h % r || w % r) throw new Error(`${op}: H and W of ${shapeStr(x.shape)} must be divisible by the block ${r}`);
    cOut = c;
    shape = [n, c * r * r, h / r, w / r];
  }
  const out = Tensor.empty(shape);
  const k = kernel(op, `${op}:${mode}`, () => depthSpaceKernel(toSpace, mode));
  // indices run over the depth layout: x for depth-to-space, out for space-to-depth
  const depth = toSpace ? x : out;
  const p = new Params().u32(x.size, cOut, depth.shape[2], depth.shape[3], r);
  if (x.size) dispatch(k, [x.binding(op), out.binding(op)], p, groups1d(x.size));
  return record(out, op, [x], (g) => [toSpace ? spaceToDepth(g, r, mode) : depthToSpace(g, r, mode)]);
}

/**
 * Moves r×r blocks of channels into space: [N, C·r², H, W] -> [N, C, H·r, W·r].
 * Default mode 'CRD' is PyTorch's pixel_shuffle (input channel c·r² + i·r + j goes to output
 * channel c, offset (i, j)); 'DCR' is TensorFlow's depth_to_space on NCHW (channel (i·r + j)·C + c).
 */
export function depthToSpace(x: Tensor, block: number, mode: DepthSpaceMode = 'CRD'): Tensor {
  return depthSpace('depthToSpace', x, block, mode, true);
}

/** The inverse (and adjoint) of depthToSpace: [N, C, H·r, W·r] -> [N, C·r², H, W]. */
export function spaceToDepth(x: Tensor, block: number, mode: DepthSpaceMode = 'CRD'): Tensor {
  return depthSpace('spaceToDepth', x, block, mode, false);
}

/** Mean over H and W: [N, C, H, W] -> [N, C]. */
export function globalMeanPool(x: Tensor): Tensor {
  check4('globalMeanPool', x);
  return mean(x, [2, 3]);
}
