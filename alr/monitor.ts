// Training monitors (paper §3.2 and the ALR code's summaries). Every step's scalars stay on the
// GPU; a Monitor reads a whole window back with one readback every N steps, so logging does not
// stall the command stream each step.
import { assignAt, detach, grad, keep, mean, noGrad, requireGrad, shapeStr, sum, Tensor, tidy } from '../engine/web.js';
import { auxiliaryPass, criticScores, type Critic } from './critic.js';
import { gradientNorm, interpolates } from './baselines.js';
import type { CriticStepResult } from './wgan.js';
import { any, arrayOf, checkOptions, num } from '../engine/options.js';

export type MonitorRow = { step: number } & Record<string, number>;

/** Floats per GPU log chunk: 16 KiB, a few hundred steps of ten scalars. */
const CHUNK = 4096;

/**
 * Keeps per-step scalars on the GPU and reads them back in batches. Each push copies the values
 * into a preallocated log chunk (no new buffer per step, so the pool and the bind-group cache stay
 * flat however long the window is); flush() reads the chunks back and frees them.
 */
export class Monitor {
  private rows: { step: number; names: string[] }[] = [];
  private chunks: Tensor[] = [];
  private used = CHUNK; // floats used in the last chunk (CHUNK: none open)
  private nextStep = 0;

  /** `every`: how many pushed steps make the monitor `due` for a flush. */
  constructor(readonly every = 50) {
    if (!(Number.isInteger(every) && every >= 1))
      throw new Error(`Monitor: every must be an integer >= 1, got ${every}`);
  }

  /** Copies this step's scalars (one-element f32 tensors) into the log; the caller keeps ownership. */
  push(values: Record<string, Tensor>, step = this.nextStep): void {
    const names = Object.keys(values);
    if (names.length > CHUNK) throw new Error(`Monitor.push: at most ${CHUNK} values per step, got ${names.length}`);
    for (const name of names) {
      const t = values[name];
      if (t.size !== 1 || t.dtype !== 'f32') {
        throw new Error(
          `Monitor.push: '${name}' must be a one-element f32 tensor, got ${shapeStr(t.shape)} ${t.dtype}`,
        );
      }
    }
    if (this.used + names.length > CHUNK) {
      this.chunks.push(keep(Tensor.empty([CHUNK])));
      this.used = 0;
    }
    const chunk = this.chunks[this.chunks.length - 1];
    names.forEach((name, i) => assignAt(chunk, values[name], this.used + i));
    this.used += names.length;
    this.rows.push({ step, names });
    this.nextStep = step + 1;
  }

  get pending(): number {
    return this.rows.length;
  }

  get due(): boolean {
    return this.rows.length >= this.every;
  }

  /** Reads every pending step back and frees the log. */
  async flush(): Promise<MonitorRow[]> {
    const rows = this.rows;
    const chunks = this.chunks;
    this.rows = [];
    this.chunks = [];
    this.used = CHUNK;
    const data = await Promise.all(chunks.map((c) => c.toFloat32()));
    for (const c of chunks) c.dispose();
    let chunk = -1;
    let i = CHUNK;
    return rows.map((r) => {
      if (i + r.names.length > CHUNK) chunk++, (i = 0);
      const row: MonitorRow = { step: r.step };
      for (const name of r.names) row[name] = data[chunk][i++];
      return row;
    });
  }

  /** Releases the log without reading it. */
  dispose(): void {
    for (const c of this.chunks) c.dispose();
    this.chunks = [];
    this.rows = [];
    this.used = CHUNK;
  }
}

/**
 * Mean ‖∇_x D(x̃)‖₂ at random real/fake interpolates (first order; auxiliary pass). The ALR code
 * logs it even in ALP runs: the paper's "gradient norm ≈ 5 with λ = 100".
 */
export function gradNormAtInterpolates(critic: Critic, real: Tensor, fake: Tensor, u?: Tensor): Tensor {
  return tidy(() => {
    const leaf = requireGrad(interpolates(real, fake, u));
    const y = auxiliaryPass(critic, () => criticScores(critic, leaf, 'gradNormAtInterpolates'));
    const [g] = grad(sum(y), [leaf]);
    return noGrad(() => mean(gradientNorm(g, 'l2')));
  });
}

/** The paper's per-step critic monitors from a WGAN-ALP step, as GPU scalars. */
export function criticStepMonitors(s: CriticStepResult): Record<string, Tensor> {
  const m = s.penalty.monitors;
  return noGrad(() => ({
    violations: m.violations,
    ratioMean: m.ratioMean,
    ratioStd: m.ratioStd,
    alpMean: m.alpMean,
    alpStd: m.alpStd,
    penaltyLoss: m.loss,
    wasserstein: s.wasserstein,
    dReal: mean(detach(s.dReal)),
    dFake: mean(detach(s.dFake)),
    criticLoss: detach(s.loss),
  }));
}

export interface LambdaControllerOptions {
  /** the starting λ */
  lambda: number;
  /** the wanted range of the violation fraction count / batch (default [0.02, 0.5]) */
  band?: readonly [number, number];
  /** multiplicative step (default 1.5) */
  factor?: number;
  /** bounds of λ (default [1e-3, 1e4]) */
  min?: number;
  max?: number;
}

/**
 * EXTENSION beyond the paper (off unless you construct it): automates §3.2's tuning advice.
 * Too many violations -> raise λ; too few -> lower it. Call update() with flushed monitor
 * values (e.g. the mean violation fraction of a window), then use `lambda` for the next steps.
 */
export class LambdaController {
  lambda: number;
  readonly band: readonly [number, number];
  readonly factor: number;
  readonly min: number;
  readonly max: number;

  constructor(o: LambdaControllerOptions) {
    if (!o || typeof o !== 'object') throw new Error('LambdaController: options { lambda, ... } are required');
    checkOptions('LambdaController', o, {
      lambda: any,
      band: arrayOf(num(), 2),
      factor: num(),
      min: num(),
      max: num(),
    });
    this.band = o.band ?? [0.02, 0.5];
    this.factor = o.factor ?? 1.5;
    this.min = o.min ?? 1e-3;
    this.max = o.max ?? 1e4;
    if (!(typeof o.lambda === 'number' && o.lambda >= 0 && Number.isFinite(o.lambda)))
      throw new Error(`LambdaController: lambda must be a finite number >= 0, got ${o.lambda}`);
    const [lo, hi] = this.band;
    if (!(lo >= 0 && lo < hi && hi <= 1))
      throw new Error(`LambdaController: band must satisfy 0 <= lo < hi <= 1, got [${lo}, ${hi}]`);
    if (!(this.factor > 1)) throw new Error(`LambdaController: factor must be > 1, got ${this.factor}`);
    if (!(this.min > 0 && this.min <= this.max))
      throw new Error(`LambdaController: need 0 < min <= max, got [${this.min}, ${this.max}]`);
    this.lambda = o.lambda;
  }

  /** Adjusts λ from a violation fraction in [0, 1]; returns the new λ. */
  update(violationFraction: number): number {
    if (!(violationFraction >= 0 && violationFraction <= 1)) {
      throw new Error(`LambdaController.update: violationFraction must be in [0, 1], got ${violationFraction}`);
    }
    const [lo, hi] = this.band;
    if (violationFraction > hi) this.lambda = Math.min(this.max, this.lambda * this.factor);
    else if (violationFraction < lo) this.lambda = Math.max(this.min, this.lambda / this.factor);
    return this.lambda;
  }
}
