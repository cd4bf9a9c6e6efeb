// Weight averaging: nn.EMA keeps an exponential moving average of a module's parameters in a
// copy of the module (torch.optim.swa_utils.AveragedModel with an EMA update, or timm's
// ModelEma). update() is one fused kernel per group of up to 8 parameter tensors (the bind
// group's limit), and a buffer copy for each buffer (BatchNorm running statistics, spectral
// norm's u, v): nothing is read back. The copy is a child named `module`, so checkpoints save it
// under AveragedModel's names (`module.0.weight`, ...).
import {
  assign,
  device,
  dispatch,
  kernel,
  keep,
  noGrad,
  Params,
  requireGrad,
  shapeStr,
  Tensor,
  tidy,
  type Binding,
} from '../engine/web.js';
import { checkOptions, num } from '../engine/options.js';
import { emaKernel } from '../shaders/ema.js';
import { WG } from '../shaders/kernel.js';
import { Module } from './module.js';

function copyTensor(t: Tensor): Tensor {
  const c = keep(Tensor.empty(t.shape, t.dtype));
  assign(c, t);
  if (t.requiresGrad) requireGrad(c);
  if (t.name !== undefined) c.name = t.name;
  return c;
}

function copyValue(v: unknown, memo: Map<object, unknown>): unknown {
  if (v === null || typeof v !== 'object') return v; // primitives; functions are shared
  if (memo.has(v)) return memo.get(v);
  if (v instanceof Tensor) {
    const c = v.disposed ? v : copyTensor(v);
    memo.set(v, c);
    return c;
  }
  if (v instanceof Map) {
    const out = new Map();
    memo.set(v, out);
    for (const [k, x] of v) out.set(k, copyValue(x, memo));
    return out;
  }
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    memo.set(v, out);
    for (const x of v) out.push(copyValue(x, memo));
    return out;
  }
  if (ArrayBuffer.isView(v)) {
    const out = (v as unknown as { slice(): object }).slice();
    memo.set(v, out);
    return out;
  }
  const proto = Object.getPrototypeOf(v);
  if (v instanceof Module || proto === Object.prototype || proto === null) {
    const out = Object.create(proto);
    memo.set(v, out);
    for (const key of Reflect.ownKeys(v)) {
      // forward hooks wrap `forward` on the instance: the copy gets none
      if (v instanceof Module && key === 'forward') continue;
      const d = Object.getOwnPropertyDescriptor(v, key)!;
      if ('value' in d) d.value = copyValue(d.value, memo);
      Object.defineProperty(out, key, d);
    }
    return out;
  }
  return v; // other objects (a HostRng, a config) are shared
}

/**
 * A deep copy of a module (copy.deepcopy): new parameters and buffers with the same values,
 * the same classes, training mode and options. Fields that point at the same tensor or child
 * still do in the copy; functions (spectral norm's weight hook) are shared, and read their
 * layer's own buffers; forward hooks are not copied.
 */
export function cloneModule<M extends Module>(m: M): M {
  if (!(m instanceof Module)) throw new Error(`cloneModule: expected a Module, got ${m === null ? 'null' : typeof m}`);
  return noGrad(() => copyValue(m, new Map()) as M);
}

export interface EMAOptions {
  /** weight of the old average: ema ← decay·ema + (1 − decay)·param; default 0.999 */
  decay?: number;
}

/**
 * An exponential moving average of `source`'s parameters, kept in `ema.module` (a copy made at
 * construction). Call `ema.update()` after each optimiser step; sample or evaluate with
 * `ema.module` (usually `ema.module.eval()`). Buffers are copied from the source at each update.
 */
export class EMA extends Module {
  readonly module: Module;
  private decayValue: number;
  private readonly source: Module;
  private readonly pairs: [Tensor, Tensor][];
  private readonly bufferPairs: [Tensor, Tensor][];

  constructor(source: Module, opts: EMAOptions = {}) {
    super();
    if (!(source instanceof Module))
      throw new Error(`EMA: expected a Module to average, got ${source === null ? 'null' : typeof source}`);
    const o = checkOptions('EMA', opts, { decay: num({ min: 0, max: 1 }) });
    this.decayValue = o.decay ?? 0.999;
    this.source = source;
    this.module = this.registerModule('module', cloneModule(source));
    this.pairs = this.match('parameters', this.module.namedParameters(), source.namedParameters());
    this.bufferPairs = this.match('buffers', this.module.namedBuffers(), source.namedBuffers());
  }

  private match(what: string, mine: [string, Tensor][], theirs: [string, Tensor][]): [Tensor, Tensor][] {
    const src = new Map(theirs);
    if (mine.length !== theirs.length || mine.some(([n, t]) => src.get(n)?.shape.join() !== t.shape.join())) {
      throw new Error(`EMA: the source module's ${what} changed since the copy was made`);
    }
    return mine.map(([n, t]) => [t, src.get(n)!]);
  }

  get decay(): number {
    return this.decayValue;
  }
  set decay(d: number) {
    checkOptions('EMA', { decay: d }, { decay: num({ min: 0, max: 1 }) });
    this.decayValue = d;
  }

  /** The EMA is not a model to call: forward runs the averaged copy. */
  forward(x: Tensor): Tensor {
    return this.module.forward(x);
  }

  /**
   * ema ← decay·ema + (1 − decay)·param for every parameter (`decay` overrides the option for
   * this call, e.g. 0 to copy), then every buffer copied from the source.
   */
  update(decay = this.decayValue): void {
    checkOptions('EMA.update', { decay }, { decay: num({ min: 0, max: 1 }) });
    for (const [e, p] of [...this.pairs, ...this.bufferPairs]) {
      if (e.disposed || p.disposed)
        throw new Error(
          `EMA.update: tensor ${shapeStr(p.shape)} ${e.disposed ? 'of the average' : 'of the source'} was released`,
        );
    }
    const w = 1 - decay;
    const perDispatch = Math.max(1, Math.min(8, Math.floor(device().limits.maxStorageBuffersPerShaderStage / 2)));
    let group: { vec: boolean; count: number; bindings: Binding[] }[] = [];
    const run = () => {
      if (!group.length) return;
      const vec = group[0].vec;
      const k = kernel('ema', `ema:${vec}:${group.length}`, () => emaKernel(vec, group.length));
      const starts: number[] = [];
      let end = 0;
      for (const l of group) starts.push(end), (end += Math.ceil(l.count / WG) * WG);
      const groups = Math.ceil(end / WG);
      const gy = Math.ceil(groups / 65535);
      dispatch(
        k,
        group.flatMap((l) => l.bindings),
        new Params()
          .f32(w)
          .dims8(starts)
          .dims8(group.map((l) => l.count)),
        [Math.ceil(groups / gy), gy],
      );
      group = [];
    };
    for (const [e, p] of this.pairs) {
      if (e.size === 0) continue;
      const bindings = [e.binding('EMA.update'), p.binding('EMA.update')];
      // vec4 when both pooled buffers hold the rounded-up length (they come in 16-byte multiples)
      const padded = Math.ceil(e.size / 4) * 16;
      const vec = bindings.every((b) => b.buffer.size >= padded);
      if (vec) for (const b of bindings) b.bytes = padded;
      const l = { vec, count: vec ? padded / 16 : e.size, bindings };
      if (group.length === perDispatch || (group.length && group[0].vec !== vec)) run();
      group.push(l);
    }
    run();
    tidy(() => {
      for (const [e, b] of this.bufferPairs) assign(e, b);
    });
  }
}
