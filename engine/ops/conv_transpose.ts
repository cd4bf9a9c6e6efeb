// Transposed convolution (PyTorch's conv_transpose2d): the adjoint of conv2d, so it is
// conv2dInputGrad with the output size chosen by output_padding. Its backward (conv2d and
// conv2dWeightGrad) comes with that op, so derivatives of every order work.
import { shapeStr, type Tensor } from '../tensor.js';
import { checkOptions, num } from '../options.js';
import { conv2dInputGrad } from './conv.js';
import { add } from './elementwise.js';
import { reshape } from './shape.js';

export interface ConvTranspose2dOptions {
  /** default 1 */
  stride?: number;
  /** implicit zero padding removed from each side of the output, default 0 */
  padding?: number;
  /** extra rows and columns on the bottom and right of the output (< stride), default 0 */
  outputPadding?: number;
}

export const CONV_TRANSPOSE_OPTIONS = {
  stride: num({ int: true, min: 1 }),
  padding: num({ int: true, min: 0 }),
  outputPadding: num({ int: true, min: 0 }),
};

/**
 * x [N, Cin, H, W] with weight [Cin, Cout, kh, kw] (PyTorch's layout for transposed
 * convolutions) plus bias [Cout] gives [N, Cout, Ho, Wo], Ho = (H - 1)·stride - 2·padding + kh
 * + outputPadding (F.conv_transpose2d with groups 1, dilation 1).
 */
export function convTranspose2d(x: Tensor, w: Tensor, bias?: Tensor | null, opts: ConvTranspose2dOptions = {}): Tensor {
  const op = 'convTranspose2d';
  const o = checkOptions(op, opts, CONV_TRANSPOSE_OPTIONS);
  const stride = o.stride ?? 1;
  const padding = o.padding ?? 0;
  const outputPadding = o.outputPadding ?? 0;
  const what = () =>
    `x ${shapeStr(x.shape)}, w ${shapeStr(w.shape)}${bias ? `, bias ${shapeStr(bias.shape)}` : ''}, stride ${stride}, padding ${padding}, outputPadding ${outputPadding}`;
  if (x.rank !== 4 || w.rank !== 4)
    throw new Error(`${op}: x and w must have rank 4 (NCHW, [in, out, kh, kw]): ${what()}`);
  if (x.shape[1] !== w.shape[0])
    throw new Error(
      `${op}: the input has ${x.shape[1]} channels but the weight [in, out, kh, kw] expects ${w.shape[0]}: ${what()}`,
    );
  if (outputPadding >= stride) throw new Error(`${op}: outputPadding must be smaller than stride: ${what()}`);
  const [N, , H, W] = x.shape;
  const [, Cout, kh, kw] = w.shape;
  const Ho = (H - 1) * stride - 2 * padding + kh + outputPadding;
  const Wo = (W - 1) * stride - 2 * padding + kw + outputPadding;
  if (Ho < 1 || Wo < 1) throw new Error(`${op}: the output would be ${Ho}x${Wo}: ${what()}`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== Cout))
    throw new Error(`${op}: bias must have shape [${Cout}]: ${what()}`);
  const y = conv2dInputGrad(x, w, [N, Cout, Ho, Wo], { stride, padding });
  return bias ? add(y, reshape(bias, [1, Cout, 1, 1])) : y;
}
