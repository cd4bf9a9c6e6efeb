// One training run of the toy WGAN on the page's device: the same models, optimiser and
// regularisers as experiments/toy_wgan.ts. Structure (data stream, models, batch shape) is fixed
// per session; the live settings (λ, ξ, k, ε, K, lr, n_critic) are read at every step, so a
// change takes effect at the next step without rebuilding anything.
import * as E from '../../engine/web.js';
import { toyCritic, toyGenerator, asCritic, type MLP } from '../../nn/web.js';
import {
  criticGanLoss, Monitor, wganAlpCriticLoss, wganGeneratorLoss, wganGpCriticLoss, type Critic, type MonitorRow,
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

  /** One critic step with the current settings; returns its monitors (GPU scalars). */
  private criticStep(capture: boolean): Record<string, E.Tensor> {
    const s = this.settings;
    const B = s.batch;
    return E.tidy(() => {
      const real = E.tensor(this.sampler.sample(B), [B, 2]);
      const fake = E.noGrad(() => this.G.forward(E.randNormal([B, 2])));
      let loss: E.Tensor;
      let mon: Record<string, E.Tensor>;
      if (s.reg === 'alp') {
        const eps = epsDistribution(s);
        const r = wganAlpCriticLoss(this.critic, real, fake, { lambda: s.lambda, k: s.k, xi: s.xi, K: s.K, eps });
        loss = r.loss;
        const p = r.penalty;
        mon = E.noGrad(() => ({
          wasserstein: r.wasserstein,
          criticLoss: E.detach(loss),
          penaltyLoss: p.monitors.loss,
          // the unweighted penalty: penaltyLoss / penaltyRaw is the λ the loss really used
          penaltyRaw: E.mean(E.square(p.alp)),
          violations: p.monitors.violations,
          ratioMean: p.monitors.ratioMean,
        }));
        if (capture) this.keepBatch(E.concat([real, fake], 0), p.xHat, p.ratio);
        this.used = { reg: 'alp', lambda: s.lambda, xi: s.xi, k: s.k, K: s.K, eps: JSON.stringify(eps), lr: s.lr };
      } else if (s.reg === 'gp' || s.reg === 'lp') {
        const r = wganGpCriticLoss(this.critic, real, fake, { lambda: s.lambda, penalty: s.reg, K: s.K });
        loss = r.loss;
        const gn = r.penalty.gradNorm;
        mon = E.noGrad(() => ({
          wasserstein: r.wasserstein,
          criticLoss: E.detach(loss),
          penaltyLoss: E.detach(r.penalty.loss),
          penaltyRaw: E.mean(E.square(s.reg === 'gp' ? E.sub(gn, s.K) : E.maximum(E.sub(gn, s.K), 0))),
        }));
        if (capture) this.keepBatch(E.concat([real, fake], 0), null, null);
        this.used = { reg: s.reg, lambda: s.lambda, xi: null, k: null, K: s.K, eps: null, lr: s.lr };
      } else {
        // SN (a re-parametrised critic) and none: the plain WGAN loss
        const dReal = this.critic.forward(real);
        const dFake = this.critic.forward(fake);
        loss = criticGanLoss('wgan', dReal, dFake);
        mon = E.noGrad(() => ({ wasserstein: E.neg(E.detach(loss)), criticLoss: E.detach(loss) }));
        if (capture) this.keepBatch(E.concat([real, fake], 0), null, null);
        this.used = { reg: s.reg, lambda: null, xi: null, k: null, K: null, eps: null, lr: s.lr };
      }
      this.optD.step(E.grad(loss, this.D.parameters()));
      return mon;
    });
  }

  private keepBatch(x: E.Tensor, xHat: E.Tensor | null, ratio: E.Tensor | null): void {
    this.dropCaptured();
    this.captured = { x: E.keep(x), xHat: xHat && E.keep(E.detach(xHat)), ratio: ratio && E.keep(E.detach(ratio)) };
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
      const mon = this.criticStep(capture && last);
      if (last) this.monitor.push(mon, this.iter + 1);
      E.dispose(mon);
    }
    E.tidy(() => {
      const loss = wganGeneratorLoss(this.critic, this.G.forward(E.randNormal([s.batch, 2])));
      this.optG.step(E.grad(loss, this.G.parameters()));
    });
    this.iter++;
    await E.endStep(); // one submit per iteration; yields so the page stays live
  }

  /** The per-iteration scalars since the last call (one readback). */
  flushRows(): Promise<MonitorRow[]> {
    return this.monitor.flush();
  }

  dispose(): void {
    this.dropCaptured();
    this.monitor.dispose();
    this.G.dispose();
    this.D.dispose();
    this.optG.dispose();
    this.optD.dispose();
  }
}
