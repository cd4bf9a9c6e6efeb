// Kernel launching: a pipeline cache, one command encoder shared by every dispatch until the
// next readback or explicit sync, one uniform arena per submit, async readback.
import { device, gpuState, onDeviceRelease, throwPendingDeviceErrors } from './device.js';
import { pool, READBACK_USAGE, sizeClass } from './buffer_pool.js';
import { config } from './config.js';
import { BufferUsage, MapMode, ShaderStage } from './gpu_flags.js';
import { platform } from './platform.js';
import { gpuWait } from './wait.js';
import { kernelWGSL, type Access, type KernelDecl } from '../shaders/kernel.js';
import { capturing, recordCommand, refuseCapture } from './capture.js';
import type { FusionMeta } from './fusion.js';

/** A compute kernel: WGSL plus the kinds of its storage bindings (binding 1, 2, ...). */
export interface Kernel {
  /** human name used in errors and profiles, e.g. 'matmul.register' */
  name: string;
  /** cache key: every compile-time choice baked into the WGSL */
  key: string;
  /** buffer bindings in order; binding 0 is always the uniform block `u` when `uniforms` is set */
  bindings: Access[];
  uniforms: boolean;
  wgsl: () => string;
}

// Every kernel the ops launch comes from here, one object per (name, key): the declaration is
// built once, and kernels of one key share the compiled pipeline. Bounded like the pipelines.
const kernels = new Map<string, Kernel>();
const MAX_KERNELS = 4096;

/** The kernel `name` with cache key `key`; `declare` runs the first time the pair is met. */
export function kernel(name: string, key: string, declare: () => KernelDecl): Kernel {
  const id = `${name}|${key}`;
  let k = kernels.get(id);
  if (!k) {
    const decl = declare();
    let code: string | undefined;
    k = {
      name,
      key,
      bindings: decl.buffers.map((b) => b.access),
      uniforms: decl.params !== undefined,
      wgsl: () => (code ??= kernelWGSL(decl)),
    };
    if (kernels.size >= MAX_KERNELS) kernels.delete(kernels.keys().next().value as string);
    kernels.set(id, k);
  }
  return k;
}

interface Compiled {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  /** the layout's binding signature, the first part of every bind-group key */
  sig: string;
}

/** Builds the 4-byte words of a uniform block; fields are written in declaration order. */
export class Params {
  private words: number[] = [];
  private kinds: ('u' | 'i' | 'f')[] = [];
  u32(...v: number[]): this {
    for (const x of v) this.words.push(x >>> 0), this.kinds.push('u');
    return this;
  }
  i32(...v: number[]): this {
    for (const x of v) this.words.push(x | 0), this.kinds.push('i');
    return this;
  }
  f32(...v: number[]): this {
    for (const x of v) this.words.push(x), this.kinds.push('f');
    return this;
  }
  /** Pads to a 16-byte boundary (before a vec4 or array field). */
  align16(): this {
    while (this.words.length % 4) this.u32(0);
    return this;
  }
  /** A dims array as `array<vec4<u32>, 2>` (8 entries), 16-byte aligned. */
  dims8(v: readonly number[], fill = 0): this {
    this.align16();
    for (let i = 0; i < 8; i++) this.u32(i < v.length ? v[i] : fill);
    return this;
  }
  writeTo(view: DataView, byteOffset: number): number {
    this.align16();
    this.words.forEach((w, i) => {
      if (this.kinds[i] === 'f') view.setFloat32(byteOffset + 4 * i, w, true);
      else view.setUint32(byteOffset + 4 * i, w >>> 0, true);
    });
    return this.words.length * 4;
  }
}

/** Counters for benchmarks and tests. */
export const counters = { dispatches: 0, submits: 0, readbacks: 0, uploads: 0, compiles: 0, bindGroups: 0 };

const UNIFORM_SLOT = 256;
const ARENA_SLOTS = 1024;

interface Batch {
  encoder: GPUCommandEncoder | null;
  pass: GPUComputePassEncoder | null;
  arena: GPUBuffer | null;
  arenaCpu: ArrayBuffer;
  arenaUsed: number;
  dispatches: number;
  /** upload staging buffers, free again once this batch is submitted */
  transient: GPUBuffer[];
  timings: Timings | null;
}

