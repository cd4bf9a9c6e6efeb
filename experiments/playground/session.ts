// One training run of the toy WGAN on the page's device: the same models, optimiser and
// regularisers as experiments/toy_wgan.ts. Structure (data stream, models, batch shape) is fixed
// per session; the live settings (λ, ξ, k, ε, K, lr, n_critic) are read at every step, so a
// change takes effect at the next step without rebuilding anything.
import * as E from '../../engine/web.js';
import { toyCritic, toyGenerator, asCritic, type MLP } from '../../nn/web.js';
import {
  criticGanLoss,
  Monitor,
  wganAlpCriticLoss,
  wganGeneratorLoss,
  wganGpCriticLoss,
  type Critic,
  type MonitorRow,
} from '../../alr/index.js';
import { toySampler, type ToySampler } from '../common/toy_data.js';
import { epsDistribution, type Regulariser, type Settings } from './settings.js';

/** What the last critic step actually passed to its loss (for the page and its test). */
export interface UsedSettings {
  reg: Regulariser;
  lambda: number | null;
  xi: number | null;
  k: number | null;
  K: number | null;
  eps: string | null;
  lr: number;
}

/** The last critic step's batch, kept for the views: x = [real; fake], and ALP's pairs when training found them. */
export interface CapturedBatch {
  x: E.Tensor;
  /** x̂ = x + r_adv and the quotient per sample from the training step's own search (ALP only) */
  xHat: E.Tensor | null;
  ratio: E.Tensor | null;
}

export class Session {
  readonly sampler: ToySampler;
  readonly G: MLP;
  readonly D: MLP;
  readonly critic: Critic;
  private readonly optG: E.Adam;
  private readonly optD: E.Adam;
  private readonly monitor = new Monitor(1_000_000);
  iter = 0;
  used: UsedSettings | null = null;
  private captured: CapturedBatch | null = null;
  /**
   * Compiled critic steps, one per combination of the live settings they bake in (a new λ or ξ
   * captures a new step on its next use); the generator step reads only lr, which replays follow.
   */
  private readonly criticSteps = new Map<string, E.CompiledStep<[E.Tensor], Record<string, E.Tensor>>>();
  private readonly generatorStep = E.compile(() => {
    const loss = wganGeneratorLoss(this.critic, this.G.forward(E.randNormal([this.settings.batch, 2])));
    this.optG.step(E.grad(loss, this.G.parameters()));
  });

  /** `settings` is read live: mutate it (or replace fields) to change the next step. */
  constructor(readonly settings: Settings) {
    const s = settings;
    E.manualSeed(s.seed);
    this.sampler = toySampler(s.dataset, s.seed + 1);
    this.G = toyGenerator(s.dim);
    this.D = toyCritic(s.dim, { spectralNorm: s.reg === 'sn' });
    this.critic = asCritic(this.D);
    this.optG = new E.Adam(this.G.parameters(), { lr: s.lr, betas: [0.5, 0.9] });
    this.optD = new E.Adam(this.D.parameters(), { lr: s.lr, betas: [0.5, 0.9] });
  }

