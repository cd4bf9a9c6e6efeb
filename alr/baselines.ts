// The regularisers ALR is compared with, and the GAN losses they combine with.
//
// WGAN-GP (eq. 7) and WGAN-LP (eq. 9) penalise ‖∇_x D(x̃)‖ at random interpolates x̃. Their
// θ-gradient differentiates that input gradient again (∂²D/∂θ∂x): the input gradient is taken
// with createGraph, so the backward pass is recorded and backpropagated a second time.
//
// Spectral normalisation (SN-GAN) is a weight reparametrisation, not a loss term: wrap
// each Linear / Conv2d of the critic with nn/spectral.ts `spectralNorm(layer)` (or build
// `toyCritic(512, { spectralNorm: true })`): one power iteration per training forward, persistent
// u, W/σ with the gradient through σ. Train it with `criticGanLoss('wgan', ...)` and no penalty;
// the search and penalty passes of ALP leave u untouched (they run inside withoutStatUpdates).
import {
  abs,
  add,
  assign,
  clamp,
  detach,
  exp,
  grad,
  log,
  max,
  maximum,
  mean,
  minimum,
  mul,
  neg,
  noGrad,
  randUniform,
  relu,
  requireGrad,
  rsub,
  shapeStr,
  sqrt,
  square,
  sub,
  sum,
  tidy,
  Tensor,
} from '../engine/web.js';
import { auxiliaryPass, checkBatches, criticScores, type Critic } from './critic.js';
import { NORM_FLOOR } from './distance.js';
import { perSampleColumn } from './search.js';
import { any, checkOptions, instance, oneOf, type OptionSpec } from '../engine/options.js';

/** x̃ = u·fake + (1 - u)·real with u ~ U[0, 1] per sample (or the given u, [B]). */
export function interpolates(real: Tensor, fake: Tensor, u?: Tensor): Tensor {
  checkBatches('interpolates', real, fake);
  if (u && u.shape.join() !== String(real.shape[0])) {
    throw new Error(`interpolates: u must have shape [${real.shape[0]}] (one per sample), got ${shapeStr(u.shape)}`);
  }
  return noGrad(() => {
    const uu = perSampleColumn(u ?? randUniform([real.shape[0]], 0, 1), real);
    return add(mul(detach(fake), uu), mul(detach(real), rsub(uu, 1)));
  });
}

/** The norm of ∇_x D taken per sample: 'l2' is the dual of the paper's p = 2. */
export type GradNorm = 'l1' | 'l2' | 'linf';
/**
 * g(z), the function of the gradient norm that is penalised:
 * 'squared' (z - K)² (GP), 'squaredHinge' max(0, z - K)² (LP), 'hinge' max(0, z - K).
 */
export type NormPenalty = 'squared' | 'squaredHinge' | 'hinge';

export interface GradientPenaltyOptions {
  /** λ (default 10: the GP paper's and ALR's flag default) */
  lambda?: number;
  /** K, the target norm (default 1) */
  K?: number;
  norm?: GradNorm;
  g?: NormPenalty;
  /** the interpolation weights, [B] (default U[0, 1]) */
  u?: Tensor;
}

// lambda and K are checked below with their own messages
const GP_SPEC: OptionSpec = { lambda: any, K: any, u: instance(Tensor) };
const GRAD_NORMS: readonly GradNorm[] = ['l1', 'l2', 'linf'];
const NORM_PENALTIES: readonly NormPenalty[] = ['squared', 'squaredHinge', 'hinge'];

export interface GradientPenaltyResult {
  /** λ · mean g(‖∇_x D(x̃)‖): add it to the critic's loss */
  loss: Tensor;
  /** ‖∇_x D(x̃)‖ per sample, [B] (detached) */
  gradNorm: Tensor;
  /** x̃ */
  points: Tensor;
}