const compileChecks: Promise<void>[] = [];
/** counts submits, so a replayed step knows whether it already wrote uniforms into this batch */
let batchSerial = 0;
let batch: Batch = newBatch();
const readbackFree = new Map<number, GPUBuffer[]>();
const arenas: GPUBuffer[] = [];

/**
 * Called with each timed dispatch's GPU time (timestamp queries) and the tag `profileTag` gave
 * when it was recorded, for the profiler.
 */
let profileHook: ((kernel: string, ns: number, tag: string) => void) | null = null;
let profileTag: (section?: string) => string = () => '';
/** `tag(section)` names what a dispatch belongs to; replays pass their own section. */
export function setProfileHook(h: typeof profileHook, tag: (section?: string) => string = () => ''): void {
  flush();
  profileHook = h;
  profileTag = tag;
}

export function timestampsSupported(): boolean {
  return device().features.has('timestamp-query');
}

const QUERY_CAPACITY = 512; // timestamps per submit (two per timed dispatch)

interface Timings {
  set: GPUQuerySet;
  used: number;
  callbacks: ((ns: number) => void)[];
}

function newBatch(): Batch {
  return {
    encoder: null,
    pass: null,
    arena: null,
    arenaCpu: new ArrayBuffer(UNIFORM_SLOT * ARENA_SLOTS),
    arenaUsed: 0,
    dispatches: 0,
    transient: [],
    timings: null,
  };
}

onDeviceRelease(() => {
  inFlight.length = 0;
  pipelines.clear();
  layouts.clear();
  readbackFree.clear();
  stagingFree.length = 0;
  arenas.length = 0;
  compileChecks.length = 0;
  batch = newBatch();
});

// Bind group layouts, one per binding signature (uniform block + read/write pattern). Kernels
// with the same signature share a layout, so they share bind groups too.
const layouts = new Map<string, GPUBindGroupLayout>();

function signature(k: Kernel): string {
  return (k.uniforms ? 'u' : '') + k.bindings.map((b) => ({ read: 'r', write: 'w', uniform: 'c' })[b]).join('');
}

function layoutFor(k: Kernel): GPUBindGroupLayout {
  const sig = signature(k);
  let layout = layouts.get(sig);
  if (layout) return layout;
  const entries: GPUBindGroupLayoutEntry[] = [];
  if (k.uniforms)
    entries.push({ binding: 0, visibility: ShaderStage.COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true } });
  k.bindings.forEach((b, i) =>
    entries.push({
      binding: i + 1,
      visibility: ShaderStage.COMPUTE,
      buffer: { type: ({ read: 'read-only-storage', write: 'storage', uniform: 'uniform' } as const)[b] },
    }),
  );
  layout = device().createBindGroupLayout({ entries, label: sig });
  layouts.set(sig, layout);
  return layout;
}

/**
 * Map-based LRU: a hit moves the entry to the back, an insert past `capacity` drops the front.
 * Dropped GPU objects are freed by the garbage collector (WebGPU has no destroy() for them), so
 * the bound is what keeps native memory flat when a program keeps meeting new shapes.
 */
export class Lru<K, V> {
  private m = new Map<K, V>();
  constructor(readonly capacity: number) {}
  get(k: K): V | undefined {
    const v = this.m.get(k);
    if (v !== undefined) {
      this.m.delete(k);
      this.m.set(k, v);
    }
    return v;
  }
  set(k: K, v: V): void {
    this.m.delete(k);
    this.m.set(k, v);
    if (this.m.size > this.capacity) this.m.delete(this.m.keys().next().value as K);
  }
  get size(): number {
    return this.m.size;
  }
  clear(): void {
    this.m.clear();
  }
}

const MAX_PIPELINES = 1024;
const pipelines = new Lru<string, Compiled>(MAX_PIPELINES);

