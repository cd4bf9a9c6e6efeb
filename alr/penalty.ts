// The explicit Lipschitz penalty of ALR: at the adversarial point x̂ = x + r_adv found by the
// search, penalise the difference quotient where it exceeds K (paper eqs. 17, 19, 20; §6).
//
//   ratio_i = d_Y(f(x)_i, f(x̂)_i) / d_X(x_i, x̂_i)        d_X: actual L2 distance after clipping
//   alp_i   = max(ratio_i - K, 0)        (|ratio_i - K| for the two-sided form)
//   L_alp   = λ · mean_i(alp_i²)         (eq. 17, default)
//
// r_adv, x̂ and d_X are constants; the θ-gradient is an ordinary first-order backprop through
// the two forward passes f(x) and f(x̂) (alr/README.md, No double backprop): no second-order graph is recorded.
import {
  abs,
  add,
  detach,
  div,
  maximum,
  mean,
  mul,
  noGrad,
  perSampleNorm,
  positiveMask,
  shapeStr,
  sqrt,
  square,
  sub,
  sum,
  variance,
  type Tensor,
} from '../engine/web.js';
import { auxiliaryPass, criticOutput, tracedPass, type Critic, type LayerStatistics } from './critic.js';
import { inputDistance, outputDistance } from './distance.js';
import {
  checkPenaltyKeys,
  resolvePenalty,
  type PenaltyForm,
  type PenaltyOptions,
  type ResolvedPenalty,
} from './options.js';
import { clipTo, searchDirection, type SearchResult } from './search.js';

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

export interface AlpResult extends Omit<SearchResult, 'trace'> {
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
  /** with `trace`: the search's steps and what the penalty made of them */
  trace?: PenaltyTrace;
}

/** The penalty's intermediates (detached) after the search: see SearchOptions.trace. */
export interface PenaltyTrace {
  steps: NonNullable<SearchResult['trace']>;
  rAdv: Tensor;
  /** ‖r_adv‖ per sample (ε, or less where the search found no direction) */
  rAdvNorm: Tensor;
  xHat: Tensor;
  /** f(x) and f(x̂) */
  yClean: Tensor;
  yHat: Tensor;
  dX: Tensor;
  ratio: Tensor;
  /** the per-sample violation max(ratio - K, 0) (|ratio - K| two-sided) */
  alp: Tensor;
  /** the per-sample loss term before λ and the mean */
  term: Tensor;
  /** ratio > K, as 1 / 0 per sample */
  violating: Tensor;
  /** batch-norm critics: each layer's batch statistics in the f(x) pass (absent when f(x) was given) and the f(x̂) pass */
  batchStats?: { clean?: LayerStatistics[]; hat: LayerStatistics[] };
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
export function adversarialLipschitzPenalty(
  critic: Critic,
  x: Tensor,
  opts: PenaltyOptions & { trace: true },
): AlpResult & { trace: PenaltyTrace };
export function adversarialLipschitzPenalty(critic: Critic, x: Tensor, opts?: PenaltyOptions): AlpResult;
export function adversarialLipschitzPenalty(critic: Critic, x: Tensor, opts: PenaltyOptions = {}): AlpResult {
  const caller = 'adversarialLipschitzPenalty';
  checkPenaltyKeys(caller, opts);
  return penaltyAt(caller, critic, x, resolvePenalty(caller, x, opts)); // validated before anything is allocated
}

/** The penalty with validated options (the WGAN losses' entry point). */
export function penaltyAt(caller: string, critic: Critic, x: Tensor, o: ResolvedPenalty): AlpResult {
  const x0 = detach(x);
  const cleanStats: LayerStatistics[][] | undefined = o.trace ? [] : undefined;
  const hatStats: LayerStatistics[][] | undefined = o.trace ? [] : undefined;
  const clean =
    o.clean ?? tracedPass(critic, () => auxiliaryPass(critic, () => criticOutput(critic, x0, caller)), cleanStats);
  if (clean.shape[0] !== x.shape[0]) {
    throw new Error(
      `${caller}: clean f(x) has shape ${shapeStr(clean.shape)}, expected ${x.shape[0]} samples like x ${shapeStr(x.shape)}`,
    );
  }
  const search = searchDirection(critic, x0, o, clean);

  const xHat = noGrad(() => clipTo(add(x0, search.rAdv), o.clip));
  const dX = inputDistance(x0, xHat);
  const yHat = tracedPass(critic, () => auxiliaryPass(critic, () => criticOutput(critic, xHat, caller)), hatStats);
  const ratio = div(outputDistance(o.dY, o.detachClean ? detach(clean) : clean, yHat), dX);
  const { alp, term } = violation(o.form, ratio, o.K);
  const loss = mul(mean(term), o.lambda);

  const monitors = noGrad(() => {
    const a = detach(alp);
    const q = detach(ratio);
    return {
      // a violation is a quotient above K: the two-sided form's alp = |ratio - K| is > 0 for
      // almost every sample, and counting it would feed a λ controller a constant 100%
      violations: sum(positiveMask(sub(q, o.K))),
      ratioMean: mean(q),
      ratioStd: std(q),
      alpMean: mean(a),
      alpStd: std(a),
      loss: detach(loss),
    };
  });
  const { trace: steps, ...found } = search;
  const result: AlpResult = { ...found, loss, clean, xHat, dX, ratio: detach(ratio), alp: detach(alp), monitors };
  if (steps) {
    result.trace = noGrad(() => ({
      steps,
      rAdv: search.rAdv,
      rAdvNorm: perSampleNorm(search.rAdv),
      xHat,
      yClean: detach(clean),
      yHat: detach(yHat),
      dX,
      ratio: result.ratio,
      alp: result.alp,
      term: detach(term),
      violating: positiveMask(sub(result.ratio, o.K)),
      ...(hatStats?.[0] ? { batchStats: { clean: cleanStats?.[0], hat: hatStats[0] } } : {}),
    }));
  }
  return result;
}