/** Per-sample norm of a gradient over all non-batch axes, with a float32-safe floor for L2. */
export function gradientNorm(g: Tensor, norm: GradNorm): Tensor {
  const axes = [...Array(g.rank).keys()].slice(1);
  switch (norm) {
    case 'l1':
      return sum(abs(g), axes);
    case 'linf':
      return max(abs(g), axes);
    case 'l2':
      // sqrt(max(s, 1e-20)): at a zero gradient the floor's mask gives 0, not sqrt's NaN
      return sqrt(maximum(sum(square(g), axes), NORM_FLOOR * NORM_FLOOR));
  }
}

function normPenalty(g: NormPenalty, z: Tensor, K: number): Tensor {
  switch (g) {
    case 'squared':
      return square(sub(z, K));
    case 'squaredHinge':
      return square(maximum(sub(z, K), 0));
    case 'hinge':
      return maximum(sub(z, K), 0);
  }
}

/**
 * The gradient-norm penalty family ("gradient penalty from a maximum-margin perspective"):
 * λ · mean_i g(‖∇_x D(x̃_i)‖) for L1, L2 or L∞ norms. GP = (l2, squared), LP = (l2, squaredHinge).
 */
export function gradientNormPenalty(
  critic: Critic,
  real: Tensor,
  fake: Tensor,
  opts: GradientPenaltyOptions = {},
): GradientPenaltyResult {
  const caller = 'gradientNormPenalty';
  checkOptions(caller, opts, { ...GP_SPEC, norm: oneOf(GRAD_NORMS), g: oneOf(NORM_PENALTIES) });
  opts ??= {};
  const lambda = opts.lambda ?? 10;
  const K = opts.K ?? 1;
  if (!(typeof lambda === 'number' && Number.isFinite(lambda) && lambda >= 0))
    throw new Error(`${caller}: lambda must be a finite number >= 0, got ${lambda}`);
  if (!(typeof K === 'number' && Number.isFinite(K) && K >= 0))
    throw new Error(`${caller}: K must be a finite number >= 0, got ${K}`);
  const points = requireGrad(interpolates(real, fake, opts.u));
  const y = auxiliaryPass(critic, () => criticScores(critic, points, caller));
  // createGraph: the input gradient stays differentiable w.r.t. θ (double backprop)
  const [g] = grad(sum(y), [points], { createGraph: true });
  const z = gradientNorm(g, opts.norm ?? 'l2');
  const loss = mul(mean(normPenalty(opts.g ?? 'squared', z, K)), lambda);
  return { loss, gradNorm: detach(z), points };
}

/** WGAN-GP, eq. 7: λ · mean (‖∇D(x̃)‖₂ - K)². */
export function gradientPenalty(
  critic: Critic,
  real: Tensor,
  fake: Tensor,
  opts: Omit<GradientPenaltyOptions, 'norm' | 'g'> = {},
) {
  checkOptions('gradientPenalty', opts, GP_SPEC);
  return gradientNormPenalty(critic, real, fake, { ...opts, norm: 'l2', g: 'squared' });
}

/** WGAN-LP, eq. 9: λ · mean max(‖∇D(x̃)‖₂ - K, 0)². */
export function lipschitzPenalty(
  critic: Critic,
  real: Tensor,
  fake: Tensor,
  opts: Omit<GradientPenaltyOptions, 'norm' | 'g'> = {},
) {
  checkOptions('lipschitzPenalty', opts, GP_SPEC);
  return gradientNormPenalty(critic, real, fake, { ...opts, norm: 'l2', g: 'squaredHinge' });
}

// ---------- GAN losses (critic scores reals high) ----------

export type GanLoss = 'wgan' | 'hinge' | 'standard' | 'leastSquares';
export const GAN_LOSSES: readonly GanLoss[] = ['wgan', 'hinge', 'standard', 'leastSquares'];