function compile(k: Kernel): Compiled {
  const cached = pipelines.get(k.key);
  if (cached) return cached;
  const dev = device();
  const code = k.wgsl();
  if (config.printShader()) console.log(`// ${k.key}\n${code}`);
  dev.pushErrorScope('validation');
  const module = dev.createShaderModule({ code, label: k.name });
  const layout = layoutFor(k);
  const pipeline = dev.createComputePipeline({
    layout: dev.createPipelineLayout({ bindGroupLayouts: [layout] }),
    compute: { module, entryPoint: 'main' },
    label: k.name,
  });
  counters.compiles++;
  compileChecks.push(
    dev.popErrorScope().then(async (err) => {
      if (!err) return;
      const info = await module.getCompilationInfo();
      const lines = code.split('\n');
      const where = info.messages
        .map((m) => `  ${m.type} at line ${m.lineNum}:${m.linePos}: ${m.message}\n    ${lines[m.lineNum - 1] ?? ''}`)
        .join('\n');
      throw new Error(`engine: kernel '${k.name}' (key ${k.key}) failed to compile: ${err.message}\n${where}`);
    }),
  );
  const c = { pipeline, layout, sig: signature(k) };
  pipelines.set(k.key, c);
  return c;
}

/** Compiles a kernel now and reports WGSL errors (used by tests and the autotuner). */
export async function checkKernel(k: Kernel): Promise<void> {
  compile(k);
  await checkCompiles();
}

async function checkCompiles(): Promise<void> {
  const checks = compileChecks.splice(0);
  await gpuWait(Promise.all(checks));
}

function encoder(): GPUCommandEncoder {
  if (!batch.encoder) batch.encoder = device().createCommandEncoder();
  return batch.encoder;
}

function endPass(): void {
  if (batch.pass) {
    batch.pass.end();
    batch.pass = null;
  }
}

function arena(): GPUBuffer {
  if (!batch.arena) {
    batch.arena =
      arenas.pop() ??
      device().createBuffer({ size: UNIFORM_SLOT * ARENA_SLOTS, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST });
  }
  return batch.arena;
}

// Bind groups, cached. Creating one through Dawn's bindings costs more host time than the rest
// of a dispatch, and each one holds native memory that V8 does not see until it collects the
// wrapper. A training loop binds the same pooled buffers step after step (the pool hands them
// out in the same order each step), so the cache turns nearly every dispatch into a hit. The key
// is the layout signature and the buffers: kernels of one signature share groups. The uniform
// block binds with a dynamic offset, so its arena slot is not part of the key. Pooled buffers
// are never destroyed before the device, so a cached group never refers to a dead buffer.
const MAX_BIND_GROUPS = 4096;
const bindGroups = new Lru<string, GPUBindGroup>(MAX_BIND_GROUPS);
const bufferIds = new WeakMap<GPUBuffer, number>();
let nextBufferId = 1;
onDeviceRelease(() => bindGroups.clear());

/** Sizes of the runtime's caches, for tests and memory logs. */
export function cacheStats(): { pipelines: number; bindGroups: number; layouts: number; stagingBuffers: number } {
  return {
    pipelines: pipelines.size,
    bindGroups: bindGroups.size,
    layouts: layouts.size,
    stagingBuffers: stagingFree.length,
  };
}

function bufferId(b: GPUBuffer): number {
  let id = bufferIds.get(b);
  if (id === undefined) bufferIds.set(b, (id = nextBufferId++));
  return id;
}

function bindGroupFor(c: Compiled, uniforms: boolean, bindings: Binding[], uniformBuffer?: GPUBuffer): GPUBindGroup {
  const ubuf = uniforms ? (uniformBuffer ?? arena()) : null;
  const sizes = bindings.map((b) => Math.max(4, b.bytes));
  let key = c.sig + (ubuf ? `|u${bufferId(ubuf)}` : '');
  bindings.forEach((b, i) => (key += `|${bufferId(b.buffer)}:${sizes[i]}`));
  let g = bindGroups.get(key);
  if (!g) {
    const entries: GPUBindGroupEntry[] = [];
    if (ubuf) entries.push({ binding: 0, resource: { buffer: ubuf, offset: 0, size: UNIFORM_SLOT } });
    bindings.forEach((b, i) =>
      entries.push({ binding: i + 1, resource: { buffer: b.buffer, offset: 0, size: sizes[i] } }),
    );
    g = device().createBindGroup({ layout: c.layout, entries });
    counters.bindGroups++;
    bindGroups.set(key, g);
  }
  return g;
}

