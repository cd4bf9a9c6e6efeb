// Compiled steps: E.compile(fn) runs a step once eagerly (kernel variants get tuned), captures the
// second call's commands, and from then on replays them: no op runs in JavaScript, no tensor is
// made, no bind group is looked up; host state the kernels depend on (optimiser step counts, the
// RNG counter) is advanced by the effects the ops recorded. The replay runs the very kernels the
// eager step ran, in the same order, on the same buffers, so it gives the same bits.
import { beginCapture, capturing, endCapture, type Command, type DispatchCommand } from './capture.js';
import { device } from './device.js';
import { pool } from './buffer_pool.js';
import { copyBuffer, ReplayPlan, UNIFORM_SLOT_BYTES, type ReplayItem } from './runtime.js';
import { keep, shapeStr, Tensor, tidy } from './tensor.js';
import { checkOptions, bool } from './options.js';
import { fuseCommands, type FusionReport } from './fusion.js';
import { dropConstantCommands, eliminateDeadCommands } from './prune.js';
import { reuseRows } from './row_reuse.js';
import { tuningPending } from './tune.js';

export interface CompileOptions {
  /** false: always run eagerly (the same function, the same results; for comparison and debugging) */
  enabled?: boolean;
  /** merge elementwise chains into single kernels (default true) */
  fuse?: boolean;
  /** throw when a step cannot be captured instead of running it eagerly */
  strict?: boolean;
}

const OPTION_SPEC = { enabled: bool, fuse: bool, strict: bool };

/** Eager calls at most while the tuner's timings are still outstanding (a loop that never submits would wait forever). */
const MAX_WARMUP = 8;

export interface CompiledStats {
  /** calls that ran the function eagerly (the warm-up call per shape, and every call of a step that fell back) */
  eagerCalls: number;
  captures: number;
  replays: number;
  /** dispatches per replay of the latest capture, after fusion */
  dispatches: number;
  /** dispatches the captured step recorded before fusion */
  recordedDispatches: number;
  /** recorded dispatches a replay skips: results nobody reads, constants the capture call already wrote, and products rebuilt by copies */
  skippedDispatches: number;
  /** floating-point operations per replay in matrix products and convolutions (2·M·N·K each, nominal), for GFLOP/s */
  flops: number;
}

/** A compiled step: call it like the function it wraps. */
export interface CompiledStep<A extends Tensor[], R> {
  (...args: A): R;
  /** why the latest shape runs eagerly (null while it captures or replays) */
  readonly fallbackReason: string | null;
  readonly stats: Readonly<CompiledStats>;
  /** what fusion did in the latest capture: the fused kernels, their ops and WGSL */
  readonly fusion: FusionReport | null;
  /** the kernels a replay dispatches, in order (fused kernels named after the ops they merged) */
  readonly kernelNames: string[];
  /** releases the captured steps' buffers; the function stays usable (it captures again) */
  dispose(): void;
}

interface Entry {
  calls: number;
  device: GPUDevice;
  /** the step's own copies of its arguments, bound by the recorded commands */
  placeholders: Tensor[];
  outputs: Tensor[];
  /** rebuilds the caller's result from fresh copies of the outputs */
  rebuild: ((outs: Tensor[]) => unknown) | null;
  plan: ReplayPlan | null;
  /** live buffers the plan binds (parameters, optimiser state, outputs) */
  pinned: GPUBuffer[];
  /** temporaries the plan owns */
  reserved: GPUBuffer[];
  fallback: string | null;
  fusion: FusionReport | null;
}

function argKey(args: Tensor[]): string {
  return args.map((a) => `${a.dtype}${shapeStr(a.shape)}`).join(';');
}

/** Replaces each tensor in a result (tensors, arrays, plain objects) by a slot; returns the rebuild. */
function template(result: unknown, outputs: Tensor[]): (outs: Tensor[]) => unknown {
  if (result instanceof Tensor) {
    let i = outputs.indexOf(result);
    if (i < 0) i = outputs.push(result) - 1;
    return (outs) => outs[i];
  }
  if (Array.isArray(result)) {
    const parts = result.map((x) => template(x, outputs));
    return (outs) => parts.map((p) => p(outs));
  }
  if (result && typeof result === 'object' && Object.getPrototypeOf(result) === Object.prototype) {
    const parts = Object.entries(result).map(([k, v]) => [k, template(v, outputs)] as const);
    return (outs) => Object.fromEntries(parts.map(([k, p]) => [k, p(outs)]));
  }
  if (result === undefined || result === null || typeof result !== 'object') return () => result;
  throw new Error(
    `compile: a compiled step may return tensors, arrays and plain objects of them, got ${Object.prototype.toString.call(result)}`,
  );
}

