// The flags both WGAN scripts (toy_wgan.ts, image_wgan.ts) share beyond the regulariser: the GAN
// loss (--loss), the norm of the gradient in the GP / LP penalty (--penalty-norm) and an EMA of
// the generator's weights (--ema), with the one-line checks that refuse combinations that mean
// nothing, and the critic / generator losses they select.
//
// --penalty-norm, not --norm: image_wgan's --norm already picks the critic's normalisation layers
// (batch / layer / none), so both scripts use --penalty-norm for the gradient norm.
import { InvalidArgumentError, type Command } from 'commander';
import * as E from '../../engine/index.js';
import {
  criticGanLoss,
  criticScores,
  GAN_LOSSES,
  generatorGanLoss,
  gradientNormPenalty,
  wganGeneratorLoss,
  wganGpCriticLoss,
  type Critic,
  type CriticStepResult,
  type GanLoss,
  type GradNorm,
  type GradientPenaltyResult,
} from '../../alr/index.js';
import { numArg } from '../training/run.js';

export { GAN_LOSSES, type GanLoss, type GradNorm };
export const PENALTY_NORMS: readonly GradNorm[] = ['l2', 'linf', 'l1'];

export interface GanFlags {
  /** the GAN loss (default 'wgan') */
  loss: GanLoss;
  /** the norm of ∇ₓD in the GP / LP penalty (default 'l2'); only with --reg gp or lp */
  penaltyNorm: GradNorm;
  /** EMA decay of the generator's weights (undefined: no EMA) */
  ema?: number;
}

export const GAN_FLAG_DEFAULTS: Pick<GanFlags, 'loss' | 'penaltyNorm'> = { loss: 'wgan', penaltyNorm: 'l2' };

/** An EMA decay: strictly between 0 (a copy of the generator) and 1 (never moves). */
export function emaArg(v: string): number {
  const d = numArg('--ema', v, { min: 0, max: 1 });
  if (d === 0 || d === 1)
    throw new InvalidArgumentError(`--ema: expected a decay strictly between 0 and 1 (e.g. 0.999), got '${v}'`);
  return d;
}

/** Adds --loss, --penalty-norm and --ema to a script's command. */
export function ganFlags(cmd: Command): Command {
  return cmd
    .option('--loss <name>', `GAN loss: ${GAN_LOSSES.join(', ')} (default wgan)`)
    .option(
      '--penalty-norm <name>',
      `norm of ∇D in the GP / LP penalty: ${PENALTY_NORMS.join(', ')} (default l2; --reg gp or lp only)`,
    )
    .option(
      '--ema <decay>',
      'also keep an EMA of the generator weights with this decay (e.g. 0.999): metrics and samples for both',
      emaArg,
    );
}

/**
 * Checks --loss / --penalty-norm / --ema against the regulariser, each refusal one line naming
 * the flags; returns the resolved values. `opts` holds what the command line gave (undefined: not given).
 */
export function ganFlagOptions(opts: Record<string, unknown>, reg: string): GanFlags {
  const loss = (opts.loss ?? GAN_FLAG_DEFAULTS.loss) as GanLoss;
  if (!GAN_LOSSES.includes(loss))
    throw new Error(`--loss: expected one of ${GAN_LOSSES.join(', ')}, got '${opts.loss}'`);
  const penaltyNorm = (opts.penaltyNorm ?? GAN_FLAG_DEFAULTS.penaltyNorm) as GradNorm;
  if (!PENALTY_NORMS.includes(penaltyNorm))
    throw new Error(`--penalty-norm: expected one of ${PENALTY_NORMS.join(', ')}, got '${opts.penaltyNorm}'`);
  if (opts.penaltyNorm !== undefined && reg !== 'gp' && reg !== 'lp') {
    throw new Error(
      `--penalty-norm ${penaltyNorm} with --reg ${reg}: only gp and lp penalise a gradient norm (ALP's distance is L2; drop --penalty-norm)`,
    );
  }
  if (loss !== 'wgan' && reg === 'clip')
    throw new Error(
      `--loss ${loss} with --reg clip: weight clipping is the original WGAN's constraint; use --loss wgan or another --reg`,
    );
  const ema = opts.ema as number | undefined;
  if (ema !== undefined && !(typeof ema === 'number' && ema > 0 && ema < 1))
    throw new Error(`--ema: expected a decay strictly between 0 and 1, got '${ema}'`);
  return { loss, penaltyNorm, ...(ema !== undefined ? { ema } : {}) };
}

/**
 * A one-line warning when an EMA of `decay` over `iters` updates still holds more than 10% of the
 * initial generator at the end (decay^iters): its samples and scores then say little about
 * training. Suggests a decay whose share is at most 1%.
 */
export function emaWarning(decay: number, iters: number): string | null {
  const share = decay ** iters;
  if (share <= 0.1) return null;
  const suggest = 1 - 10 ** Math.ceil(Math.log10(1 - 0.01 ** (1 / iters)));
  return `--ema ${decay} over ${iters} iterations: the average still holds ${(100 * share).toFixed(0)}% of the initial generator at the end (decay^iters); for a run this long try --ema ${Number(suggest.toPrecision(6))}`;
}

/** The critic's loss of an ALP step under `loss`: WGAN-ALP's own loss for 'wgan' (the same ops as before). */
export function alpLossUnder(loss: GanLoss, s: CriticStepResult): E.Tensor {
  return loss === 'wgan' ? s.loss : E.add(criticGanLoss(loss, s.dReal, s.dFake), s.penalty.loss);
}

/**
 * GP (squared) or LP (squared hinge) on ‖∇D‖ in `norm` at interpolates, with the GAN `loss`.
 * L2 with the WGAN loss is wganGpCriticLoss itself, so the default runs the same ops as before.
 */
export function gradPenaltyCriticLoss(
  critic: Critic,
  real: E.Tensor,
  fake: E.Tensor,
  o: { lambda: number; reg: 'gp' | 'lp'; norm: GradNorm; loss: GanLoss },
): { loss: E.Tensor; wasserstein: E.Tensor; penalty: GradientPenaltyResult } {
  if (o.loss === 'wgan' && o.norm === 'l2')
    return wganGpCriticLoss(critic, real, fake, { lambda: o.lambda, penalty: o.reg });
  const dReal = criticScores(critic, E.detach(real), 'gradPenaltyCriticLoss');
  const dFake = criticScores(critic, E.detach(fake), 'gradPenaltyCriticLoss');
  const penalty = gradientNormPenalty(critic, real, fake, {
    lambda: o.lambda,
    norm: o.norm,
    g: o.reg === 'gp' ? 'squared' : 'squaredHinge',
  });
  const wasserstein = E.noGrad(() => E.sub(E.mean(E.detach(dReal)), E.mean(E.detach(dFake))));
  return { loss: E.add(criticGanLoss(o.loss, dReal, dFake), penalty.loss), wasserstein, penalty };
}

/** The generator's loss under `loss` (wganGeneratorLoss for 'wgan': the same ops as before). */
export function generatorLossUnder(loss: GanLoss, critic: Critic, fake: E.Tensor): E.Tensor {
  return loss === 'wgan'
    ? wganGeneratorLoss(critic, fake)
    : generatorGanLoss(loss, criticScores(critic, fake, 'generatorLoss'));
}