/** A buffer with the byte length the kernel may touch. */
export interface Binding {
  buffer: GPUBuffer;
  bytes: number;
}

/** A dispatch's uniforms: fixed, or built from host state (recorded so a replay builds them anew). */
export type ParamsArg = Params | (() => Params) | null;

/**
 * Records one dispatch into the current command stream. Nothing is submitted here.
 * `groups` is the workgroup count in x, y, z. Uniforms given as a function are built now, and
 * again on every replay of a captured step that recorded this dispatch.
 */
export function dispatch(
  k: Kernel,
  bindings: Binding[],
  params: ParamsArg,
  groups: [number, number?, number?],
  onTime?: (ns: number) => void,
  meta?: FusionMeta,
): void {
  if (bindings.length !== k.bindings.length) {
    throw new Error(`engine: kernel '${k.name}' takes ${k.bindings.length} buffers, got ${bindings.length}`);
  }
  const [gx, gy = 1, gz = 1] = groups;
  if (gx === 0 || gy === 0 || gz === 0) return;
  const maxGroups = device().limits.maxComputeWorkgroupsPerDimension;
  if (gx > maxGroups || gy > maxGroups || gz > maxGroups) {
    throw new Error(
      `engine: kernel '${k.name}' needs ${gx}x${gy}x${gz} workgroups; the adapter allows ${maxGroups} per dimension`,
    );
  }
  if (k.uniforms && !params) throw new Error(`engine: kernel '${k.name}' needs uniforms`);
  const build = typeof params === 'function' ? params : null;
  const p = build ? build() : (params as Params | null);
  const bytes = p && k.uniforms ? uniformBytes(k, p) : null;
  if (capturing()) {
    recordCommand({
      kind: 'dispatch',
      kernel: k,
      bindings,
      params: bytes,
      dynamic: build && (() => uniformBytes(k, build())),
      groups: [gx, gy, gz],
      ...meta,
    });
  }
  encodeDispatch(k.name, compile(k), bindings, bytes, [gx, gy, gz], onTime);
}

/** The uniform block's bytes, checked against the slot size. */
export function uniformBytes(k: Kernel, p: Params): Uint8Array {
  const buf = new ArrayBuffer(UNIFORM_SLOT * 2);
  const n = p.writeTo(new DataView(buf), 0);
  if (n > UNIFORM_SLOT)
    throw new Error(`engine: kernel '${k.name}' uniforms are ${n} bytes, the limit is ${UNIFORM_SLOT}`);
  return new Uint8Array(buf, 0, n);
}

/**
 * Encodes a dispatch with its uniforms in this batch's arena. Bind groups come from the cache,
 * keyed by the layout and the buffers (the arena binds with a dynamic offset).
 */
function encodeDispatch(
  name: string,
  c: Compiled,
  bindings: Binding[],
  uniforms: Uint8Array | null,
  groups: [number, number, number],
  onTime?: (ns: number) => void,
): void {
  const timed = (onTime || profileHook) && timestampsSupported();
  if (batch.arenaUsed >= ARENA_SLOTS || (timed && batch.timings && batch.timings.used >= QUERY_CAPACITY)) flush();
  let offsets: number[] = [];
  if (uniforms) {
    const off = batch.arenaUsed * UNIFORM_SLOT;
    new Uint8Array(batch.arenaCpu, off, uniforms.byteLength).set(uniforms);
    offsets = [off];
    batch.arenaUsed++;
  }
  const bindGroup = bindGroupFor(c, uniforms !== null, bindings);
  encodeBound(name, c.pipeline, bindGroup, offsets, groups, timed ? (onTime ?? (() => {})) : null);
}

