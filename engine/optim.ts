// Optimisers with PyTorch semantics. Each step is one fused kernel per parameter that updates
// the parameter and its state in place; nothing is read back. Step counts and bias
// corrections live on the host and reach the kernel as uniforms.
import { keep, shapeStr, Tensor } from './tensor.js';
import { dispatch, kernel, Params, upload, type Binding } from './runtime.js';
import { hostEffect } from './capture.js';
import { groups1d } from './ops/map.js';
import { zeros } from './ops/create.js';
import { device } from './device.js';
import { adamKernel, sgdKernel } from '../shaders/optim.js';
import { read, WG, write, type KernelDecl } from '../shaders/kernel.js';
import { any, arrayOf, bool, checkOptions, num, unsupported, type OptionSpec } from './options.js';

function checkParams(op: string, params: Tensor[]): Tensor[] {
  const seen = new Set<Tensor>();
  params.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new Error(`${op}: params[${i}] is not a tensor`);
    if (p.dtype !== 'f32') throw new Error(`${op}: params[${i}] ${shapeStr(p.shape)} is ${p.dtype}, expected f32`);
    if (p.disposed) throw new Error(`${op}: params[${i}] ${shapeStr(p.shape)} was already released`);
    if (seen.has(p)) throw new Error(`${op}: params[${i}] ${shapeStr(p.shape)} appears more than once`);
    seen.add(p);
  });
  return [...params];
}

function checkLr(op: string, lr: number): number {
  if (!(Number.isFinite(lr) && lr >= 0)) throw new Error(`${op}: lr must be a finite number >= 0, got ${lr}`);
  return lr;
}

function checkWeightDecay(op: string, wd: number): number {
  if (!(Number.isFinite(wd) && wd >= 0)) throw new Error(`${op}: weightDecay must be a finite number >= 0, got ${wd}`);
  return wd;
}

/** The gradients for a step: explicit, or each parameter's .grad; count and shapes checked. */
function stepGrads(op: string, params: Tensor[], grads?: Tensor[]): Tensor[] {
  if (grads && grads.length !== params.length) {
    throw new Error(`${op}: got ${grads.length} gradients for ${params.length} parameters`);
  }
  return params.map((p, i) => {
    const g = grads ? grads[i] : p.grad;
    if (!g)
      throw new Error(`${op}: parameter ${i} ${shapeStr(p.shape)} has no gradient (run backward first or pass grads)`);
    if (g.shape.join() !== p.shape.join()) {
      throw new Error(`${op}: gradient ${i} has shape ${shapeStr(g.shape)}, parameter ${i} has ${shapeStr(p.shape)}`);
    }
    if (g.dtype !== 'f32') throw new Error(`${op}: gradient ${i} ${shapeStr(g.shape)} is ${g.dtype}, expected f32`);
    return g;
  });
}

/**
 * Bindings and workgroups for an update kernel over same-sized tensors. The vec4 kernel is ~3x
 * faster on lavapipe (per-invocation overhead dominates); lengths that are not a multiple of 4
 * still use it by binding the rounded-up length: pooled buffers come in 16-byte multiples, and
 * the padding lanes compute values that nothing reads.
 */
function launch(
  op: string,
  ts: Tensor[],
): { vec: boolean; count: number; groups: [number, number]; bindings: Binding[] } {
  const n = ts[0].size;
  const bindings = ts.map((t) => t.binding(op));
  const padded = Math.ceil(n / 4) * 16;
  const vec = bindings.every((b) => b.buffer.size >= padded);
  const count = vec ? padded / 16 : n;
  if (vec) for (const b of bindings) b.bytes = padded;
  return { vec, count, groups: groups1d(count), bindings };
}

/**
 * A parameter group (torch.optim's param_groups): its own lr and weight decay. The optimiser's
 * `lr` is the base; a group keeps its ratio to it, so a schedule that sets `lr` scales every
 * group, as PyTorch's schedulers scale each group's lr.
 */
export interface ParamGroup {
  params: Tensor[];
  lr?: number;
  weightDecay?: number;
}