function copyOf(t: Tensor): Tensor {
  const c = Tensor.empty(t.shape, t.dtype);
  copyBuffer(t.binding('compile').buffer, c.binding('compile').buffer, t.size * 4);
  return c;
}

function buffersOf(commands: Command[]): Set<GPUBuffer> {
  const set = new Set<GPUBuffer>();
  for (const c of commands) {
    if (c.kind === 'dispatch') for (const b of c.bindings) set.add(b.buffer);
    else if (c.kind === 'copy') set.add(c.src), set.add(c.dst);
  }
  return set;
}

/** Lays the dispatches' uniforms out in slots and turns commands into replay items. */
function plan(commands: Command[]): ReplayPlan {
  const dispatches = commands.filter((c): c is DispatchCommand => c.kind === 'dispatch' && c.kernel.uniforms);
  const image = new Uint8Array(Math.max(1, dispatches.length) * UNIFORM_SLOT_BYTES);
  let slot = 0;
  const items: ReplayItem[] = commands.map((c) => {
    if (c.kind !== 'dispatch') return c;
    const s = c.kernel.uniforms ? slot++ : 0;
    if (c.params) image.set(c.params, s * UNIFORM_SLOT_BYTES);
    return {
      kind: 'dispatch',
      name: c.kernel.name,
      kernel: c.kernel,
      bindings: c.bindings,
      slot: s,
      groups: c.groups,
      dynamic: c.dynamic,
    };
  });
  return new ReplayPlan(items, image);
}

/**
 * Compiles a training step. `fn` takes tensors (the step's inputs: a batch, noise) and returns
 * tensors, arrays or plain objects of them; it may read and update any state it closes over
 * (parameters, optimisers, running statistics) in place. The first call for a set of argument
 * shapes runs eagerly; the second is captured; later calls replay it. Results are fresh tensors
 * owned by the caller, as from the eager function, but carry no autograd graph.
 *
 * A step falls back to running eagerly (`fallbackReason` says why; `strict` throws instead) when
 * it reads a tensor back, uploads host data, or replaces a tensor that existed before it (e.g.
 * accumulating into .grad by replacing it). A replay repeats the captured host decisions: keep
 * data-dependent host branches out of compiled steps. Releasing a tensor the step uses (a
 * parameter, an optimiser) makes the next call capture again.
 */