/** Sets the pipeline and bind group and dispatches; a timed dispatch gets a pass of its own. */
function encodeBound(
  name: string,
  pipeline: GPUComputePipeline,
  bindGroup: GPUBindGroup,
  offsets: number[],
  [gx, gy, gz]: [number, number, number],
  onTime: ((ns: number) => void) | null,
  section?: string,
): void {
  const enc = encoder();
  if (onTime) {
    endPass();
    const t = (batch.timings ??= {
      set: device().createQuerySet({ type: 'timestamp', count: QUERY_CAPACITY }),
      used: 0,
      callbacks: [],
    });
    const pass = enc.beginComputePass({
      timestampWrites: { querySet: t.set, beginningOfPassWriteIndex: t.used, endOfPassWriteIndex: t.used + 1 },
    });
    t.used += 2;
    const tag = profileHook ? profileTag(section) : '';
    t.callbacks.push((ns) => {
      onTime(ns);
      profileHook?.(name, ns, tag);
    });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup, offsets);
    pass.dispatchWorkgroups(gx, gy, gz);
    pass.end();
  } else {
    if (!batch.pass) batch.pass = enc.beginComputePass();
    batch.pass.setPipeline(pipeline);
    batch.pass.setBindGroup(0, bindGroup, offsets);
    batch.pass.dispatchWorkgroups(gx, gy, gz);
  }
  batch.dispatches++;
  counters.dispatches++;
}

/** Submits the recorded commands (if any). */
export function flush(): void {
  if (!batch.encoder) return;
  batchSerial++;
  endPass();
  const dev = device();
  const b = batch;
  batch = newBatch();
  if (b.arena) dev.queue.writeBuffer(b.arena, 0, b.arenaCpu, 0, b.arenaUsed * UNIFORM_SLOT);
  const timingRead = b.timings && resolveTimings(b.encoder!, b.timings);
  dev.queue.submit([b.encoder!.finish()]);
  counters.submits++;
  recycleStaging(b.transient);
  if (timingRead) pendingTimings.push(timingRead());
  if (b.arena) arenas.push(b.arena);
}

const pendingTimings: Promise<void>[] = [];

