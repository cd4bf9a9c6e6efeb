// Elementwise fusion over a captured step's commands. A map whose output is a step temporary read
// by exactly one later command is not stored: that command computes it on the fly
// (shaders/fused.ts). Chains and trees of maps become one kernel; a map feeding a reduction runs
// in the reduction's loads; a map of a reduction's, a GEMM's or a Winograd output transform's
// result runs in its stores. Values are materialised only where a second reader, a copy, an
// in-place kernel or live state needs them. Each element still sees the same f32 operations in
// the same order, so the results keep their bits.
import { commandAccess, type Command, type DispatchCommand } from './capture.js';
import { device } from './device.js';
import { kernel, Params, uniformBytes, type Binding, type Kernel } from './runtime.js';
import {
  collapseDims,
  FUSED_HELPERS,
  fusedFunctions,
  fusedMapKernel,
  leafBuffers,
  rootFn,
  rootVec4,
  type FusedInput,
  type FusedLeaves,
  type FusedMap,
} from '../shaders/fused.js';
import { reduceKernel, type ReduceHooks } from '../shaders/reduce.js';
import { WG, type BufferDecl } from '../shaders/kernel.js';
import type { ColumnSums } from '../shaders/matmul.js';
import type { ReduceInfo } from './ops/reduce.js';

/** What an elementwise map dispatch computes, recorded so the fusion pass can merge maps. */
export interface MapInfo {
  name: string;
  /** WGSL f32 expression in a, b, c (the inputs) and p0, p1 */
  expr: string;
  /** each input: its buffer, element strides over `shape`, element offset, element count */
  inputs: { buffer: GPUBuffer; strides: number[]; offset: number; elements: number }[];
  shape: number[];
  p0: number;
  p1: number;
  out: GPUBuffer;
}

/** What an op tells the fusion pass about a dispatch (see DispatchCommand). */
export type FusionMeta = Pick<DispatchCommand, 'map' | 'reduce' | 'stores' | 'rows'>;

/**
 * A kernel that writes each element of its output once, with a store hook: the same kernel with
 * `store(v, e)` applied to every value v it writes at element e (a GEMM, a conv output transform).
 */
export interface StoreHost {
  out: GPUBuffer;
  outElements: number;
  /** the kernel with fused stores; their buffers bind after the kernel's own */
  withStore: (store: { code: string; buffers: BufferDecl[] }) => Kernel;
  /**
   * A GEMM with A transposed ([rows, columns] in memory): the same kernel can also write the sums
   * of A over its rows, as a sum reduction of that buffer would (a bias gradient beside its weight
   * gradient); the sums and their epilogue's buffers bind after the stores'.
   */
  columnSums?: {
    of: GPUBuffer;
    rows: number;
    columns: number;
    withSums: (store: { code: string; buffers: BufferDecl[] } | null, sums: ColumnSums) => Kernel;
  };
}

/** What fusion did to one captured step. */
export interface FusionReport {
  /** each fused kernel: the ops it merged (producers first) and its WGSL */
  kernels: { ops: string[]; wgsl: string }[];
  dispatchesBefore: number;
  dispatchesAfter: number;
}

/** A recomputed producer may be read this many times per element it computes (a broadcast). */
const MAX_RECOMPUTE = 256;

const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** A map being grown into a fused tree: the tree, and every buffer it reads with the command that read it. */
interface Tree {
  map: FusedMap;
  ops: string[];
  reads: { buffer: GPUBuffer; at: number }[];
  /** leaf inputs and the bindings they read */
  leafBindings: Map<FusedInput, Binding>;
  /** the reduction or GEMM whose result is this tree's `acc` input (the tree runs in its stores) */
  host?: Host;
}

/** A reduction or GEMM that fused maps may feed (a reduction's loads) or follow (its stores). */
interface Host {
  index: number;
  cmd: DispatchCommand;
  /** the map tree computing a reduction's source on the fly */
  prologue?: Tree;
  reads: { buffer: GPUBuffer; at: number }[];
  ops: string[];
  /** the buffer its result goes to, and whether maps may run in its stores */
  out: GPUBuffer;
  final: boolean;
  outElements: number;
}

