// What a captured step records: the runtime's commands (dispatches, copies) in order, and the
// host effects between them (an optimiser's step count, the RNG's counter) that a replay must
// run again. The runtime and the pool report here while a capture is open; engine/compile.ts
// opens captures and replays them.
import type { Binding, Kernel } from './runtime.js';
import type { MapInfo, StoreHost } from './fusion.js';
import type { ReduceInfo } from './ops/reduce.js';
import type { RowProduct } from './row_reuse.js';

/** Host work that a dispatch's uniforms depend on: run again, in order, on every replay. */
export type HostEffect = () => void;

export interface DispatchCommand {
  kind: 'dispatch';
  kernel: Kernel;
  bindings: Binding[];
  /** the uniform words as recorded (static uniforms), or null */
  params: Uint8Array | null;
  /** builds this dispatch's uniforms anew on each replay (uniforms that follow host state) */
  dynamic: (() => Uint8Array) | null;
  groups: [number, number, number];
  /** an elementwise map: what the fusion pass needs to merge it with its neighbours */
  map?: MapInfo;
  /** a reduction pass: a map may feed its loads, and a map of its result its stores */
  reduce?: ReduceInfo;
  /** a kernel that writes its whole output element by element (a GEMM, a Winograd output transform): a map of its result may run in its stores */
  stores?: StoreHost;
  /** a GEMM whose output rows each depend on one row of A: a product of a row concatenation may be rebuilt from its blocks' */
  rows?: RowProduct;
  /** the nominal floating-point operations (2·M·N·K) of the matmul or convolution this dispatch completes */
  flops?: number;
}

export interface CopyCommand {
  kind: 'copy';
  src: GPUBuffer;
  dst: GPUBuffer;
  bytes: number;
  dstOffset: number;
}

export interface EffectCommand {
  kind: 'effect';
  run: HostEffect;
}

export type Command = DispatchCommand | CopyCommand | EffectCommand;

/** An open capture: the commands so far and what the buffers did. */
export interface Capture {
  commands: Command[];
  /** buffers the pool handed out during the capture (step temporaries and new state) */
  acquired: Set<GPUBuffer>;
  /** buffers a command used before the capture acquired them: state that lives outside the step */
  external: Set<GPUBuffer>;
  /** the first reason the step cannot be replayed, if any */
  failure: string | null;
}

let open: Capture | null = null;

export function beginCapture(): Capture {
  if (open)
    throw new Error(
      'compile: a compiled step was called while another one was being captured (nested compiled steps are not supported)',
    );
  open = { commands: [], acquired: new Set(), external: new Set(), failure: null };
  return open;
}

export function endCapture(): void {
  open = null;
}

export function capturing(): boolean {
  return open !== null;
}

/** Marks the open capture as not replayable (the step still runs eagerly this time). */
export function refuseCapture(reason: string): void {
  if (open && !open.failure) open.failure = reason;
}

/**
 * Runs host work a step's dispatches depend on, and records it so every replay runs it again at
 * the same point (e.g. an optimiser's step count, whose bias corrections reach the kernel as
 * uniforms).
 */
export function hostEffect(run: HostEffect): void {
  run();
  open?.commands.push({ kind: 'effect', run });
}

export function noteAcquire(buf: GPUBuffer): void {
  open?.acquired.add(buf);
}

export function noteRelease(buf: GPUBuffer): void {
  if (open?.external.has(buf)) {
    refuseCapture(
      'the step releases a tensor that existed before it (e.g. it replaces a .grad or a state tensor instead of updating it in place); a replay would read freed memory',
    );
  }
}

function noteUse(buf: GPUBuffer): void {
  if (open && !open.acquired.has(buf)) open.external.add(buf);
}

export function recordCommand(c: Command): void {
  if (!open) return;
  if (c.kind === 'dispatch') for (const b of c.bindings) noteUse(b.buffer);
  if (c.kind === 'copy') noteUse(c.src), noteUse(c.dst);
  open.commands.push(c);
}

/**
 * Credits the last dispatch recorded with an op's nominal floating-point operations (2·M·N·K
 * for a matrix product or convolution), so a compiled step can report the work its replay does.
 */
export function noteFlops(flops: number): void {
  if (!open) return;
  for (let i = open.commands.length - 1; i >= 0; i--) {
    const c = open.commands[i];
    if (c.kind === 'dispatch') {
      c.flops = (c.flops ?? 0) + flops;
      return;
    }
  }
}

/** What a command reads and writes, for passes over a recording. */
export interface Access {
  reads: GPUBuffer[];
  writes: GPUBuffer[];
  /** written buffers whose previous contents matter to no one after the command */
  overwrites: Set<GPUBuffer>;
}

/**
 * Which buffers a command reads, writes and overwrites entirely. Maps, reductions and GEMMs
 * overwrite their whole output; any other kernel's writable bindings (an in-place update) and a
 * copy into part of a buffer count as read too, so their earlier writer stays needed.
 */
export function commandAccess(c: Command): Access {
  if (c.kind === 'effect') return { reads: [], writes: [], overwrites: new Set() };
  if (c.kind === 'copy') {
    const whole = c.dstOffset === 0 && c.bytes >= c.dst.size;
    return { reads: whole ? [c.src] : [c.src, c.dst], writes: [c.dst], overwrites: new Set(whole ? [c.dst] : []) };
  }
  const pure = c.map?.out ?? c.reduce?.out ?? c.stores?.out;
  const reads: GPUBuffer[] = [];
  const writes: GPUBuffer[] = [];
  c.kernel.bindings.forEach((a, i) => {
    const b = c.bindings[i].buffer;
    if (a === 'write') writes.push(b);
    if (a !== 'write' || b !== pure) reads.push(b);
  });
  return { reads, writes, overwrites: new Set(pure ? [pure] : []) };
}
