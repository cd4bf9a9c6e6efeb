// The explicit Lipschitz penalty of ALR: at the adversarial point x̂ = x + r_adv found by the
// search, penalise the difference quotient where it exceeds K (paper eqs. 17, 19, 20; §6).
//
//   ratio_i = d_Y(f(x)_i, f(x̂)_i) / d_X(x_i, x̂_i)        d_X: actual L2 distance after clipping
//   alp_i   = max(ratio_i - K, 0)        (|ratio_i - K| for the two-sided form)
//   L_alp   = λ · mean_i(alp_i²)         (eq. 17, default)
//
// r_adv, x̂ and d_X are constants; the θ-gradient is an ordinary first-order backprop through
// the two forward passes f(x) and f(x̂) (spec §2): no second-order graph is recorded.
import {
  abs, add, detach, div, maximum, mean, mul, noGrad, positive, shapeStr, sqrt, square, sub, sum, variance,
  type Tensor,
} from '../engine/web.js';
import { auxiliaryPass, criticOutput, type Critic } from './critic.js';
import { inputDistance, outputDistance } from './distance.js';
import { adversarialDirection, checkClip, checkSearchOptions, clipTo, SEARCH_DEFAULTS, type SearchOptions, type SearchResult } from './search.js';

/**
 * How violations become a loss (per sample, then averaged over the batch):
 * - 'one-sided'   eq. 17, default: max(ratio - K, 0)²
 * - 'two-sided'   eq. 19: (ratio - K)²; pulls the quotient up to K as well
 * - 'abs+squared' eq. 20 (Progressive GAN code): alp + alp², alp = max(ratio - K, 0)
 * - 'linear'      semi-supervised / VAT form (§6): max(ratio - K, 0) with K = 0 and f(x) fixed
 */
export type PenaltyForm = 'one-sided' | 'two-sided' | 'abs+squared' | 'linear';
export const PENALTY_FORMS: readonly PenaltyForm[] = ['one-sided', 'two-sided', 'abs+squared', 'linear'];

export interface PenaltyOptions extends SearchOptions {
  /** λ, the penalty weight (default 1; the WGAN wrapper uses the paper's 100) */
  lambda?: number;
  /** K, the target Lipschitz constant (default 1; 0 for the 'linear' form) */
  K?: number;
  form?: PenaltyForm;
  /**
   * Clip x̂ = x + r_adv to [lo, hi] (WGAN on images: [-1, 1]). The search probes are clipped the
   * same way unless `searchClip` says otherwise (the semi-supervised code clips the search only).
   */
  clip?: readonly [number, number] | null;
  /** hold f(x) constant in the loss (default: true for 'linear', false otherwise: the WGAN form keeps it) */
  detachClean?: boolean;
  /** f(x) computed by the caller, with its graph (e.g. reused from the GAN loss's forward pass) */
  clean?: Tensor;
}

/** Scalars for logging, left on the GPU (read them through a Monitor). */
export interface AlpMonitors {
  /** #{i : ratio_i > K}, between 0 and the batch size, whatever the penalty form */
  violations: Tensor;
  ratioMean: Tensor;
  ratioStd: Tensor;
  alpMean: Tensor;
  alpStd: Tensor;
  /** λ · penalty, detached */
  loss: Tensor;
}

export interface AlpResult extends SearchResult {
  /** λ · mean(term): add it to the critic's loss */
  loss: Tensor;
  /** f(x) as it enters the loss (carries the θ-graph unless detached) */
  clean: Tensor;
  /** x̂ = clip(x + r_adv) */
  xHat: Tensor;
  /** d_X per sample, [B] (constant) */
  dX: Tensor;
  /** the difference quotient per sample, [B] (detached) */
  ratio: Tensor;
  /** the per-sample violation, [B] (detached) */
  alp: Tensor;
  monitors: AlpMonitors;
}

export const PENALTY_DEFAULTS = { lambda: 1, form: 'one-sided' as PenaltyForm };