/** The storage bindings a host kernel reads (its output is counted with the tree's). */
const hostInputs = (h: Host) =>
  h.cmd.stores ? h.cmd.bindings.length - 1 : h.prologue ? h.prologue.leafBindings.size : 1;

const contiguousStrides = (shape: number[]) => {
  const s: number[] = [];
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) (s[d] = acc), (acc *= shape[d]);
  return s;
};

/**
 * Merges elementwise maps in a captured step: chains and trees of maps into one kernel, a map
 * feeding a reduction into the reduction's loads, and a map of a reduction's or GEMM's result
 * into its stores. `live` are the buffers whose contents outlive the step (state, outputs):
 * writes to them are always kept.
 */
export function fuseCommands(commands: Command[], live: Set<GPUBuffer>): { commands: Command[]; report: FusionReport } {
  const maxBindings = device().limits.maxStorageBuffersPerShaderStage;
  const acc = commands.map(commandAccess);
  // readers of the value each command writes, and every write position of each buffer
  const readers = commands.map(() => new Set<number>());
  const writesOf = new Map<GPUBuffer, number[]>();
  const writer = new Map<GPUBuffer, number>();
  acc.forEach((a, i) => {
    for (const b of a.reads) {
      const w = writer.get(b);
      if (w !== undefined) readers[w].add(i);
    }
    for (const b of a.writes) {
      writer.set(b, i);
      (writesOf.get(b) ?? writesOf.set(b, []).get(b)!).push(i);
    }
  });
  const writtenBetween = (b: GPUBuffer, from: number, to: number) =>
    (writesOf.get(b) ?? []).some((w) => w > from && w < to);
  /** A value written at p that only the command at i reads, in a step temporary, whose inputs still hold at i. */
  const movable = (
    p: number,
    buffer: GPUBuffer,
    reads: { buffer: GPUBuffer; at: number }[],
    i: number,
    out: GPUBuffer,
  ) =>
    !consumed.has(p) &&
    !live.has(buffer) &&
    readers[p].size === 1 &&
    reads.every((r) => !writtenBetween(r.buffer, r.at, i) && r.buffer !== out);

  const trees = new Map<number, Tree>();
  const hosts = new Map<number, Host>();
  const consumed = new Set<number>();
  const writerAt = new Map<GPUBuffer, number>(); // the writer of each buffer's value as the scan reaches a command

  commands.forEach((c, i) => {
    if (c.kind === 'dispatch' && c.map) {
      const m = c.map;
      const tree: Tree = {
        map: { expr: m.expr, p0: m.p0, p1: m.p1, shape: m.shape, inputs: [] },
        ops: [],
        reads: [],
        leafBindings: new Map(),
      };
      let bindings = 1; // the output
      const mergedHere = new Set<number>();
      m.inputs.forEach((x, k) => {
        const p = writerAt.get(x.buffer);
        const producer = p !== undefined ? trees.get(p) : undefined;
        const host = p !== undefined ? hosts.get(p) : undefined;
        if (p !== undefined && mergedHere.has(p)) {
          // the same producer read through a second input (x * x): call it again
          tree.map.inputs.push(
            producer ? { kind: 'map', map: producer.map, strides: x.strides, offset: x.offset } : { kind: 'acc' },
          );
          return;
        }
        const left = m.inputs.length - k - 1;
        const sameElements =
          x.offset === 0 && x.strides.every((st, d) => st === contiguousStrides(m.shape)[d] || m.shape[d] === 1);
        if (
          producer &&
          // a map running in a host's stores may feed one more map there, element for element
          (!producer.host || (!tree.host && sameElements && numel(m.shape) === numel(producer.map.shape))) &&
          bindings + (producer.host ? hostInputs(producer.host) : 0) + producer.leafBindings.size + left <=
            maxBindings &&
          movable(p!, x.buffer, producer.reads, i, m.out) &&
          numel(m.shape) <= MAX_RECOMPUTE * numel(producer.map.shape)
        ) {
          consumed.add(p!);
          mergedHere.add(p!);
          if (producer.host) tree.host = producer.host;
          tree.map.inputs.push({ kind: 'map', map: producer.map, strides: x.strides, offset: x.offset });
          tree.ops.push(...producer.ops);
          tree.reads.push(...producer.reads);
          producer.leafBindings.forEach((bd, leaf) => tree.leafBindings.set(leaf, bd));
          bindings += producer.leafBindings.size + (producer.host ? hostInputs(producer.host) : 0);
          return;
        }
        if (
          host &&
          host.final &&
          !tree.host &&
          movable(p!, x.buffer, host.reads, i, m.out) &&
          sameElements &&
          numel(m.shape) === host.outElements &&
          bindings + hostInputs(host) + left <= maxBindings
        ) {
          // this map runs in the host's stores; the host moves here
          consumed.add(p!);
          mergedHere.add(p!);
          tree.host = host;
          tree.ops.unshift(...host.ops);
          tree.map.inputs.push({ kind: 'acc' });
          tree.reads.push(...host.reads);
          return;
        }
        const leaf: FusedInput = { kind: 'leaf', leaf: -1, strides: x.strides, offset: x.offset };
        tree.map.inputs.push(leaf);
        tree.leafBindings.set(leaf, { buffer: x.buffer, bytes: c.bindings[k].bytes });
        tree.reads.push({ buffer: x.buffer, at: i });
        bindings++;
      });
      tree.ops.push(m.name);
      trees.set(i, tree);
    } else if (c.kind === 'dispatch' && c.stores) {
      const out = c.stores.out;
      const reads = c.bindings.filter((b) => b.buffer !== out).map((b) => ({ buffer: b.buffer, at: i }));
      hosts.set(i, {
        index: i,
        cmd: c,
        reads,
        ops: [c.kernel.name],
        out,
        final: true,
        outElements: c.stores.outElements,
      });
    } else if (c.kind === 'dispatch' && c.reduce) {
      const r = c.reduce;
      const host: Host = {
        index: i,
        cmd: c,
        reads: [{ buffer: r.src, at: i }],
        ops: [c.kernel.name],
        out: r.out,
        final: r.chunks === 1 || r.twoLevel,
        outElements: r.outer * r.inner,
      };
      const p = writerAt.get(r.src);
      const producer = p !== undefined ? trees.get(p) : undefined;
      if (
        producer &&
        !producer.host &&
        movable(p!, r.src, producer.reads, i, r.out) &&
        numel(producer.map.shape) === r.outer * r.r * r.inner
      ) {
        consumed.add(p!);
        host.prologue = producer;
        host.reads = producer.reads;
        host.ops = [...producer.ops, c.kernel.name];
      }
      hosts.set(i, host);
    }
    for (const b of acc[i].writes) writerAt.set(b, i);
  });

  const report: FusionReport = { kernels: [], dispatchesBefore: 0, dispatchesAfter: 0 };
  const out: Emitted[] = [];
  commands.forEach((c, i) => {
    if (c.kind === 'dispatch') report.dispatchesBefore++;
    if (consumed.has(i)) return;
    const tree = trees.get(i);
    const host = hosts.get(i);
    const consumer = c as DispatchCommand & { map: MapInfo };
    let e: Emitted = { cmd: c, ops: [] };
    if (tree?.host) e = emitHost(tree.host, tree, consumer);
    else if (tree && tree.ops.length > 1) e = { cmd: emit(tree, consumer), ops: tree.ops };
    else if (host) e = emitHost(host, null, null);
    out.push(e);
  });
  const merged = mergeColumnSums(out, maxBindings);
  for (const e of merged) {
    if (e.cmd.kind === 'dispatch') report.dispatchesAfter++;
    if (e.ops.length > 1) report.kernels.push({ ops: e.ops, wgsl: (e.cmd as DispatchCommand).kernel.wgsl() });
  }
  return { commands: merged.map((e) => e.cmd), report };
}

