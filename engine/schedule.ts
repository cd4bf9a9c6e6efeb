// Learning-rate schedules that drive any optimiser with an `lr` (Adam, AdamW, SGD, or several at
// once, e.g. a GAN's two). As with PyTorch's schedulers, construct the schedule before training
// (it sets lr = base·shape(0)) and call step() once after each opt.step(): optimiser step t
// (0-based) then runs with base·shape(t). Calling step() before opt.step() shifts the sequence by
// one (step t runs with shape(t + 1)), exactly as it does in PyTorch (which warns about it).
// state() / loadState() let a resumed run continue exactly.

import { any, checkOptions } from './options.js';

export interface HasLr {
  lr: number;
}

/** lr factor at step t (0-based), relative to the optimiser's starting lr. */
export type LrShape = (t: number) => number;

const positiveInt = (op: string, name: string, v: number) => {
  if (!(typeof v === 'number' && Number.isInteger(v) && v >= 1))
    throw new Error(`${op}: ${name} must be an integer >= 1, got ${v}`);
};
const fraction = (op: string, name: string, v: number) => {
  if (!(typeof v === 'number' && Number.isFinite(v) && v >= 0))
    throw new Error(`${op}: ${name} must be a finite number >= 0, got ${v}`);
};

/** Linear decay from 1 to `final` over `total` steps, then constant (WGAN-GP's schedule: final 0). */
export function linearDecay(total: number, final = 0): LrShape {
  positiveInt('linearDecay', 'total', total);
  fraction('linearDecay', 'final', final);
  return (t) => 1 + (final - 1) * Math.min(t / total, 1);
}

/**
 * Cosine annealing from 1 to `min` over `total` steps, then `min` held: for t <= total the same
 * values as torch's CosineAnnealingLR(T_max = total, eta_min = min·lr). After `total` PyTorch's
 * closed form is periodic (the lr climbs back to lr at t = 2·total); this one stays at `min`.
 */
export function cosineDecay(total: number, min = 0): LrShape {
  positiveInt('cosineDecay', 'total', total);
  fraction('cosineDecay', 'min', min);
  return (t) => min + (1 - min) * 0.5 * (1 + Math.cos(Math.PI * Math.min(t / total, 1)));
}

/** Multiply by `gamma` every `every` steps (torch's StepLR). */
export function stepDecay(every: number, gamma = 0.1): LrShape {
  positiveInt('stepDecay', 'every', every);
  fraction('stepDecay', 'gamma', gamma);
  return (t) => gamma ** Math.floor(t / every);
}

/** Linear warm-up from 1/steps to 1 over `steps`, then `after` counted from the end of warm-up. */
export function withWarmup(steps: number, after: LrShape = () => 1): LrShape {
  positiveInt('withWarmup', 'steps', steps);
  if (typeof after !== 'function')
    throw new Error(`withWarmup: after must be a schedule shape (a function of the step), got ${typeof after}`);
  return (t) => (t < steps ? (t + 1) / steps : after(t - steps));
}

export class LrSchedule {
  private readonly optimizers: HasLr[];
  private readonly baseLr: number[];
  private t = 0;

  /** Sets each optimiser's lr to its current lr × shape(0) now, and × shape(t) after t step() calls. */
  constructor(
    optimizers: HasLr | HasLr[],
    readonly shape: LrShape,
  ) {
    this.optimizers = Array.isArray(optimizers) ? optimizers : [optimizers];
    if (!this.optimizers.length) throw new Error('LrSchedule: no optimiser given');
    this.optimizers.forEach((o, i) => {
      if (!(o && typeof o.lr === 'number')) throw new Error(`LrSchedule: optimiser ${i} has no numeric lr`);
    });
    if (typeof shape !== 'function')
      throw new Error(
        `LrSchedule: shape must be a function of the step (linearDecay, cosineDecay, ...), got ${typeof shape}`,
      );
    this.baseLr = this.optimizers.map((o) => o.lr);
    this.apply();
  }

  private apply(): void {
    const f = this.shape(this.t);
    if (!(Number.isFinite(f) && f >= 0))
      throw new Error(`LrSchedule: the schedule gave factor ${f} at step ${this.t}; expected a finite number >= 0`);
    this.optimizers.forEach((o, i) => (o.lr = this.baseLr[i] * f));
  }

  /** Advances one step and sets the next lr; returns it (of the first optimiser). */
  step(): number {
    this.t++;
    this.apply();
    return this.optimizers[0].lr;
  }

  get steps(): number {
    return this.t;
  }

  state(): { step: number } {
    return { step: this.t };
  }

  loadState(s: { step: number }): void {
    checkOptions('LrSchedule.loadState', s, { step: any });
    if (!(Number.isInteger(s?.step) && s.step >= 0))
      throw new Error(`LrSchedule.loadState: step must be an integer >= 0, got ${s.step}`);
    this.t = s.step;
    this.apply();
  }
}