  /**
   * One critic step with the current settings: its monitors (GPU scalars) and, with `batch`, the
   * batch for the views (x = [real; fake], and ALP's x̂ and quotients).
   */
  private criticStep(real: E.Tensor, batch: boolean): Record<string, E.Tensor> {
    const s = this.settings;
    const B = s.batch;
    const fake = E.noGrad(() => this.G.forward(E.randNormal([B, 2])));
    let loss: E.Tensor;
    let out: Record<string, E.Tensor>;
    if (s.reg === 'alp') {
      const eps = epsDistribution(s);
      const r = wganAlpCriticLoss(this.critic, real, fake, { lambda: s.lambda, k: s.k, xi: s.xi, K: s.K, eps });
      loss = r.loss;
      const p = r.penalty;
      out = E.noGrad(() => ({
        wasserstein: r.wasserstein,
        criticLoss: E.detach(loss),
        penaltyLoss: p.monitors.loss,
        // the unweighted penalty: penaltyLoss / penaltyRaw is the λ the loss really used
        penaltyRaw: E.mean(E.square(p.alp)),
        violations: p.monitors.violations,
        ratioMean: p.monitors.ratioMean,
      }));
      if (batch) Object.assign(out, { xHat: E.detach(p.xHat), ratio: E.detach(p.ratio) });
    } else if (s.reg === 'gp' || s.reg === 'lp') {
      const r = wganGpCriticLoss(this.critic, real, fake, { lambda: s.lambda, penalty: s.reg, K: s.K });
      loss = r.loss;
      const gn = r.penalty.gradNorm;
      out = E.noGrad(() => ({
        wasserstein: r.wasserstein,
        criticLoss: E.detach(loss),
        penaltyLoss: E.detach(r.penalty.loss),
        penaltyRaw: E.mean(E.square(s.reg === 'gp' ? E.sub(gn, s.K) : E.maximum(E.sub(gn, s.K), 0))),
      }));
    } else {
      // SN (a re-parametrised critic) and none: the plain WGAN loss
      const dReal = this.critic.forward(real);
      const dFake = this.critic.forward(fake);
      loss = criticGanLoss('wgan', dReal, dFake);
      out = E.noGrad(() => ({ wasserstein: E.neg(E.detach(loss)), criticLoss: E.detach(loss) }));
    }
    if (batch) out.x = E.concat([real, fake], 0);
    this.optD.step(E.grad(loss, this.D.parameters()));
    return out;
  }

  /** What the critic step passes to its loss under the current settings. */
  private usedSettings(): UsedSettings {
    const s = this.settings;
    if (s.reg === 'alp')
      return {
        reg: 'alp',
        lambda: s.lambda,
        xi: s.xi,
        k: s.k,
        K: s.K,
        eps: JSON.stringify(epsDistribution(s)),
        lr: s.lr,
      };
    if (s.reg === 'gp' || s.reg === 'lp')
      return { reg: s.reg, lambda: s.lambda, xi: null, k: null, K: s.K, eps: null, lr: s.lr };
    return { reg: s.reg, lambda: null, xi: null, k: null, K: null, eps: null, lr: s.lr };
  }

  /** The compiled critic step for the current settings (with or without the views' batch). */
  private compiledCriticStep(batch: boolean): E.CompiledStep<[E.Tensor], Record<string, E.Tensor>> {
    const { lr: _lr, ...baked } = this.usedSettings();
    const key = `${JSON.stringify(baked)}|${batch}`;
    let step = this.criticSteps.get(key);
    if (!step) {
      step = E.compile((real: E.Tensor) => this.criticStep(real, batch));
      this.criticSteps.set(key, step);
    }
    return step;
  }

  private dropCaptured(): void {
    if (this.captured) E.dispose(this.captured);
    this.captured = null;
  }

  /** The batch of the last critic step of an iteration run with capture (the caller disposes it). */
  takeBatch(): CapturedBatch | null {
    const c = this.captured;
    this.captured = null;
    return c;
  }

  /** One generator iteration: n_critic critic steps, one generator step, one submit. */
  async iteration(capture = false): Promise<void> {
    const s = this.settings;
    this.optD.lr = s.lr;
    this.optG.lr = s.lr;
    for (let c = 0; c < s.nCritic; c++) {
      const last = c === s.nCritic - 1;
      const withBatch = capture && last;
      const real = E.tensor(this.sampler.sample(s.batch), [s.batch, 2]);
      const { x, xHat, ratio, ...mon } = this.compiledCriticStep(withBatch)(real);
      real.dispose();
      if (withBatch) {
        this.dropCaptured();
        this.captured = { x: E.keep(x), xHat: xHat ? E.keep(xHat) : null, ratio: ratio ? E.keep(ratio) : null };
      }
      if (last) this.monitor.push(mon, this.iter + 1);
      E.dispose(mon);
    }
    this.used = this.usedSettings();
    this.generatorStep();
    this.iter++;
    await E.endStep(); // one submit per iteration; yields so the page stays live
  }

  /** The per-iteration scalars since the last call (one readback). */
  flushRows(): Promise<MonitorRow[]> {
    return this.monitor.flush();
  }

  dispose(): void {
    this.dropCaptured();
    for (const step of this.criticSteps.values()) step.dispose();
    this.generatorStep.dispose();
    this.monitor.dispose();
    this.G.dispose();
    this.D.dispose();
    this.optG.dispose();
    this.optD.dispose();
  }
}