interface Groups {
  params: Tensor[];
  /** group index of each parameter */
  groupOf: number[];
  groups: { lrRatio: number; weightDecay: number }[];
}

/** What a parameter group may set: anything else (betas, momentum, ...) per group is refused. */
const GROUP_SPEC: OptionSpec = { params: any, lr: any, weightDecay: any };

function paramGroups(op: string, params: Tensor[] | ParamGroup[], lr: number, weightDecay: number): Groups {
  if (!Array.isArray(params)) throw new Error(`${op}: params must be an array of tensors or of parameter groups`);
  const isGroups = params.length > 0 && !(params[0] instanceof Tensor);
  const list: ParamGroup[] = isGroups ? (params as ParamGroup[]) : [{ params: params as Tensor[] }];
  const flat: Tensor[] = [];
  const groupOf: number[] = [];
  const groups = list.map((g, j) => {
    if (!g || !Array.isArray(g.params)) throw new Error(`${op}: parameter group ${j} needs a params array`);
    checkOptions(`${op}: parameter group ${j}`, g, GROUP_SPEC);
    const glr = g.lr === undefined ? lr : checkLr(`${op}: group ${j}`, g.lr);
    if (g.lr !== undefined && lr === 0 && glr !== 0)
      throw new Error(`${op}: group ${j} sets lr ${glr} but the base lr is 0; give the base lr a value > 0`);
    for (const p of g.params) flat.push(p), groupOf.push(j);
    return {
      lrRatio: lr === 0 ? 1 : glr / lr,
      weightDecay: g.weightDecay === undefined ? weightDecay : checkWeightDecay(`${op}: group ${j}`, g.weightDecay),
    };
  });
  return { params: checkParams(op, flat), groupOf, groups };
}

/** Optimiser state tensors: zeros that outlive tidy scopes. */
const stateLike = (p: Tensor) => keep(zeros(p.shape));

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  /** L2 penalty added to the gradient (torch.optim.Adam's weight_decay, not AdamW) */
  weightDecay?: number;
}

// lr, eps, weightDecay and betas' ranges are checked below with their own messages
const ADAM_SPEC: OptionSpec = {
  lr: any,
  betas: arrayOf(any, 2),
  eps: any,
  weightDecay: any,
  amsgrad: unsupported('AMSGrad is not implemented'),
  maximize: unsupported('negate the loss instead'),
  foreach: unsupported('every step is already one fused kernel', [false, true, null]),
  fused: unsupported('every step is already one fused kernel', [false, true, null]),
  capturable: unsupported('not applicable', [false]),
  differentiable: unsupported('optimiser steps are not differentiable'),
};

export interface AdamState {
  step: number;
  m: Tensor[];
  v: Tensor[];
}

/** Adam as torch.optim.Adam (amsgrad off). */
export class Adam {
  private readonly params: Tensor[];
  private readonly groups: Groups;
  private readonly m: Tensor[];
  private readonly v: Tensor[];
  private t = 0;
  private lrValue: number;
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  /** AdamW: weight decay shrinks the parameters directly instead of adding to the gradient */
  protected readonly decoupled: boolean = false;
  private disposed = false;

  constructor(params: Tensor[] | ParamGroup[], opts: AdamOptions = {}) {
    checkOptions(new.target.name, opts, ADAM_SPEC);
    this.lrValue = checkLr('Adam', opts.lr ?? 1e-3);
    const [b1, b2] = opts.betas ?? [0.9, 0.999];
    for (const [i, b] of [b1, b2].entries()) {
      if (!(typeof b === 'number' && b >= 0 && b < 1)) throw new Error(`Adam: betas[${i}] must be in [0, 1), got ${b}`);
    }
    this.betas = [b1, b2];
    this.eps = opts.eps ?? 1e-8;
    if (!(typeof this.eps === 'number' && this.eps > 0 && Number.isFinite(this.eps)))
      throw new Error(`Adam: eps must be > 0, got ${this.eps}`);
    this.weightDecay = checkWeightDecay('Adam', opts.weightDecay ?? 0);
    this.groups = paramGroups(new.target.name, params, this.lrValue, this.weightDecay);
    this.params = this.groups.params;
    this.m = this.params.map(stateLike);
    this.v = this.params.map(stateLike);
  }