/** Resolves the batch's timestamps; the returned function starts the async read after submit. */
function resolveTimings(enc: GPUCommandEncoder, t: Timings): () => Promise<void> {
  const bytes = t.used * 8;
  const dev = device();
  const resolve = dev.createBuffer({ size: bytes, usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC });
  const read = dev.createBuffer({ size: bytes, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
  enc.resolveQuerySet(t.set, 0, t.used, resolve, 0);
  enc.copyBufferToBuffer(resolve, 0, read, 0, bytes);
  return async () => {
    await gpuWait(read.mapAsync(MapMode.READ));
    const ts = new BigInt64Array(read.getMappedRange().slice(0));
    read.destroy();
    resolve.destroy();
    t.set.destroy();
    t.callbacks.forEach((cb, i) => cb(Math.max(0, Number(ts[2 * i + 1] - ts[2 * i]))));
  };
}

/** Waits until every timed dispatch submitted so far has reported its time. */
export async function settleTimings(): Promise<void> {
  flush();
  await Promise.all(pendingTimings.splice(0));
}

/**
 * Gives a tensor's buffer back to the pool. While commands that use it are recorded but not
 * submitted, the buffer may still be reused by later dispatches in the same stream (they run
 * after), but not by a queue.writeBuffer (which would run before): uploads check this.
 */
export function releaseBuffer(buf: GPUBuffer): void {
  pool.release(buf);
}

/** Copies host data into a buffer, ordered after everything already recorded. */
export function upload(buf: GPUBuffer, data: ArrayBufferView): void {
  counters.uploads++;
  refuseCapture(
    'the step uploads host data (E.tensor or a host-indexed gather inside it); pass such data as an argument of the compiled step',
  );
  const bytes = data.byteLength;
  if (bytes === 0) return;
  const src = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, bytes); // (never a SharedArrayBuffer here)
  if (!batch.encoder) {
    device().queue.writeBuffer(buf, 0, src);
    return;
  }
  // Recorded work may still read this (recycled) buffer: write a staging buffer now and copy
  // inside the stream. Staging buffers are pooled: one written here is not written again until
  // its batch is submitted (later writes are then queued after the copy).
  const padded = Math.ceil(bytes / 4) * 4;
  const staging = takeStaging(padded);
  device().queue.writeBuffer(staging, 0, src.byteLength === padded ? src : padTo4(src));
  endPass();
  encoder().copyBufferToBuffer(staging, 0, buf, 0, padded);
  batch.transient.push(staging);
}

const stagingFree: GPUBuffer[] = [];

function takeStaging(bytes: number): GPUBuffer {
  const size = sizeClass(bytes);
  const i = stagingFree.findIndex((b) => b.size === size);
  if (i >= 0) return stagingFree.splice(i, 1)[0];
  return device().createBuffer({ size, usage: BufferUsage.COPY_SRC | BufferUsage.COPY_DST });
}

/** Returns a batch's staging buffers once it is submitted; keeps a bounded number. */
function recycleStaging(list: GPUBuffer[]): void {
  for (const b of list) {
    if (stagingFree.length < MAX_STAGING) stagingFree.push(b);
    else b.destroy();
  }
}
const MAX_STAGING = 64;

function padTo4(src: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(Math.ceil(src.byteLength / 4) * 4);
  out.set(src);
  return out;
}

/** Copies between two buffers inside the command stream. */
export function copyBuffer(src: GPUBuffer, dst: GPUBuffer, bytes: number, dstOffset = 0): void {
  if (bytes === 0) return;
  if (capturing()) recordCommand({ kind: 'copy', src, dst, bytes, dstOffset });
  endPass();
  encoder().copyBufferToBuffer(src, 0, dst, dstOffset, Math.ceil(bytes / 4) * 4);
}

/** Reads `bytes` from a buffer: submits pending work, waits, and raises any GPU error. */
export async function readBuffer(buf: GPUBuffer, bytes: number, context: string): Promise<ArrayBuffer> {
  refuseCapture(`the step reads a tensor back (${context}); a replay cannot wait on the host`);
  const size = Math.max(256, Math.ceil(bytes / 256) * 256);
  let staging = readbackFree.get(size)?.pop();
  if (!staging) staging = device().createBuffer({ size, usage: READBACK_USAGE });
  endPass();
  encoder().copyBufferToBuffer(buf, 0, staging, 0, Math.ceil(bytes / 4) * 4);
  flush();
  counters.readbacks++;
  await checkCompiles();
  try {
    await gpuWait(staging.mapAsync(MapMode.READ, 0, size));
  } catch (e) {
    throwPendingDeviceErrors(context);
    throw e;
  }
  const out = staging.getMappedRange(0, size).slice(0, bytes);
  staging.unmap();
  let list = readbackFree.get(size);
  if (!list) readbackFree.set(size, (list = []));
  list.push(staging);
  throwPendingDeviceErrors(context);
  return out;
}

const inFlight: Promise<void>[] = [];

/**
 * Ends one training step: submits it and yields to the event loop. Call it once per step of a
 * long loop. Dawn frees finished work and delivers callbacks only while the event loop runs (a
 * purely synchronous loop of thousands of steps piles up command buffers and bind groups until
 * the driver fails), and keeping at most `maxInFlight` steps queued stops the host from racing
 * ahead of the GPU.
 */
export async function endStep(maxInFlight = 2): Promise<void> {
  flush();
  pool.canonicalize();
  inFlight.push(device().queue.onSubmittedWorkDone());
  while (inFlight.length > maxInFlight) await gpuWait(inFlight.shift()!);
  await platform().yieldToEventLoop();
  throwPendingDeviceErrors('endStep()');
}

/** Submits pending work and waits for the GPU to finish it; raises any GPU error. */
export async function sync(): Promise<void> {
  flush();
  await checkCompiles();
  await gpuWait(gpuState().device.queue.onSubmittedWorkDone());
  throwPendingDeviceErrors('sync()');
}

// ---- replaying a captured step ----

/** A command of a captured step, ready to encode with no per-op host work. */
export type ReplayItem =
  | {
      kind: 'dispatch';
      name: string;
      kernel: Kernel;
      bindings: Binding[];
      slot: number;
      groups: [number, number, number];
      dynamic: (() => Uint8Array) | null;
    }
  | { kind: 'copy'; src: GPUBuffer; dst: GPUBuffer; bytes: number; dstOffset: number }
  | { kind: 'effect'; run: () => void };

/**
 * A captured step's commands with their pipelines and bind groups made once. Its uniforms live in
 * buffers of its own: one per replay within a batch (a step replayed five times before a submit
 * needs five sets, since queue writes land before the batch runs), made as needed and kept.
 */
export class ReplayPlan {
  private readonly image: ArrayBuffer;
  private readonly ring: { buffer: GPUBuffer; groups: (GPUBindGroup | null)[] }[] = [];
  private readonly compiled: (Compiled | null)[];
  private lastSerial = -1;
  private ringIndex = 0;
  readonly dispatches: number;

  constructor(
    readonly items: ReplayItem[],
    image: Uint8Array,
  ) {
    this.image = new ArrayBuffer(Math.max(UNIFORM_SLOT, image.byteLength));
    new Uint8Array(this.image).set(image);
    this.compiled = items.map((it) => (it.kind === 'dispatch' ? compile(it.kernel) : null));
    this.dispatches = items.filter((it) => it.kind === 'dispatch').length;
  }

  private ringEntry(i: number): { buffer: GPUBuffer; groups: (GPUBindGroup | null)[] } {
    let r = this.ring[i];
    if (!r) {
      const buffer = device().createBuffer({
        size: this.image.byteLength,
        usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST,
      });
      const groups = this.items.map((it, j) => {
        if (it.kind !== 'dispatch') return null;
        const c = this.compiled[j]!;
        const entries: GPUBindGroupEntry[] = [];
        if (it.kernel.uniforms) entries.push({ binding: 0, resource: { buffer, offset: 0, size: UNIFORM_SLOT } });
        it.bindings.forEach((b, k) =>
          entries.push({ binding: k + 1, resource: { buffer: b.buffer, offset: 0, size: Math.max(4, b.bytes) } }),
        );
        counters.bindGroups++;
        return device().createBindGroup({ layout: c.layout, entries });
      });
      r = this.ring[i] = { buffer, groups };
    }
    return r;
  }

  /** Encodes the step into the current command stream, running its host effects in order. */
  run(): void {
    this.ringIndex = this.lastSerial === batchSerial ? this.ringIndex + 1 : 0;
    const r = this.ringEntry(this.ringIndex);
    const bytes = new Uint8Array(this.image);
    for (const it of this.items) {
      if (it.kind === 'effect') it.run();
      else if (it.kind === 'dispatch' && it.dynamic) bytes.set(it.dynamic(), it.slot * UNIFORM_SLOT);
    }
    device().queue.writeBuffer(r.buffer, 0, this.image);
    const timedAll = profileHook !== null && timestampsSupported();
    this.items.forEach((it, j) => {
      if (it.kind === 'dispatch') {
        if (timedAll && batch.timings && batch.timings.used >= QUERY_CAPACITY) flush();
        // a replay has no profiler sections of its own (they were set while recording)
        encodeBound(
          it.name,
          this.compiled[j]!.pipeline,
          r.groups[j]!,
          it.kernel.uniforms ? [it.slot * UNIFORM_SLOT] : [],
          it.groups,
          timedAll ? () => {} : null,
          'compiled step (replay)',
        );
      } else if (it.kind === 'copy') {
        endPass();
        encoder().copyBufferToBuffer(it.src, 0, it.dst, it.dstOffset, Math.ceil(it.bytes / 4) * 4);
      }
    });
    this.lastSerial = batchSerial;
  }

  /** Frees the uniform buffers (the bind groups go with the garbage collector). */
  destroy(): void {
    // a replay still in the unsubmitted batch reads them: submit it first
    if (this.lastSerial === batchSerial) flush();
    for (const r of this.ring) r.buffer.destroy();
    this.ring.length = 0;
  }
}

/** Uniform slot size: a captured step lays its dispatches' uniforms out in slots of this size. */
export const UNIFORM_SLOT_BYTES = UNIFORM_SLOT;
