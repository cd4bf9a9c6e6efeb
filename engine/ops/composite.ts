// Ops composed from the primitives (reductions, elementwise, shape): their gradients come from
// the primitives' rules, so each is only its forward. One layer above reduce.ts / elementwise.ts.
// Each runs in composite(), which releases its intermediates with (or before) its result.
import { noGrad } from '../autograd.js';
import { capturing } from '../capture.js';
import { composite as releasing, numel, type Tensor } from '../tensor.js';
import { normAxes, normAxis } from '../shape_util.js';
import { add, div, exp, log, maximum, mul, sqrt, sub } from './elementwise.js';
import { reshape } from './shape.js';
import { max, outShape, sum } from './reduce.js';

/**
 * Runs a composite op so that its intermediates are released with (or before) its result. While a
 * step is captured they stay in the step's scope as before: releasing them early would let later
 * ops reuse their buffers mid-step, which keeps the fusion pass from merging across them.
 */
const composite = (fn: () => Tensor): Tensor => (capturing() ? fn() : releasing(fn));

/** Mean over `axes` (default: all). */
export function mean(x: Tensor, axes?: number | number[], keepdim = false): Tensor {
  const ax = normAxes('mean', axes, x.rank);
  const count = numel(ax.map((a) => x.shape[a]));
  return composite(() => mul(sum(x, ax, keepdim), 1 / count));
}

/** Variance over `axes` (biased: divides by N, as batch norm's batch statistics). */
export function variance(x: Tensor, axes?: number | number[], keepdim = false): Tensor {
  const ax = normAxes('variance', axes, x.rank);
  return composite(() => {
    const d = sub(x, mean(x, ax, true));
    return mean(mul(d, d), ax, keepdim);
  });
}

export function logsumexp(x: Tensor, axis = -1, keepdim = false): Tensor {
  const a = normAxis('logsumexp', axis, x.rank);
  return composite(() => {
    const m = noGrad(() => max(x, a, true));
    const y = add(log(sum(exp(sub(x, m)), a, true)), m);
    return keepdim ? y : reshape(y, outShape(x.shape, [a], false));
  });
}

export function softmax(x: Tensor, axis = -1): Tensor {
  const a = normAxis('softmax', axis, x.rank);
  return composite(() => {
    const m = noGrad(() => max(x, a, true));
    const e = exp(sub(x, m));
    return div(e, sum(e, a, true));
  });
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return composite(() => sub(x, logsumexp(x, axis, true)));
}

/** L2 norm of each sample over all non-batch axes: shape [B]. */
export function perSampleNorm(x: Tensor): Tensor {
  const axes = [...Array(x.rank).keys()].slice(1);
  return composite(() => sqrt(sum(mul(x, x), axes)));
}

/** x_i / max(‖x_i‖, eps) per sample, the norm taken over all non-batch axes. */
export function normalizePerSample(x: Tensor, eps = 1e-12): Tensor {
  return composite(() => {
    const n = maximum(perSampleNorm(x), eps);
    return div(x, reshape(n, [x.shape[0], ...Array(x.rank - 1).fill(1)]));
  });
}
