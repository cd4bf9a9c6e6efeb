// Module: a tree of layers holding named parameters and buffers, addressed with PyTorch
// state_dict-style dotted names (`block1.conv1.weight`, `norm1.running_mean`).
import { assign, keep, requireGrad, shapeStr, Tensor } from '../engine/web.js';
import { bool, checkOptions } from '../engine/options.js';

let statUpdates = true;

/**
 * Runs fn with running-statistics updates switched off: BatchNorm in training mode still
 * normalises with the batch's own statistics but leaves running_mean/running_var alone, and
 * spectral norm still runs its power iteration but does not store u, v. This is a train-mode
 * forward whose state changes are discarded (ALR's search and penalty passes, semisup.py's
 * deepcopy). Calls nest.
 */
export function withoutStatUpdates<T>(fn: () => T): T {
  const prev = statUpdates;
  statUpdates = false;
  try {
    return fn();
  } finally {
    statUpdates = prev;
  }
}

/** False inside withoutStatUpdates(). */
export function statUpdatesEnabled(): boolean {
  return statUpdates;
}

/** The statistics one batch-norm layer normalised a batch with (detached, [C] each). */
export interface BatchStatistics {
  module: Module;
  mean: Tensor;
  variance: Tensor;
}

let statRecord: BatchStatistics[] | null = null;

/**
 * Runs fn and returns, with its result, the batch statistics of every training-mode batch-norm
 * call inside it, in call order. Costs two reductions per call, and only here.
 */
export function recordBatchStatistics<T>(fn: () => T): { result: T; stats: BatchStatistics[] } {
  const prev = statRecord;
  const stats: BatchStatistics[] = [];
  statRecord = stats;
  try {
    return { result: fn(), stats };
  } finally {
    statRecord = prev;
  }
}

/** Called by batch-norm layers: the statistics of a training-mode call, when one is recorded. */
export function noteBatchStatistics(s: BatchStatistics): void {
  statRecord?.push(s);
}

export const recordingBatchStatistics = (): boolean => statRecord !== null;

const NAME = /^[A-Za-z0-9_]+$/;

export abstract class Module {
  /** training mode: batch statistics in BatchNorm, power iterations in spectral norm, dropout */
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly buffers = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  abstract forward(x: Tensor): Tensor;

  private checkName(name: string): void {
    if (!NAME.test(name)) throw new Error(`${this.constructor.name}: invalid member name '${name}' (letters, digits, _)`);
    if (this.params.has(name) || this.buffers.has(name) || this.children.has(name)) {
      throw new Error(`${this.constructor.name}: '${name}' is already registered`);
    }
  }

  /**
   * Registers a parameter: a leaf that requires a gradient. It is removed from every open
   * tidy() scope, so modules may be built inside tidy; dispose() releases it.
   */
  registerParameter(name: string, t: Tensor): Tensor {
    this.checkName(name);
    keep(requireGrad(t));
    t.name = name;
    this.params.set(name, t);
    return t;
  }

  /** Registers persistent state that is saved but not trained (running statistics, u, v). */
  registerBuffer(name: string, t: Tensor): Tensor {
    this.checkName(name);
    keep(t);
    t.name = name;
    this.buffers.set(name, t);
    return t;
  }

  registerModule<M extends Module>(name: string, m: M): M {
    this.checkName(name);
    this.children.set(name, m);
    return m;
  }

  /** Moves a parameter to a new name (appended last, as PyTorch's re-registration does). */
  renameParameter(from: string, to: string): Tensor {
    const t = this.params.get(from);
    if (!t) throw new Error(`${this.constructor.name}: no parameter '${from}' to rename`);
    this.params.delete(from);
    this.checkName(to);
    t.name = to;
    this.params.set(to, t);
    return t;
  }

  /** Own parameter by local name (no dots). */
  getParameter(name: string): Tensor | undefined {
    return this.params.get(name);
  }

  getBuffer(name: string): Tensor | undefined {
    return this.buffers.get(name);
  }

  namedChildren(): [string, Module][] {
    return [...this.children];
  }

  /** This module and all descendants, depth first, with dotted prefixes ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, c] of this.children) out.push(...c.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  namedParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [p, m] of this.namedModules()) for (const [n, t] of m.params) out.push([p ? `${p}.${n}` : n, t]);
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  namedBuffers(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [p, m] of this.namedModules()) for (const [n, t] of m.buffers) out.push([p ? `${p}.${n}` : n, t]);
    return out;
  }

  /** Number of trainable scalars. */
  numParameters(): number {
    return this.parameters().reduce((s, t) => s + t.size, 0);
  }

  /**
   * Parameters and buffers by dotted name, in PyTorch's order (each module's parameters, then
   * its buffers, then its children). The tensors are the live ones, not copies: don't dispose them.
   */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    const walk = (m: Module, prefix: string) => {
      for (const [n, t] of m.params) out.set(prefix + n, t);
      for (const [n, t] of m.buffers) out.set(prefix + n, t);
      for (const [n, c] of m.children) walk(c, `${prefix}${n}.`);
    };
    walk(this, '');
    return out;
  }

  /**
   * Copies values into the existing parameters and buffers (tensor identities stay, so
   * optimizers keep working). Every missing, unexpected or wrongly shaped name is listed in one
   * error and nothing is copied. PyTorch's `num_batches_tracked` entries are ignored.
   */
  loadStateDict(state: Map<string, Tensor> | Record<string, Tensor>, opts: { strict?: boolean } = {}): void {
    checkOptions(`${this.constructor.name}.loadStateDict`, opts, { strict: bool });
    const strict = opts.strict ?? true;
    const src = state instanceof Map ? state : new Map(Object.entries(state));
    const own = this.stateDict();
    const problems: string[] = [];
    for (const [n, t] of own) {
      const s = src.get(n);
      if (!s) {
        if (strict) problems.push(`missing: ${n} ${shapeStr(t.shape)}`);
      } else if (s.shape.join() !== t.shape.join() || s.dtype !== t.dtype) {
        problems.push(`shape mismatch: ${n} expects ${shapeStr(t.shape)} ${t.dtype}, got ${shapeStr(s.shape)} ${s.dtype}`);
      }
    }
    if (strict) {
      for (const n of src.keys()) {
        if (!own.has(n) && !n.endsWith('num_batches_tracked')) problems.push(`unexpected: ${n}`);
      }
    }
    if (problems.length) {
      const hint = strict && problems.some((p) => !p.startsWith('shape')) ? '\n  (to load a subset, pass { strict: false })' : '';
      throw new Error(`${this.constructor.name}.loadStateDict: ${problems.length} problem(s):\n  ${problems.join('\n  ')}${hint}`);
    }
    for (const [n, t] of own) {
      const s = src.get(n);
      if (s && s !== t) assign(t, s);
    }
  }

  /** Sets training mode on this module and all descendants. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Releases every parameter (and its .grad) and buffer of the tree. */
  dispose(): void {
    for (const [, m] of this.namedModules()) {
      for (const t of [...m.params.values(), ...m.buffers.values()]) {
        t.grad?.dispose();
        t.grad = null;
        t.dispose();
      }
    }
  }
}

/** Children applied in order; named '0', '1', ... as torch.nn.Sequential. */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers.map((m, i) => this.registerModule(String(i), m));
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.layers) y = m.forward(y);
    return y;
  }
}
