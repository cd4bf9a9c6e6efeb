// The adversarial-direction search, paper eq. 16: k steps of power iteration that turn a random
// direction into one along which the critic changes fastest, using input gradients only.
//
//   r_0 ~ U[-0.5, 0.5], r_0 <- r_0 / ‖r_0‖
//   repeat k times:  x' = clip(x + ξ r)
//                    r  <- ∇_r mean_i d_Y(f(x)_i, f(x')_i) / ‖·‖     (f(x) held constant)
//   r_adv = ε r_k,  ε ~ P_ε per sample
import {
  add, clamp, detach, exp, full, grad, mean, mul, noGrad, normalizePerSample, randUniform, requireGrad,
  reshape, shapeStr, tidy, type Tensor,
} from '../engine/web.js';
import { auxiliaryPass, criticOutput, type Critic } from './critic.js';
import { NORM_FLOOR, OUTPUT_DISTANCES, outputDistance, type OutputDistance } from './distance.js';

/** P_ε, the distribution of the perturbation size, drawn per sample. */
export type EpsDistribution =
  | { kind: 'uniform'; min: number; max: number } // the paper's choice (spec §8.5: linear, not log)
  | { kind: 'logUniform'; min: number; max: number }
  | { kind: 'fixed'; value: number }; // VAT's single radius

export const uniformEps = (min: number, max: number): EpsDistribution => ({ kind: 'uniform', min, max });

export interface SearchOptions {
  /** ξ, the probe distance of each power-iteration step (default 10: absolute, not a finite-difference ε) */
  xi?: number;
  /** k, the number of power-iteration steps; 0 gives a random direction (default 1) */
  k?: number;
  /** d_Y, the output metric (default 'abs') */
  dY?: OutputDistance;
  /** P_ε (default U[0.1, 10]) */
  eps?: EpsDistribution;
  /** clip the probes x + ξr to [lo, hi] (default: no clipping) */
  searchClip?: readonly [number, number] | null;
  /** the starting direction r_0 (shape of x, normalised here); default U[-0.5, 0.5] */
  r0?: Tensor;
  /** ε per sample, [B]; default drawn from P_ε */
  epsValues?: Tensor;
}

export interface SearchResult {
  /** r_k: unit length per sample (zero where the search gradient vanished) */
  direction: Tensor;
  /** ε per sample, [B] */
  eps: Tensor;
  /** r_adv = ε · r_k, shape of x: a constant for the parameter update */
  rAdv: Tensor;
  /** the last search gradient ∇_r d before normalisation (null for k = 0): for study and tests */
  searchGrad: Tensor | null;
}

export const SEARCH_DEFAULTS = { xi: 10, k: 1, dY: 'abs' as OutputDistance, eps: uniformEps(0.1, 10) };

/** Throws a clear error for an unusable search setting; `caller` prefixes the message. */
export function checkSearchOptions(caller: string, x: Pick<Tensor, 'shape' | 'rank'>, o: SearchOptions): void {
  const { xi, k, dY, eps } = { ...SEARCH_DEFAULTS, ...o };
  if (!Number.isInteger(k) || k < 0) throw new Error(`${caller}: k (power iterations) must be an integer >= 0, got ${k}`);
  if (!(Number.isFinite(xi) && xi > 0)) throw new Error(`${caller}: xi must be a finite number > 0, got ${xi}`);
  if (!OUTPUT_DISTANCES.includes(dY)) throw new Error(`${caller}: unknown dY '${dY}'; expected one of ${OUTPUT_DISTANCES.join(', ')}`);
  checkEps(caller, eps);
  checkClip(caller, 'searchClip', o.searchClip);
  if (x.rank < 1 || x.shape[0] === 0) throw new Error(`${caller}: x must have a non-empty batch axis, got ${shapeStr(x.shape)}`);
  if (o.r0 && o.r0.shape.join() !== x.shape.join()) {
    throw new Error(`${caller}: r0 has shape ${shapeStr(o.r0.shape)}, x has ${shapeStr(x.shape)}`);
  }
  if (o.epsValues && o.epsValues.shape.join() !== String(x.shape[0])) {
    throw new Error(`${caller}: epsValues must have shape [${x.shape[0]}] (one per sample), got ${shapeStr(o.epsValues.shape)}`);
  }
}

function checkEps(caller: string, eps: EpsDistribution): void {
  if (eps.kind === 'fixed') {
    if (!(Number.isFinite(eps.value) && eps.value > 0)) throw new Error(`${caller}: eps.value must be > 0, got ${eps.value}`);
  } else if (eps.kind === 'uniform' || eps.kind === 'logUniform') {
    if (!(eps.min > 0)) throw new Error(`${caller}: eps.min must be > 0, got ${eps.min}`);
    if (!(Number.isFinite(eps.max) && eps.min <= eps.max)) {
      throw new Error(`${caller}: eps range [${eps.min}, ${eps.max}] is empty (eps.min must be <= eps.max)`);
    }
  } else {
    throw new Error(`${caller}: unknown eps kind '${(eps as { kind: string }).kind}'; expected uniform, logUniform or fixed`);
  }
}

export function checkClip(caller: string, name: string, c: readonly [number, number] | null | undefined): void {
  if (c && !(c.length === 2 && c[0] < c[1])) throw new Error(`${caller}: ${name} must be [lo, hi] with lo < hi, got [${c.join(', ')}]`);
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
export function adversarialDirection(critic: Critic, x: Tensor, opts: SearchOptions & { clean?: Tensor } = {}): SearchResult {
  checkSearchOptions('adversarialDirection', x, opts);
  const { xi, k, dY, eps } = { ...SEARCH_DEFAULTS, ...opts };
  return tidy(() => {
    const x0 = detach(x);
    const y = opts.clean ? detach(opts.clean) : noGrad(() => auxiliaryPass(critic, () => criticOutput(critic, x0, 'adversarialDirection')));
    let r = noGrad(() => normalizePerSample(opts.r0 ?? randUniform(x.shape, -0.5, 0.5), NORM_FLOOR));
    let searchGrad: Tensor | null = null;
    for (let step = 0; step < k; step++) {
      [r, searchGrad] = tidy(() => {
        const rLeaf = requireGrad(detach(r));
        const probe = clipTo(add(x0, mul(rLeaf, xi)), opts.searchClip);
        const yProbe = auxiliaryPass(critic, () => criticOutput(critic, probe, 'adversarialDirection'));
        const d = mean(outputDistance(dY, y, yProbe));
        const [g] = grad(d, [rLeaf]);
        // a zero gradient (dead ReLUs, all clipped) gives r = 0: x̂ = x, no penalty, no NaN
        return [noGrad(() => normalizePerSample(g, NORM_FLOOR)), g];
      });
    }
    const e = opts.epsValues ? detach(opts.epsValues) : sampleEps(eps, x.shape[0]);
    const rAdv = noGrad(() => mul(r, perSampleColumn(e, r)));
    return { direction: r, eps: e, rAdv, searchGrad };
  });
}