/** An emitted command, with what a later merge needs to rebuild it (ops: what it fused, if anything). */
interface Emitted {
  cmd: Command;
  ops: string[];
  /** a GEMM: its own bindings (output redirected), its stores and their leaves */
  gemm?: { host: Host; own: Binding[]; store: { code: string; buffers: BufferDecl[] } | null; leaves: Binding[] };
  /** a single-pass sum reduction without a prologue: its output binding and epilogue */
  sum?: { info: ReduceInfo; out: Binding; epilogue: Tree | null };
}

/** How far ahead a GEMM looks for the sum it can take in (the commands between are checked). */
const SUM_WINDOW = 6;

/**
 * A weight-gradient GEMM and the bias-gradient sum over the same A a few commands away become one
 * kernel (the GEMM writing the column sums too, in the reduction's order) at the first one's
 * place: one pass over A, one dispatch. The later one moves up only if no command between them
 * writes what it reads or touches what it writes.
 */
function mergeColumnSums(list: Emitted[], maxBindings: number): Emitted[] {
  const out = [...list];
  for (let i = 0; i < out.length; i++) {
    const x = out[i];
    if (!x.gemm && !x.sum) continue;
    for (let j = i + 1; j < Math.min(out.length, i + 1 + SUM_WINDOW); j++) {
      const y = out[j];
      const pair = x.gemm && y.sum ? ([x, y] as const) : x.sum && y.gemm ? ([y, x] as const) : null;
      if (!pair) continue;
      const moved = commandAccess(y.cmd);
      const between = out.slice(i + 1, j).map((e) => commandAccess(e.cmd));
      const clash = between.some(
        (a) =>
          a.writes.some((b) => moved.reads.includes(b) || moved.writes.includes(b)) ||
          a.reads.some((b) => moved.writes.includes(b)),
      );
      const m = !clash && mergePair(pair[0], pair[1], maxBindings);
      if (!m) continue;
      out[i] = m;
      out.splice(j, 1);
      break;
    }
  }
  return out;
}