export function checkPenaltyOptions(caller: string, o: PenaltyOptions): void {
  const lambda = o.lambda ?? PENALTY_DEFAULTS.lambda;
  if (!(Number.isFinite(lambda) && lambda >= 0)) throw new Error(`${caller}: lambda must be a finite number >= 0, got ${lambda}`);
  if (o.K !== undefined && !(Number.isFinite(o.K) && o.K >= 0)) throw new Error(`${caller}: K must be a finite number >= 0, got ${o.K}`);
  if (o.form !== undefined && !PENALTY_FORMS.includes(o.form)) {
    throw new Error(`${caller}: unknown form '${o.form}'; expected one of ${PENALTY_FORMS.join(', ')}`);
  }
  checkClip(caller, 'clip', o.clip);
}

/** The per-sample violation and the per-sample loss term of a penalty form. */
export function violation(form: PenaltyForm, ratio: Tensor, K: number): { alp: Tensor; term: Tensor } {
  switch (form) {
    case 'one-sided': {
      const alp = maximum(sub(ratio, K), 0);
      return { alp, term: square(alp) };
    }
    case 'two-sided': {
      const alp = abs(sub(ratio, K));
      return { alp, term: square(alp) };
    }
    case 'abs+squared': {
      const alp = maximum(sub(ratio, K), 0);
      return { alp, term: add(alp, square(alp)) };
    }
    case 'linear': {
      const alp = maximum(sub(ratio, K), 0);
      return { alp, term: alp };
    }
  }
}

/** Population standard deviation of a [B] tensor. */
function std(t: Tensor): Tensor {
  return sqrt(variance(t));
}

/**
 * The adversarial Lipschitz penalty at x (for WGAN: x = concat(real, fake)). The search, f(x)
 * and f(x̂) are auxiliary passes: BN critics use batch statistics without updating running ones.
 */
export function adversarialLipschitzPenalty(critic: Critic, x: Tensor, opts: PenaltyOptions = {}): AlpResult {
  const caller = 'adversarialLipschitzPenalty';
  checkPenaltyOptions(caller, opts);
  checkSearchOptions(caller, x, opts); // before anything is allocated
  const form = opts.form ?? PENALTY_DEFAULTS.form;
  const lambda = opts.lambda ?? PENALTY_DEFAULTS.lambda;
  const K = opts.K ?? (form === 'linear' ? 0 : 1);
  const detachClean = opts.detachClean ?? form === 'linear';
  const dY = opts.dY ?? SEARCH_DEFAULTS.dY;
  const searchClip = opts.searchClip === undefined ? opts.clip : opts.searchClip;

  const x0 = detach(x);
  const clean = opts.clean ?? auxiliaryPass(critic, () => criticOutput(critic, x0, caller));
  if (clean.shape[0] !== x.shape[0]) {
    throw new Error(`${caller}: clean f(x) has shape ${shapeStr(clean.shape)}, expected ${x.shape[0]} samples like x ${shapeStr(x.shape)}`);
  }
  const search = adversarialDirection(critic, x0, { ...opts, searchClip, clean });

  const xHat = noGrad(() => clipTo(add(x0, search.rAdv), opts.clip));
  const dX = inputDistance(x0, xHat);
  const yHat = auxiliaryPass(critic, () => criticOutput(critic, xHat, caller));
  const ratio = div(outputDistance(dY, detachClean ? detach(clean) : clean, yHat), dX);
  const { alp, term } = violation(form, ratio, K);
  const loss = mul(mean(term), lambda);

  const monitors = noGrad(() => {
    const a = detach(alp);
    const q = detach(ratio);
    return {
      // a violation is a quotient above K: the two-sided form's alp = |ratio - K| is > 0 for
      // almost every sample, and counting it would feed a λ controller a constant 100%
      violations: sum(positive(sub(q, K))),
      ratioMean: mean(q),
      ratioStd: std(q),
      alpMean: mean(a),
      alpStd: std(a),
      loss: detach(loss),
    };
  });
  return { ...search, loss, clean, xHat, dX, ratio: detach(ratio), alp: detach(alp), monitors };
}
