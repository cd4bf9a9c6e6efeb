// The paper's configurations as option objects (spec §1, §5a, §6). Spread one into the options
// of wganAlpCriticLoss / adversarialLipschitzPenalty and override what you study.
import type { PenaltyOptions } from './penalty.js';
import { uniformEps } from './search.js';

/** CIFAR-10 WGAN-ALP (wgan_alp.py, paper §4): images in [-1, 1], probes and x̂ clipped. */
export const WGAN_ALP_CIFAR: PenaltyOptions = {
  lambda: 100, K: 1, xi: 10, k: 1, eps: uniformEps(0.1, 10), dY: 'abs', form: 'one-sided', clip: [-1, 1],
};

/** Progressive GAN with ALP, eq. 20 (PG loss.py): no clipping; search reals and fakes separately. */
export const PROGRESSIVE_GAN_ALP: PenaltyOptions = {
  lambda: 0.1, K: 1, xi: 10, k: 1, eps: uniformEps(0.1, 100), dY: 'abs', form: 'abs+squared', clip: null,
};

/** Semi-supervised ALR, the paper's best (semisup.py): msd on logits, f(x) fixed, search clamped only. */
export const SEMI_SUPERVISED_ALR: PenaltyOptions = {
  lambda: 1, K: 0, xi: 10, k: 1, eps: uniformEps(1, 10), dY: 'msd', form: 'linear', clip: null, searchClip: [-1, 1],
};

/** The VAT baseline as run in the ALR code: KL between softmaxes, a fixed radius 8, d_X Euclidean. */
export const VAT_BASELINE: PenaltyOptions = {
  lambda: 1, K: 0, xi: 10, k: 1, eps: { kind: 'fixed', value: 8 }, dY: 'kl', form: 'linear', clip: null, searchClip: [-1, 1],
};

/**
 * The 2-D Lipschitz regression toy (appendix A.4), best setting λ = 1, k = 5. ASSUMED (the
 * notebooks are lost, spec §5a): ξ = 10 as elsewhere, the squared one-sided reduction, no clip.
 */
export const TOY_REGRESSION_ALP: PenaltyOptions = {
  lambda: 1, K: 1, xi: 10, k: 5, eps: uniformEps(1e-6, 1e-5), dY: 'abs', form: 'one-sided', clip: null,
};
