// WGAN-ALP (alr/README.md): the critic's Wasserstein loss plus the adversarial Lipschitz penalty at
// the real and generated samples themselves (P_{r,g}: no interpolation).
//
// Sign convention (alr/README.md, Sign): the paper's / WGAN-GP's, i.e. the critic scores reals HIGH:
//   L_D = mean D(fake) - mean D(real) + λ·L_alp,    L_G = -mean D(fake),
//   Wasserstein estimate W = mean D(real) - mean D(fake) (what the critic maximises).
// (The ALR TensorFlow code uses the opposite sign throughout; both train the same way.)
import { add, concat, detach, mean, mul, neg, noGrad, shapeStr, slice, square, sub, Tensor } from '../engine/web.js';
import { checkBatches, criticScores, type Critic } from './critic.js';
import { any, bool, instance } from '../engine/options.js';
import {
  checkPenaltyKeys,
  PROGRESSIVE_GAN_ALP,
  resolvePenalty,
  WGAN_ALP_DEFAULTS,
  type PenaltyOptions,
} from './options.js';
import { penaltyAt, type AlpResult } from './penalty.js';

export interface CriticStepResult {
  /** L_D, the critic's loss: minimise it w.r.t. the critic's parameters */
  loss: Tensor;
  /** W = mean D(real) - mean D(fake), detached */
  wasserstein: Tensor;
  /** D(real), D(fake) from the main passes, [B] */
  dReal: Tensor;
  dFake: Tensor;
  penalty: AlpResult;
}

/**
 * One critic loss of WGAN-ALP. The fakes are detached (a critic step never reaches G).
 * Main passes D(real), D(fake) update BN running statistics; the penalty's passes on
 * x = concat(real, fake) do not (see critic.ts). With `sharedForward` (for critics whose
 * samples are independent: no BN) the WGAN term reuses the penalty's D(x), saving one forward
 * and one backward pass over 2B samples; the values are identical.
 */
export function wganAlpCriticLoss(
  critic: Critic,
  real: Tensor,
  fake: Tensor,
  opts: PenaltyOptions & { sharedForward?: boolean } = {},
): CriticStepResult {
  const caller = 'wganAlpCriticLoss';
  checkPenaltyKeys(caller, opts, { sharedForward: bool });
  opts ??= {};
  checkBatches(caller, real, fake);
  // checked on the shape of concat(real, fake) before it is made: a bad option allocates nothing
  const o = resolvePenalty(
    caller,
    { shape: [real.shape[0] + fake.shape[0], ...real.shape.slice(1)], rank: real.rank },
    opts,
    WGAN_ALP_DEFAULTS,
  );
  if (opts.sharedForward && critic.batchDependent) {
    throw new Error(
      `${caller}: sharedForward needs a critic whose samples are independent; this one normalises with batch statistics ` +
        '(batch norm in training mode), so D(real) would be a slice of D([real; fake]) under different statistics. Drop sharedForward.',
    );
  }
  const x = concat([detach(real), detach(fake)], 0);

  const B = real.shape[0];
  let dReal: Tensor, dFake: Tensor, penalty: AlpResult;
  if (opts.sharedForward) {
    penalty = penaltyAt(caller, critic, x, o);
    if (penalty.clean.rank !== 1)
      throw new Error(`${caller}: the critic must output [B] or [B, 1] scores, got ${shapeStr(penalty.clean.shape)}`);
    dReal = slice(penalty.clean, 0, 0, B);
    dFake = slice(penalty.clean, 0, B);
  } else {
    dReal = criticScores(critic, detach(real), caller);
    dFake = criticScores(critic, detach(fake), caller);
    penalty = penaltyAt(caller, critic, x, o);
  }
  const wgan = sub(mean(dFake), mean(dReal));
  return {
    loss: add(wgan, penalty.loss),
    wasserstein: noGrad(() => sub(mean(detach(dReal)), mean(detach(dFake)))),
    dReal,
    dFake,
    penalty,
  };
}

/** L_G = -mean D(G(z)) (gradients flow into the generator through `fake`). */
export function wganGeneratorLoss(critic: Critic, fake: Tensor): Tensor {
  return neg(mean(criticScores(critic, fake, 'wganGeneratorLoss')));
}

export interface ProgressiveGanOptions extends PenaltyOptions {
  /** weight of the drift term mean D(real)² (PG's wgan_epsilon, default 0.001) */
  drift?: number;
}

/**
 * Progressive GAN's critic loss with ALP, eq. 20 (PG loss.py): reals and fakes are searched
 * separately, each with its own r_0 (the PG critic's minibatch-stddev layer couples samples);
 * f(x) is reused from the WGAN passes; the two penalties are summed per sample and averaged:
 *   L_D = mean D(f) - mean D(r) + λ·mean(alp_r + alp_r²) + λ·mean(alp_f + alp_f²) + drift·mean D(r)²
 * Defaults: PROGRESSIVE_GAN_ALP (λ = 0.1, ε ~ U[0.1, 100], no clipping).
 */
export function progressiveGanCriticLoss(
  critic: Critic,
  real: Tensor,
  fake: Tensor,
  opts: ProgressiveGanOptions & { r0Fake?: Tensor; epsFake?: Tensor } = {},
): CriticStepResult & { penaltyFake: AlpResult } {
  const caller = 'progressiveGanCriticLoss';
  checkPenaltyKeys(caller, opts, { drift: any, r0Fake: instance(Tensor), epsFake: instance(Tensor) });
  opts ??= {};
  checkBatches(caller, real, fake);
  const { drift = 0.001, r0Fake, epsFake, ...rest } = opts;
  if (!(typeof drift === 'number' && Number.isFinite(drift) && drift >= 0))
    throw new Error(`${caller}: drift must be a finite number >= 0, got ${drift}`);
  const o = resolvePenalty(caller, real, rest, PROGRESSIVE_GAN_ALP);
  const oFake = resolvePenalty(caller, fake, { ...rest, r0: r0Fake, epsValues: epsFake }, PROGRESSIVE_GAN_ALP);
  const xr = detach(real);
  const xf = detach(fake);
  const dReal = criticScores(critic, xr, caller);
  const dFake = criticScores(critic, xf, caller);
  const penalty = penaltyAt(caller, critic, xr, { ...o, clean: dReal });
  const penaltyFake = penaltyAt(caller, critic, xf, { ...oFake, clean: dFake });
  const wgan = sub(mean(dFake), mean(dReal));
  const loss = add(add(wgan, add(penalty.loss, penaltyFake.loss)), mul(mean(square(dReal)), drift));
  const wasserstein = noGrad(() => sub(mean(detach(dReal)), mean(detach(dFake))));
  return { loss, wasserstein, dReal, dFake, penalty, penaltyFake };
}
