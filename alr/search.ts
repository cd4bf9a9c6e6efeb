// The adversarial-direction search, paper eq. 16: k steps of power iteration that turn a random
// direction into one along which the critic changes fastest, using input gradients only.
//
//   r_0 ~ U[-0.5, 0.5], r_0 <- r_0 / ‖r_0‖
//   repeat k times:  x' = clip(x + ξ r)
//                    r  <- ∇_r mean_i d_Y(f(x)_i, f(x')_i) / ‖·‖     (f(x) held constant)
//   r_adv = ε r_k,  ε ~ P_ε per sample
import {
  add,
  clamp,
  detach,
  exp,
  full,
  grad,
  mean,
  mul,
  noGrad,
  normalizePerSample,
  randUniform,
  requireGrad,
  perSampleNorm,
  reshape,
  tidy,
  Tensor,
} from '../engine/web.js';
import { auxiliaryPass, criticOutput, tracedPass, type Critic, type LayerStatistics } from './critic.js';
import { NORM_FLOOR, outputDistance } from './distance.js';
import {
  checkSearchKeys,
  resolveSearch,
  type EpsDistribution,
  type ResolvedSearch,
  type SearchOptions,
} from './options.js';
import { instance } from '../engine/options.js';

export interface SearchResult {
  /** r_k: unit length per sample (zero where the search gradient vanished) */
  direction: Tensor;
  /** ε per sample, [B] */
  eps: Tensor;
  /** r_adv = ε · r_k, shape of x: a constant for the parameter update */
  rAdv: Tensor;
  /** the last search gradient ∇_r d before normalisation (null for k = 0): for study and tests */
  searchGrad: Tensor | null;
  /** with `trace`: every power-iteration step, in order */
  trace?: SearchStep[];
}

/** One power-iteration step as `trace` records it (all detached; per-sample values are [B]). */
export interface SearchStep {
  /** r entering the step (unit per sample) */
  rIn: Tensor;
  /** ξ·r */
  step: Tensor;
  /** the probe x + ξ·r (after searchClip) */
  probe: Tensor;
  /** f(x + ξ·r) */
  yProbe: Tensor;
  /** d_Y(f(x), f(x + ξ·r)) per sample */
  dY: Tensor;
  /** ∇_r mean d_Y, shape of x */
  grad: Tensor;
  /** ‖∇_r‖ per sample */
  gradNorm: Tensor;
  /** r leaving the step: the gradient normalised per sample */
  rOut: Tensor;
  /** batch-norm critics: each layer's batch statistics in the probe's forward pass */
  batchStats?: LayerStatistics[];
}

/** ε per sample from P_ε, [B]. */
export function sampleEps(dist: EpsDistribution, batch: number): Tensor {
  switch (dist.kind) {
    case 'uniform':
      return randUniform([batch], dist.min, dist.max);
    case 'logUniform':
      return noGrad(() => exp(randUniform([batch], Math.log(dist.min), Math.log(dist.max))));
    case 'fixed':
      return full([batch], dist.value);
  }
}

/** [B] -> [B, 1, ..., 1], to scale samples of shape `like`. */
export function perSampleColumn(v: Tensor, like: Tensor): Tensor {
  return reshape(v, [like.shape[0], ...Array(like.rank - 1).fill(1)]);
}

export function clipTo(x: Tensor, c: readonly [number, number] | null | undefined): Tensor {
  return c ? clamp(x, c[0], c[1]) : x;
}

/**
 * Finds r_adv (paper eq. 16). `clean` is f(x) if the caller has it (its gradient is not used:
 * the search holds f(x) constant); otherwise it is computed here. Only gradients with respect to
 * r are taken (first order, no parameter graph is kept).
 */
export function adversarialDirection(
  critic: Critic,
  x: Tensor,
  opts: SearchOptions & { clean?: Tensor; trace: true },
): SearchResult & { trace: SearchStep[] };
export function adversarialDirection(
  critic: Critic,
  x: Tensor,
  opts?: SearchOptions & { clean?: Tensor },
): SearchResult;
export function adversarialDirection(
  critic: Critic,
  x: Tensor,
  opts: SearchOptions & { clean?: Tensor } = {},
): SearchResult {
  checkSearchKeys('adversarialDirection', opts, { clean: instance(Tensor) });
  return searchDirection(critic, x, resolveSearch('adversarialDirection', x, opts), opts?.clean);
}

/** The search with validated options (the penalty's entry point: options are checked once, there). */
export function searchDirection(critic: Critic, x: Tensor, o: ResolvedSearch, clean?: Tensor): SearchResult {
  return tidy(() => {
    const x0 = detach(x);
    const y = clean
      ? detach(clean)
      : noGrad(() => auxiliaryPass(critic, () => criticOutput(critic, x0, 'adversarialDirection')));
    let r = noGrad(() => normalizePerSample(o.r0 ?? randUniform(x.shape, -0.5, 0.5), NORM_FLOOR));
    let searchGrad: Tensor | null = null;
    const trace: SearchStep[] | undefined = o.trace ? [] : undefined;
    for (let i = 0; i < o.k; i++) {
      const rIn = r;
      const result = tidy(() => {
        const rLeaf = requireGrad(detach(rIn));
        const probe = clipTo(add(x0, mul(rLeaf, o.xi)), o.searchClip);
        const sink: LayerStatistics[][] | undefined = trace ? [] : undefined;
        const yProbe = tracedPass(
          critic,
          () => auxiliaryPass(critic, () => criticOutput(critic, probe, 'adversarialDirection')),
          sink,
        );
        const dPer = outputDistance(o.dY, y, yProbe);
        const [g] = grad(mean(dPer), [rLeaf]);
        // a zero gradient (dead ReLUs, all clipped) gives r = 0: x̂ = x, no penalty, no NaN
        const rOut = noGrad(() => normalizePerSample(g, NORM_FLOOR));
        if (!trace) return { rOut, g };
        const step: SearchStep = noGrad(() => ({
          rIn,
          step: mul(rIn, o.xi),
          probe: detach(probe),
          yProbe: detach(yProbe),
          dY: detach(dPer),
          grad: g,
          gradNorm: perSampleNorm(g),
          rOut,
          ...(sink?.[0] ? { batchStats: sink[0] } : {}),
        }));
        return { rOut, g, step };
      });
      r = result.rOut;
      searchGrad = result.g;
      if (result.step) trace!.push(result.step);
    }
    const e = o.epsValues ? detach(o.epsValues) : sampleEps(o.eps, x.shape[0]);
    const rAdv = noGrad(() => mul(r, perSampleColumn(e, r)));
    return { direction: r, eps: e, rAdv, searchGrad, ...(trace ? { trace } : {}) };
  });
}