  get lr(): number {
    return this.lrValue;
  }
  set lr(value: number) {
    this.lrValue = checkLr('Adam', value);
  }

  /** The lr parameter group `i` steps with now. */
  groupLr(i: number): number {
    const g = this.groups.groups[i];
    if (!g) throw new Error(`Adam.groupLr: no parameter group ${i} (there are ${this.groups.groups.length})`);
    return this.lrValue * g.lrRatio;
  }

  private alive(op: string): void {
    if (this.disposed) throw new Error(`${op}: the optimiser was disposed`);
  }

  /** One update of every parameter (grads default to each parameter's .grad). */
  step(grads?: Tensor[]): void {
    this.alive('Adam.step');
    const gs = stepGrads('Adam.step', this.params, grads);
    // the step count and lr are host state: a replayed step advances and reads them again
    hostEffect(() => this.t++);
    const [b1, b2] = this.betas;
    // tensors in groups of as many as one bind group may hold (at most 8, the uniforms' two
    // 8-entry arrays), one dispatch per group
    const perDispatch = Math.max(1, Math.min(8, Math.floor(device().limits.maxStorageBuffersPerShaderStage / 4)));
    let group: ReturnType<typeof launch>[] = [];
    let groupId = 0; // the parameter group of the tensors in `group`: one dispatch shares its uniforms
    const run = () => {
      if (!group.length) return;
      const vec = group[0].vec;
      const k = kernel('adam', `adam:${vec}:${group.length}`, () => adamKernel(vec, group.length));
      // each tensor starts on a workgroup boundary (see adamKernel)
      const starts: number[] = [];
      let end = 0;
      for (const l of group) starts.push(end), (end += Math.ceil(l.count / WG) * WG);
      const { lrRatio, weightDecay } = this.groups.groups[groupId];
      const counts = group.map((l) => l.count);
      const u = () => {
        const lr = this.lrValue * lrRatio;
        const stepSize = lr / (1 - b1 ** this.t);
        const sqrtBc2 = Math.sqrt(1 - b2 ** this.t);
        return new Params()
          .f32(
            stepSize,
            b1,
            b2,
            this.eps,
            this.decoupled ? 0 : weightDecay,
            sqrtBc2,
            this.decoupled ? 1 - lr * weightDecay : 1,
          )
          .dims8(starts)
          .dims8(counts);
      };
      dispatch(
        k,
        group.flatMap((l) => l.bindings),
        u,
        groups1d(end),
      );
      group = [];
    };
    this.params.forEach((p, i) => {
      if (p.size === 0) return;
      const l = launch('Adam.step', [p, gs[i], this.m[i], this.v[i]]);
      const g = this.groups.groupOf[i];
      if (group.length === perDispatch || (group.length && (group[0].vec !== l.vec || groupId !== g))) run();
      groupId = g;
      group.push(l);
    });
    run();
  }

  /** The step count and the live moment tensors (owned by the optimiser: read, do not dispose). */
  state(): AdamState {
    this.alive('Adam.state');
    return { step: this.t, m: [...this.m], v: [...this.v] };
  }

  /** Restores a state saved from state() (moments as host arrays). */
  loadState(s: { step: number; m: Float32Array[]; v: Float32Array[] }): void {
    this.alive('Adam.loadState');
    if (!Number.isInteger(s.step) || s.step < 0)
      throw new Error(`Adam.loadState: step must be an integer >= 0, got ${s.step}`);
    for (const key of ['m', 'v'] as const) {
      const arrs = s[key];
      if (!Array.isArray(arrs) || arrs.length !== this.params.length) {
        throw new Error(`Adam.loadState: ${key} has ${arrs?.length} arrays for ${this.params.length} parameters`);
      }
      arrs.forEach((a, i) => {
        if (a.length !== this.params[i].size) {
          throw new Error(
            `Adam.loadState: ${key}[${i}] has ${a.length} values, parameter ${i} ${shapeStr(this.params[i].shape)} has ${this.params[i].size}`,
          );
        }
      });
    }
    this.params.forEach((_, i) => {
      upload(this.m[i].binding('Adam.loadState').buffer, Float32Array.from(s.m[i]));
      upload(this.v[i].binding('Adam.loadState').buffer, Float32Array.from(s.v[i]));
    });
    this.t = s.step;
  }