export function compile<A extends Tensor[], R>(
  fn: (...args: A) => R,
  options: CompileOptions = {},
): CompiledStep<A, R> {
  if (typeof fn !== 'function') throw new Error(`compile: expected a function, got ${typeof fn}`);
  const opts = checkOptions('compile', options, OPTION_SPEC);
  const entries = new Map<string, Entry>();
  const stats: CompiledStats = {
    eagerCalls: 0,
    captures: 0,
    replays: 0,
    dispatches: 0,
    recordedDispatches: 0,
    skippedDispatches: 0,
    flops: 0,
  };
  let latest: Entry | null = null;

  const release = (e: Entry) => {
    if (e.device === device()) {
      for (const b of e.pinned) pool.unpin(b);
      for (const b of e.reserved) pool.release(b);
      for (const t of [...e.placeholders, ...e.outputs]) t.dispose();
    }
    e.plan?.destroy();
    e.plan = null;
    e.pinned = [];
    e.reserved = [];
    e.placeholders = [];
    e.outputs = [];
    e.rebuild = null;
  };

  // every call runs in a tidy scope, as the capture does: an eager call (the first, while kernels
  // are timed, a fallback, enabled: false) releases its temporaries like a replay
  const eager = (args: A): R => {
    stats.eagerCalls++;
    return tidy(() => fn(...args));
  };

  const capture = (e: Entry, args: A): R => {
    e.placeholders = args.map((a) => keep(copyOf(a)));
    const cap = beginCapture();
    let result: R;
    try {
      result = tidy(() => fn(...(e.placeholders as A)));
    } finally {
      endCapture();
      pool.endQuarantine();
    }
    stats.captures++;
    if (cap.failure) {
      e.fallback = cap.failure;
      for (const t of e.placeholders) t.dispose();
      e.placeholders = [];
      if (opts.strict) throw new Error(`compile: the step cannot be captured: ${cap.failure}`);
      return result;
    }
    const outputs: Tensor[] = [];
    try {
      e.rebuild = template(result, outputs);
    } catch (err) {
      for (const t of e.placeholders) t.dispose();
      e.placeholders = [];
      throw err;
    }
    // the step holds its outputs' storage through aliases; the capture call's own results go to
    // the caller, as an eager call's would
    e.outputs = outputs.map((t) => keep(Tensor.alias(t, t.shape)));
    const live = new Set([...buffersOf(cap.commands)].filter((b) => !pool.isFree(b)));
    const kept = reuseRows(eliminateDeadCommands(dropConstantCommands(cap.commands, live), live));
    const used = buffersOf(kept);
    const fused = opts.fuse === false ? { commands: kept, report: null } : fuseCommands(kept, live);
    e.fusion = fused.report;
    for (const b of used) {
      if (live.has(b)) pool.pin(b), e.pinned.push(b);
      else pool.reserve(b), e.reserved.push(b);
    }
    e.plan = plan(fused.commands);
    stats.recordedDispatches = cap.commands.filter((c) => c.kind === 'dispatch').length;
    stats.skippedDispatches = stats.recordedDispatches - kept.filter((c) => c.kind === 'dispatch').length;
    stats.dispatches = e.plan.dispatches;
    stats.flops = fused.commands.reduce((n, c) => n + (c.kind === 'dispatch' ? (c.flops ?? 0) : 0), 0);
    return result;
  };

  const replay = (e: Entry, args: A): R => {
    args.forEach((a, i) =>
      copyBuffer(a.binding('compile').buffer, e.placeholders[i].binding('compile').buffer, a.size * 4),
    );
    e.plan!.run();
    stats.replays++;
    return e.rebuild!(e.outputs.map(copyOf)) as R;
  };

  const step = (...args: A): R => {
    args.forEach((a, i) => {
      if (!(a instanceof Tensor))
        throw new Error(
          `compile: argument ${i} is not a tensor (a compiled step takes tensors; close over everything else)`,
        );
      if (a.disposed) throw new Error(`compile: argument ${i} ${shapeStr(a.shape)} was already released`);
    });
    // inside another step's capture, run the ops so that capture records them
    if (opts.enabled === false || capturing()) return eager(args);
    const key = argKey(args);
    let e = entries.get(key);
    if (!e || e.device !== device()) {
      e = {
        calls: 0,
        device: device(),
        placeholders: [],
        outputs: [],
        rebuild: null,
        plan: null,
        pinned: [],
        reserved: [],
        fallback: null,
        fusion: null,
      };
      entries.set(key, e);
    }
    latest = e;
    e.calls++;
    if (e.fallback) return eager(args);
    if (e.plan && e.pinned.some((b) => pool.orphaned(b))) release(e); // a tensor it binds was released
    if (e.plan) return replay(e, args);
    // warm-up: kernel variants are tuned on first use; capture once their timings are in (they
    // arrive after a submit), so the recording keeps the winners rather than the heuristic's picks
    if (e.calls === 1 || (tuningPending() && e.calls <= MAX_WARMUP)) return eager(args);
    return capture(e, args);
  };

  // accessors, so the properties read the current state (Object.assign would copy their values)
  Object.defineProperties(step, {
    fallbackReason: { get: () => latest?.fallback ?? null },
    stats: { get: () => stats },
    fusion: { get: () => latest?.fusion ?? null },
    kernelNames: { get: () => latest?.plan?.items.flatMap((it) => (it.kind === 'dispatch' ? [it.name] : [])) ?? [] },
    dispose: {
      value: () => {
        for (const e of entries.values()) release(e);
        entries.clear();
        latest = null;
      },
    },
  });
  return step as CompiledStep<A, R>;
}