function mergePair(g: Emitted, r: Emitted, maxBindings: number): Emitted | null {
  const cs = g.gemm!.host.cmd.stores!.columnSums;
  const info = r.sum!.info;
  if (!cs || info.op !== 'sum' || info.outer !== 1 || cs.of !== info.src) return null;
  if (cs.rows !== info.r || cs.columns !== info.inner) return null;
  const epi = r.sum!.epilogue;
  const h = epi ? hookLeaves(epi, 's_') : null;
  const gemmBindings = [...g.gemm!.own, ...g.gemm!.leaves];
  const sumBindings = [r.sum!.out, ...(h?.bindings ?? [])];
  if (gemmBindings.length + sumBindings.length > maxBindings) return null;
  // neither may read what the other writes
  const gWrites = new Set(
    g.gemm!.host.cmd.kernel.bindings.flatMap((a, k) => (a === 'write' ? [g.gemm!.own[k].buffer] : [])),
  );
  if (sumBindings.some((b) => gWrites.has(b.buffer)) || gemmBindings.some((b) => b.buffer === r.sum!.out.buffer))
    return null;
  const code = epi
    ? `${g.gemm!.store ? '' : FUSED_HELPERS}\n${fusedFunctions(epi.map, h!.leaves, false, 's_')}\nfn sumStore(acc: f32, e: u32) -> f32 { return ${rootFn(epi.map, 's_')}(e, acc); }`
    : null;
  const sums: ColumnSums = {
    chunk: info.twoLevel ? info.chunk : info.r,
    emptyChunks: info.twoLevel ? info.chunks - Math.ceil(info.r / info.chunk) : 0,
    twoLevel: info.twoLevel,
    code,
    buffers: h?.buffers ?? [],
  };
  const c = g.cmd as DispatchCommand;
  return {
    cmd: {
      kind: 'dispatch',
      kernel: cs.withSums(g.gemm!.store, sums),
      bindings: [...gemmBindings, ...sumBindings],
      params: c.params,
      dynamic: null,
      groups: c.groups,
      flops: c.flops,
    },
    ops: [
      ...(g.ops.length ? g.ops : [c.kernel.name]),
      ...(r.ops.length ? r.ops : [(r.cmd as DispatchCommand).kernel.name]),
    ],
  };
}