  /** The state a checkpoint stores, named as torch.optim's state_dict names it. */
  checkpointState(): OptimizerState {
    const s = this.state();
    return { step: s.step, slots: { exp_avg: s.m, exp_avg_sq: s.v } };
  }

  restoreState(step: number, slots: Record<string, Float32Array[]>): void {
    this.loadState({ step, m: slots.exp_avg, v: slots.exp_avg_sq });
  }

  /** Releases the moment tensors. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of [...this.m, ...this.v]) t.dispose();
  }
}

/**
 * AdamW (torch.optim.AdamW): p ← p·(1 − lr·weightDecay), then the Adam update without the decay
 * term in the gradient. weightDecay defaults to 1e-2, as in PyTorch.
 */
export class AdamW extends Adam {
  protected override readonly decoupled = true;
  constructor(params: Tensor[] | ParamGroup[], opts: AdamOptions = {}) {
    checkOptions('AdamW', opts, ADAM_SPEC);
    super(params, { ...opts, weightDecay: opts.weightDecay ?? 1e-2 });
  }
}

/** What a checkpoint stores of an optimiser: its step count and per-parameter state tensors. */
export interface OptimizerState {
  step: number;
  /** slot name (e.g. 'exp_avg') -> one live tensor per parameter (owned by the optimiser) */
  slots: Record<string, Tensor[]>;
}

/** An optimiser that checkpoints can save and restore (Adam, AdamW, SGD). */
export interface Checkpointable {
  checkpointState(): OptimizerState;
  restoreState(step: number, slots: Record<string, Float32Array[]>): void;
}

export interface SGDOptions {
  lr?: number;
  momentum?: number;
  /** dampening of the momentum: buf = momentum·buf + (1 − dampening)·g after the first step (default 0) */
  dampening?: number;
  /** Nesterov momentum: step along g + momentum·buf (needs momentum > 0 and dampening 0, as PyTorch) */
  nesterov?: boolean;
  weightDecay?: number;
}

// lr, momentum and weightDecay's ranges are checked below with their own messages
const SGD_SPEC: OptionSpec = {
  lr: any,
  momentum: any,
  dampening: num({ min: 0, max: 1 }),
  nesterov: bool,
  weightDecay: any,
  maximize: unsupported('negate the loss instead'),
  foreach: unsupported('every step is already one fused kernel', [false, true, null]),
  fused: unsupported('every step is already one fused kernel', [false, true, null]),
  differentiable: unsupported('optimiser steps are not differentiable'),
};

/**
 * SGD with momentum, dampening and Nesterov momentum (torch.optim.SGD): d = g + wd·p;
 * buf = d at the first step, momentum·buf + (1 − dampening)·d after; p −= lr·(d + momentum·buf)
 * with Nesterov, lr·buf without.
 */
function sgdFullKernel(vec: boolean): KernelDecl {
  const T = vec ? 'vec4<f32>' : 'f32';
  return {
    params: 'n: u32, lr: f32, momentum: f32, wd: f32, first: u32, damp1: f32, nesterov: u32',
    buffers: [write('p', T), read('g', T), write('buf', T)],
    guard: 'u.n',
    body: `
  let pi = p[i];
  var d = g[i];
  if (u.wd != 0.0) { d += u.wd * pi; }
  var b = d;
  if (u.first == 0u) { b = u.momentum * buf[i] + u.damp1 * d; }
  buf[i] = b;
  if (u.nesterov != 0u) { d = d + u.momentum * b; } else { d = b; }
  p[i] = pi - u.lr * d;`,
  };
}

/** SGD as torch.optim.SGD (momentum, dampening, Nesterov, weight decay). */
export class SGD {
  private readonly params: Tensor[];
  private readonly groups: Groups;
  private readonly bufs: Tensor[] | null;
  private lrValue: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  private steps = 0;
  private disposed = false;

