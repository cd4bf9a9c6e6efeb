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

/**
 * A forward hook (PyTorch's register_forward_hook): called after every forward of its module
 * with the module, the forward's arguments (an array, like PyTorch's input tuple) and the
 * output. A returned tensor replaces the output; undefined keeps it.
 */
export type ForwardHook = (module: Module, input: unknown[], output: Tensor) => Tensor | void;

/** What registerForwardHook returns: remove() unregisters the hook (idempotent). */
export interface HookHandle {
  remove(): void;
}

// A module's hooks, in registration order. Kept outside the module so that copies of a module
// (nn.EMA) do not inherit them and the module's own fields stay as they were.
const forwardHooks = new WeakMap<Module, Map<number, ForwardHook>>();
const unwrapHooks = new WeakMap<Module, () => void>();
let nextHookId = 0;

const NAME = /^[A-Za-z0-9_]+$/;

export abstract class Module {
  /** training mode: batch statistics in BatchNorm, power iterations in spectral norm, dropout */
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly buffers = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  abstract forward(x: Tensor): Tensor;

  private checkName(name: string): void {
    if (!NAME.test(name))
      throw new Error(`${this.constructor.name}: invalid member name '${name}' (letters, digits, _)`);
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
        problems.push(
          `shape mismatch: ${n} expects ${shapeStr(t.shape)} ${t.dtype}, got ${shapeStr(s.shape)} ${s.dtype}`,
        );
      }
    }
    if (strict) {
      for (const n of src.keys()) {
        if (!own.has(n) && !n.endsWith('num_batches_tracked')) problems.push(`unexpected: ${n}`);
      }
    }
    if (problems.length) {
      const hint =
        strict && problems.some((p) => !p.startsWith('shape')) ? '\n  (to load a subset, pass { strict: false })' : '';
      throw new Error(
        `${this.constructor.name}.loadStateDict: ${problems.length} problem(s):\n  ${problems.join('\n  ')}${hint}`,
      );
    }
    for (const [n, t] of own) {
      const s = src.get(n);
      if (s && s !== t) assign(t, s);
    }
  }

  /**
   * Registers a hook run after every call of this module's forward (see ForwardHook); returns a
   * handle whose remove() unregisters it. The first hook wraps `forward` on this instance only
   * (the class, and other instances, are untouched); removing the last one unwraps it. Hooks see
   * every call: training or eval, inside withoutStatUpdates, noGrad or an ALR search or trace.
   */
  registerForwardHook(hook: ForwardHook): HookHandle {
    if (typeof hook !== 'function')
      throw new Error(`${this.constructor.name}.registerForwardHook: hook must be a function, got ${typeof hook}`);
    let hooks = forwardHooks.get(this);
    if (!hooks) {
      const table = new Map<number, ForwardHook>();
      hooks = table;
      forwardHooks.set(this, table);
      const own = Object.prototype.hasOwnProperty.call(this, 'forward');
      const inner = this.forward;
      const wrapped = function (this: Module, ...args: unknown[]): Tensor {
        let out = (inner as (...a: unknown[]) => Tensor).apply(this, args);
        for (const h of [...table.values()]) {
          const r = h(this, args, out);
          if (r !== undefined) {
            if (!(r instanceof Tensor))
              throw new Error(
                `${this.constructor.name}: a forward hook returned ${typeof r}, expected a tensor or undefined`,
              );
            out = r;
          }
        }
        return out;
      };
      Object.defineProperty(this, 'forward', { value: wrapped, writable: true, configurable: true, enumerable: false });
      unwrapHooks.set(this, () => {
        if (own)
          Object.defineProperty(this, 'forward', {
            value: inner,
            writable: true,
            configurable: true,
            enumerable: false,
          });
        else delete (this as { forward?: unknown }).forward;
      });
    }
    const id = nextHookId++;
    hooks.set(id, hook);
    const table = hooks;
    return {
      remove: () => {
        if (!table.delete(id) || table.size > 0 || forwardHooks.get(this) !== table) return;
        forwardHooks.delete(this);
        unwrapHooks.get(this)?.();
        unwrapHooks.delete(this);
      },
    };
  }

  /** The number of forward hooks registered on this module (not its children). */
  forwardHookCount(): number {
    return forwardHooks.get(this)?.size ?? 0;
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