/** Numbers a tree's leaves (one binding per buffer, scalar loads): for the fused work around a host kernel. */
function hookLeaves(
  tree: Tree,
  prefix: string,
): { leaves: FusedLeaves; bindings: Binding[]; buffers: ReturnType<typeof leafBuffers> } {
  const byBuffer = new Map<GPUBuffer, number>();
  const bindings: Binding[] = [];
  tree.leafBindings.forEach((bd, leaf) => {
    if (leaf.kind !== 'leaf') return;
    let idx = byBuffer.get(bd.buffer);
    if (idx === undefined) byBuffer.set(bd.buffer, (idx = bindings.push({ ...bd }) - 1));
    leaf.leaf = idx;
  });
  const leaves: FusedLeaves = { decls: bindings.map(() => ({ vec4: false })) };
  return { leaves, bindings, buffers: leafBuffers(leaves, prefix) };
}

/**
 * A host kernel as emitted: a GEMM or reduction with its epilogue (the map of its result, written
 * to that map's output), a reduction with its prologue (the map feeding its loads), or alone.
 */
function emitHost(host: Host, epilogue: Tree | null, consumer: (DispatchCommand & { map: MapInfo }) | null): Emitted {
  const c = host.cmd;
  const ops = epilogue?.ops ?? (host.prologue ? host.ops : []);
  if (c.stores) {
    if (!epilogue) return { cmd: c, ops, gemm: { host, own: c.bindings, store: null, leaves: [] } };
    // the kernel's own bindings (its output now the consumer's), then the stores' leaves
    const h = hookLeaves(epilogue, 'e_');
    const store = {
      code: `${FUSED_HELPERS}\n${fusedFunctions(epilogue.map, h.leaves, false, 'e_')}\nfn store(acc: f32, e: u32) -> f32 { return ${rootFn(epilogue.map, 'e_')}(e, acc); }`,
      buffers: h.buffers,
    };
    const out = c.stores.out;
    const own = c.bindings.map((b) => (b.buffer === out ? { buffer: consumer!.map.out, bytes: b.bytes } : b));
    const cmd: DispatchCommand = {
      kind: 'dispatch',
      kernel: c.stores.withStore(store),
      bindings: [...own, ...h.bindings],
      params: c.params,
      dynamic: null,
      groups: c.groups,
      flops: c.flops,
    };
    return { cmd, ops, gemm: { host, own, store, leaves: h.bindings } };
  }
  const r = c.reduce!;
  const single = !host.prologue && r.outer === 1 && (r.chunks === 1 || r.twoLevel);
  const sumOut = epilogue ? { buffer: consumer!.map.out, bytes: c.bindings[1].bytes } : c.bindings[1];
  const sum = single && r.op === 'sum' ? { info: r, out: sumOut, epilogue } : undefined;
  if (!epilogue && !host.prologue) return { cmd: c, ops, sum };
  const hooks: ReduceHooks = {};
  const bindings: Binding[] = [];
  let key = `${c.kernel.key}`;
  if (host.prologue) {
    const h = hookLeaves(host.prologue, 'p_');
    hooks.prologue = {
      code: `${fusedFunctions(host.prologue.map, h.leaves, false, 'p_')}\nfn load(e: u32) -> f32 { return ${rootFn(host.prologue.map, 'p_')}(e); }`,
      buffers: h.buffers,
    };
    bindings.push(...h.bindings);
    key += `|p:${JSON.stringify(host.prologue.map)}`;
  } else {
    bindings.push(c.bindings[0]);
  }
  bindings.push(epilogue ? { buffer: consumer!.map.out, bytes: c.bindings[1].bytes } : c.bindings[1]);
  if (epilogue) {
    const h = hookLeaves(epilogue, 'e_');
    hooks.epilogue = {
      code: `${fusedFunctions(epilogue.map, h.leaves, false, 'e_')}\nfn store(acc: f32, e: u32) -> f32 { return ${rootFn(epilogue.map, 'e_')}(e, acc); }`,
      buffers: h.buffers,
    };
    bindings.push(...h.bindings);
    key += `|e:${JSON.stringify(epilogue.map)}`;
  }
  const helpers = FUSED_HELPERS;
  const k = kernel(`fused.${(epilogue?.ops ?? host.ops).join('+')}`, key, () => {
    const d = reduceKernel(r.op, r.vec4, r.twoLevel, hooks);
    return { ...d, prelude: `${helpers}\n${d.prelude ?? ''}` };
  });
  return {
    cmd: { kind: 'dispatch', kernel: k, bindings, params: c.params, dynamic: null, groups: c.groups },
    ops,
    sum,
  };
}

