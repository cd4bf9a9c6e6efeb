// Group normalisation (F.group_norm): statistics per sample and per group of channels, over the
// group's channels and every spatial position, with a per-channel affine. Written with
// layerNorm (one fused normalisation kernel, differentiable to every order) on a view that puts
// each group's values in one trailing block.
import { numel, shapeStr, type Tensor } from '../tensor.js';
import { checkNumber, checkOptions, num } from '../options.js';
import { layerNorm } from './norm.js';
import { reshape } from './shape.js';

export interface GroupNormOptions {
  /** added to the variance, default 1e-5 */
  eps?: number;
}

/**
 * x [N, C, ...] normalised per sample over groups of C / numGroups channels and all further axes
 * (biased variance), then scaled by weight [C] and shifted by bias [C] (each may be null).
 * numGroups = C is instance normalisation, numGroups = 1 layer normalisation over (C, ...).
 */
export function groupNorm(
  x: Tensor,
  numGroups: number,
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  opts: GroupNormOptions = {},
): Tensor {
  const op = 'groupNorm';
  const o = checkOptions(op, opts, { eps: num({ gt: 0 }) });
  checkNumber(op, 'numGroups', numGroups, { int: true, min: 1 });
  if (x.rank < 2) throw new Error(`${op}: expected input [N, C, ...], got ${shapeStr(x.shape)}`);
  const [N, C] = x.shape;
  if (C % numGroups !== 0)
    throw new Error(`${op}: ${C} channels do not split into ${numGroups} groups (input ${shapeStr(x.shape)})`);
  for (const [what, t] of [
    ['weight', weight],
    ['bias', bias],
  ] as const) {
    if (t && (t.rank !== 1 || t.shape[0] !== C))
      throw new Error(`${op}: ${what} has shape ${shapeStr(t.shape)}, expected [${C}] for input ${shapeStr(x.shape)}`);
  }
  const G = numGroups;
  const rest = numel(x.shape.slice(2));
  if ((C / G) * rest < 1) throw new Error(`${op}: empty groups for input ${shapeStr(x.shape)}`);
  // [N, G, C/G, rest]: the affine parameters vary along (G, C/G) only, so layerNorm fuses them
  const per = (t: Tensor | null) => t && reshape(t, [1, G, C / G, 1]);
  const y = layerNorm(reshape(x, [N, G, C / G, rest]), [2, 3], per(weight), per(bias), o.eps ?? 1e-5);
  return reshape(y, x.shape);
}