  constructor(params: Tensor[] | ParamGroup[], opts: SGDOptions = {}) {
    checkOptions('SGD', opts, SGD_SPEC);
    this.lrValue = checkLr('SGD', opts.lr ?? 1e-3);
    this.momentum = opts.momentum ?? 0;
    if (!(typeof this.momentum === 'number' && this.momentum >= 0 && Number.isFinite(this.momentum)))
      throw new Error(`SGD: momentum must be >= 0, got ${this.momentum}`);
    this.dampening = opts.dampening ?? 0;
    this.nesterov = opts.nesterov ?? false;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new Error(
        `SGD: nesterov needs momentum > 0 and dampening 0 (as PyTorch), got momentum ${this.momentum}, dampening ${this.dampening}`,
      );
    }
    this.weightDecay = checkWeightDecay('SGD', opts.weightDecay ?? 0);
    this.groups = paramGroups('SGD', params, this.lrValue, this.weightDecay);
    this.params = this.groups.params;
    this.bufs = this.momentum > 0 ? this.params.map(stateLike) : null;
  }

  get lr(): number {
    return this.lrValue;
  }
  set lr(value: number) {
    this.lrValue = checkLr('SGD', value);
  }

  step(grads?: Tensor[]): void {
    if (this.disposed) throw new Error('SGD.step: the optimiser was disposed');
    const gs = stepGrads('SGD.step', this.params, grads);
    const mom = this.bufs !== null;
    // plain momentum keeps the original kernel; dampening or Nesterov take the full one
    const full = mom && (this.nesterov || this.dampening !== 0);
    this.params.forEach((p, i) => {
      if (p.size === 0) return;
      const { vec, count, groups, bindings } = launch('SGD.step', mom ? [p, gs[i], this.bufs![i]] : [p, gs[i]]);
      const k = full
        ? kernel('sgd', `sgd-full:${vec}`, () => sgdFullKernel(vec))
        : kernel('sgd', `sgd:${vec}:${mom}`, () => sgdKernel(vec, mom));
      const g = this.groups.groups[this.groups.groupOf[i]];
      // lr and the first-step flag are host state: a replayed step reads them again
      const u = () => {
        const p = new Params()
          .u32(count)
          .f32(this.lrValue * g.lrRatio, this.momentum, g.weightDecay)
          .u32(this.steps === 0 ? 1 : 0);
        return full ? p.f32(1 - this.dampening).u32(this.nesterov ? 1 : 0) : p;
      };
      dispatch(k, bindings, u, groups);
    });
    hostEffect(() => this.steps++);
  }

  checkpointState(): OptimizerState {
    if (this.disposed) throw new Error('SGD.checkpointState: the optimiser was disposed');
    return { step: this.steps, slots: this.bufs ? { momentum_buffer: [...this.bufs] } : {} };
  }

  /** Restores step count and momentum buffers (so a resumed run continues exactly). */
  restoreState(step: number, slots: Record<string, Float32Array[]>): void {
    if (this.disposed) throw new Error('SGD.restoreState: the optimiser was disposed');
    if (!Number.isInteger(step) || step < 0)
      throw new Error(`SGD.restoreState: step must be an integer >= 0, got ${step}`);
    if (this.bufs) {
      const arrs = slots.momentum_buffer;
      if (!arrs || arrs.length !== this.params.length)
        throw new Error(
          `SGD.restoreState: momentum_buffer has ${arrs?.length} arrays for ${this.params.length} parameters`,
        );
      arrs.forEach((a, i) => {
        if (a.length !== this.params[i].size)
          throw new Error(
            `SGD.restoreState: momentum_buffer[${i}] has ${a.length} values, parameter ${i} has ${this.params[i].size}`,
          );
      });
      this.bufs.forEach((b, i) => upload(b.binding('SGD.restoreState').buffer, Float32Array.from(arrs[i])));
    }
    this.steps = step;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.bufs ?? []) t.dispose();
  }
}