/** The fused dispatch of a tree rooted at command `c`. */
function emit(tree: Tree, c: DispatchCommand & { map: MapInfo }): DispatchCommand {
  const root = tree.map;
  const n = numel(root.shape);
  const vec4 = rootVec4(root);
  // leaves numbered in binding order, one binding per buffer; the root's aligned unit-stride
  // inputs load vec4s (4 elements along the innermost dim per invocation)
  const byBuffer = new Map<GPUBuffer, number>();
  const bindings: Binding[] = [];
  const decls: FusedLeaves['decls'] = [];
  const rootStrided = root.inputs.filter((x) => x.kind !== 'acc') as Exclude<FusedInput, { kind: 'acc' }>[];
  const dims = collapseDims(
    root.shape,
    rootStrided.map((x) => x.strides),
  );
  const rank = dims.shape.length;
  tree.leafBindings.forEach((bd, leaf) => {
    if (leaf.kind !== 'leaf') return;
    let idx = byBuffer.get(bd.buffer);
    if (idx === undefined) {
      idx = bindings.push({ ...bd }) - 1;
      decls.push({ vec4: false });
      byBuffer.set(bd.buffer, idx);
    }
    leaf.leaf = idx;
    const j = rootStrided.indexOf(leaf);
    if (vec4 && j >= 0) {
      const st = dims.strides[j];
      const aligned = st[rank - 1] === 1 && leaf.offset % 4 === 0 && st.slice(0, -1).every((s) => s % 4 === 0);
      const bytes = Math.ceil(bd.bytes / 16) * 16;
      if (aligned && bytes <= bd.buffer.size) {
        leaf.vec4Load = true;
        decls[idx].vec4 = true;
        bindings[idx].bytes = Math.max(bindings[idx].bytes, bytes);
      }
    }
  });
  // a binding read as vec4 anywhere is declared vec4: its size must be a multiple of 16
  bindings.forEach((b, i) => decls[i].vec4 && (b.bytes = Math.ceil(b.bytes / 16) * 16));
  const leaves: FusedLeaves = { decls };
  const key = `fused:${n}:${JSON.stringify(root)}:${decls.map((d) => +d.vec4).join('')}`;
  const decl = () => fusedMapKernel(root, leaves, n);
  const k = kernel(`fused.${tree.ops.join('+')}`, key, decl);
  bindings.push({ buffer: c.map.out, bytes: n * 4 });
  const groups = Math.ceil((vec4 ? n / 4 : Math.ceil(n / 4)) / WG);
  const split: [number, number, number] =
    groups <= 65535 ? [groups, 1, 1] : [Math.ceil(groups / Math.ceil(groups / 65535)), Math.ceil(groups / 65535), 1];
  return {
    kind: 'dispatch',
    kernel: k,
    bindings,
    params: uniformBytes(k, new Params().u32(0, n)),
    dynamic: null,
    groups: split,
  };
}