/** log(1 + e^x) without overflow, with the exact derivative 1/2 at 0 (no kink from |x|). */
export function softplus(x: Tensor): Tensor {
  const pos = maximum(x, 0);
  const negPart = minimum(x, 0);
  return add(pos, log(add(exp(sub(negPart, pos)), 1)));
}

/**
 * The critic's loss from its scores on reals and fakes:
 * - 'wgan'         mean D(f) - mean D(r)
 * - 'hinge'        mean relu(1 - D(r)) + mean relu(1 + D(f))
 * - 'standard'     -mean log σ(D(r)) - mean log(1 - σ(D(f)))   (D gives logits)
 * - 'leastSquares' ½ mean (D(r) - 1)² + ½ mean D(f)²
 */
export function criticGanLoss(kind: GanLoss, dReal: Tensor, dFake: Tensor): Tensor {
  switch (kind) {
    case 'wgan':
      return sub(mean(dFake), mean(dReal));
    case 'hinge':
      return add(mean(relu(rsub(dReal, 1))), mean(relu(add(dFake, 1))));
    case 'standard':
      return add(mean(softplus(neg(dReal))), mean(softplus(dFake)));
    case 'leastSquares':
      return mul(add(mean(square(sub(dReal, 1))), mean(square(dFake))), 0.5);
    default:
      throw new Error(`criticGanLoss: unknown loss '${kind as string}'; expected one of ${GAN_LOSSES.join(', ')}`);
  }
}

/**
 * The generator's loss from the critic's scores on its samples: -mean D(f) for 'wgan' and
 * 'hinge', the non-saturating -mean log σ(D(f)) for 'standard', ½ mean (D(f) - 1)² for 'leastSquares'.
 */
export function generatorGanLoss(kind: GanLoss, dFake: Tensor): Tensor {
  switch (kind) {
    case 'wgan':
    case 'hinge':
      return neg(mean(dFake));
    case 'standard':
      return mean(softplus(neg(dFake)));
    case 'leastSquares':
      return mul(mean(square(sub(dFake, 1))), 0.5);
    default:
      throw new Error(`generatorGanLoss: unknown loss '${kind as string}'; expected one of ${GAN_LOSSES.join(', ')}`);
  }
}

/** The original WGAN's weight clipping: every parameter clamped in place to [-c, c] (after the step). */
export function clipWeights(params: Tensor[], c = 0.01): void {
  if (!(typeof c === 'number' && Number.isFinite(c) && c > 0))
    throw new Error(`clipWeights: c must be a finite number > 0, got ${c}`);
  tidy(() => noGrad(() => params.forEach((p) => assign(p, clamp(p, -c, c)))));
}

/** WGAN critic loss with GP or LP at interpolates: mean D(f) - mean D(r) + penalty. */
export function wganGpCriticLoss(
  critic: Critic,
  real: Tensor,
  fake: Tensor,
  opts: Omit<GradientPenaltyOptions, 'norm' | 'g'> & { penalty?: 'gp' | 'lp' } = {},
): { loss: Tensor; wasserstein: Tensor; dReal: Tensor; dFake: Tensor; penalty: GradientPenaltyResult } {
  checkOptions('wganGpCriticLoss', opts, { ...GP_SPEC, penalty: oneOf(['gp', 'lp']) });
  const { penalty: which = 'gp', ...gpOpts } = opts ?? {};
  checkBatches('wganGpCriticLoss', real, fake);
  const dReal = criticScores(critic, detach(real), 'wganGpCriticLoss');
  const dFake = criticScores(critic, detach(fake), 'wganGpCriticLoss');
  const penalty =
    which === 'gp' ? gradientPenalty(critic, real, fake, gpOpts) : lipschitzPenalty(critic, real, fake, gpOpts);
  const wasserstein = noGrad(() => sub(mean(detach(dReal)), mean(detach(dFake))));
  return { loss: add(criticGanLoss('wgan', dReal, dFake), penalty.loss), wasserstein, dReal, dFake, penalty };
}
