// The metrics of ALR's difference quotient d_Y(f(x), f(x')) / d_X(x, x'). Each returns one
// value per sample, [B]. The paper's d_X is the L2 distance over all non-batch axes (p = 2).
import {
  abs,
  exp,
  logSoftmax,
  maximum,
  mean,
  mul,
  noGrad,
  perSampleNorm,
  shapeStr,
  square,
  sub,
  sum,
  type Tensor,
} from '../engine/web.js';

/**
 * d_Y, the output metric:
 * - 'abs': |y - y'| (L1 over any non-batch axes). WGAN-ALP: NOT squared, so the search
 *   gradient is sign(y - y') · ∇D.
 * - 'sqL2': ‖y - y'‖² over non-batch axes.
 * - 'kl': KL(softmax(y) ‖ softmax(y')) over the last axis, from logits (the VAT baseline, §6).
 * - 'msd': mean over classes of (y - y')², from logits (the paper's best semi-supervised d_Y).
 */
export type OutputDistance = 'abs' | 'sqL2' | 'kl' | 'msd';

export const OUTPUT_DISTANCES: readonly OutputDistance[] = ['abs', 'sqL2', 'kl', 'msd'];

/** The non-batch axes of a tensor (empty for [B]). */
function sampleAxes(t: Tensor): number[] {
  return [...Array(t.rank).keys()].slice(1);
}

/** Sum (or mean) over the non-batch axes; a [B] tensor is already per sample. */
function perSample(t: Tensor, reduce: 'sum' | 'mean'): Tensor {
  const axes = sampleAxes(t);
  if (axes.length === 0) return t;
  return reduce === 'sum' ? sum(t, axes) : mean(t, axes);
}

/** d_Y(y, y') per sample, [B]. Differentiable in both arguments. */
export function outputDistance(kind: OutputDistance, y: Tensor, yHat: Tensor): Tensor {
  if (y.shape.join() !== yHat.shape.join()) {
    throw new Error(`outputDistance: f(x) ${shapeStr(y.shape)} and f(x') ${shapeStr(yHat.shape)} differ in shape`);
  }
  switch (kind) {
    case 'abs':
      return perSample(abs(sub(y, yHat)), 'sum');
    case 'sqL2':
      return perSample(square(sub(y, yHat)), 'sum');
    case 'msd':
      return perSample(square(sub(y, yHat)), 'mean');
    case 'kl': {
      if (y.rank !== 2) throw new Error(`outputDistance: 'kl' needs [B, classes] logits, got ${shapeStr(y.shape)}`);
      const logP = logSoftmax(y, -1);
      const logQ = logSoftmax(yHat, -1);
      return sum(mul(exp(logP), sub(logP, logQ)), -1);
    }
    default:
      throw new Error(
        `outputDistance: unknown d_Y '${kind as string}'; expected one of ${OUTPUT_DISTANCES.join(', ')}`,
      );
  }
}

/** The float32-safe floor of every norm that divides (the WGAN code's 1e-10; alr/README.md, Division guards). */
export const NORM_FLOOR = 1e-10;

/**
 * d_X(x, x̂) = max(‖x - x̂‖₂, 1e-10) per sample, a constant (no gradient: x and x̂ are fixed
 * points, and ‖0‖ would give a NaN gradient).
 */
export function inputDistance(x: Tensor, xHat: Tensor): Tensor {
  return noGrad(() => maximum(perSampleNorm(sub(x, xHat)), NORM_FLOOR));
}
