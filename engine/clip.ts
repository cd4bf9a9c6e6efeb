// Gradient clipping by the total norm (torch.nn.utils.clip_grad_norm_): the norm of all
// gradients together, and every gradient scaled in place by min(1, maxNorm / (norm + 1e-6)).
// The scale is computed on the GPU, so nothing is read back; the norm comes back as a tensor.
import { noGrad } from './autograd.js';
import { shapeStr, Tensor, tidy } from './tensor.js';
import { checkNumber, checkOptions, inRange, type OptionSpec } from './options.js';
import { assign, zeros } from './ops/create.js';
import { abs, add, minimum, mul, pow, rdiv, square } from './ops/elementwise.js';
import { max, sum } from './ops/reduce.js';
import { stack } from './ops/shape.js';

export interface ClipGradNormOptions {
  /** the norm's order p: 2 (default), 1, any p > 0, or Infinity / 'inf' (the largest |g|) */
  norm?: number | 'inf';
}

const CLIP_OPTIONS: OptionSpec = {
  norm: (v, key, where) => {
    if (v === Infinity || v === 'inf' || inRange(v, { gt: 0 })) return;
    throw new Error(
      `${where}: option '${key}' must be a number > 0, Infinity or 'inf', got ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`,
    );
  },
};

/**
 * Scales the given gradient tensors in place so that their total p-norm is at most maxNorm,
 * and returns that norm (before clipping) as a scalar tensor: the form for the gradients that
 * `E.grad` returns. With norm ≤ maxNorm every gradient is multiplied by exactly 1.
 */
export function clipGrads(grads: readonly Tensor[], maxNorm: number, opts: ClipGradNormOptions = {}): Tensor {
  const op = 'clipGrads';
  const o = checkOptions(op, opts, CLIP_OPTIONS);
  checkNumber(op, 'maxNorm', maxNorm, { min: 0 });
  if (!Array.isArray(grads)) throw new Error(`${op}: grads must be an array of tensors`);
  grads.forEach((g, i) => {
    if (!(g instanceof Tensor)) throw new Error(`${op}: grads[${i}] is not a tensor`);
    if (g.dtype !== 'f32') throw new Error(`${op}: grads[${i}] ${shapeStr(g.shape)} is ${g.dtype}, expected f32`);
  });
  const p = o.norm === 'inf' ? Infinity : (o.norm ?? 2);
  const live = grads.filter((g) => g.size > 0);
  if (!live.length) return zeros([]);
  return noGrad(() =>
    tidy(() => {
      const parts = live.map((g) =>
        p === Infinity ? max(abs(g)) : sum(p === 2 ? square(g) : p === 1 ? abs(g) : pow(abs(g), p)),
      );
      const all = parts.length === 1 ? parts[0] : stack(parts);
      const total = p === Infinity ? max(all) : p === 1 ? sum(all) : pow(sum(all), 1 / p);
      const coef = minimum(rdiv(add(total, 1e-6), maxNorm), 1);
      for (const g of live) assign(g, mul(g, coef));
      return total;
    }),
  );
}

/**
 * torch.nn.utils.clip_grad_norm_(params, maxNorm, norm_type): clips each parameter's `.grad`
 * (parameters without one are skipped) and returns the total norm as a scalar tensor.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number, opts: ClipGradNormOptions = {}): Tensor {
  const op = 'clipGradNorm';
  if (params == null || typeof (params as Iterable<Tensor>)[Symbol.iterator] !== 'function')
    throw new Error(`${op}: params must be an array of tensors`);
  const list = [...params];
  list.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new Error(`${op}: params[${i}] is not a tensor`);
  });
  checkOptions(op, opts, CLIP_OPTIONS);
  checkNumber(op, 'maxNorm', maxNorm, { min: 0 });
  return clipGrads(
    list.flatMap((t) => (t.grad ? [t.grad] : [])),
    maxNorm,
    opts,
  );
}
