// Tensors: a shape, a dtype and a reference-counted GPU buffer. Release is explicit
// (dispose, or tidy scopes); the garbage collector only reports leaks.
import { config } from './config.js';
import { formatBytes, pool } from './buffer_pool.js';
import { readBuffer, releaseBuffer, type Binding } from './runtime.js';
import type { GradNode } from './autograd.js';

export type DType = 'f32' | 'i32' | 'u32';
export type Shape = readonly number[];

/** A GPU buffer shared by a tensor and its reshaped/detached aliases. */
class Storage {
  refs = 1;
  constructor(
    readonly buffer: GPUBuffer,
    readonly bytes: number,
  ) {}
}

let nextId = 1;
/** The id the next tensor will get: tensors with ids from here on were made after this call. */
export const nextTensorId = () => nextId;
const scopes: Set<Tensor>[] = [];
let leakWarned = false;
export const leaks = { collected: 0 };
/** What the leak warning says about a tensor (held by the registry: never the tensor itself). */
interface LeakInfo {
  storage: Storage;
  id: number;
  shape: Shape;
  dtype: DType;
  /** the op that made it (set by autograd's record) */
  op?: string;
  /** the first caller outside the engine (ALR_LEAK_SITES=1) */
  site?: string;
}

function creationSite(): string | undefined {
  const lines = (new Error().stack ?? '')
    .split('\n')
    .slice(1)
    .map((l) => l.trim());
  return lines.find((l) => !/[\\/]engine[\\/]/.test(l) && !l.includes('node:internal'))?.replace(/^at /, '');
}

const leakRegistry = new FinalizationRegistry<LeakInfo>((info) => {
  if (info.storage.refs > 0) {
    leaks.collected++;
    if (!leakWarned && !config.quietLeaks()) {
      leakWarned = true;
      const what = `tensor #${info.id} ${shapeStr(info.shape)} ${info.dtype}${info.op ? ` (output of '${info.op}')` : ''}`;
      console.warn(
        `engine: ${what} was garbage-collected without dispose(); its GPU buffer (${formatBytes(info.storage.bytes)}) stays allocated. ` +
          (info.site
            ? `It was created at ${info.site}. `
            : 'Set ALR_LEAK_SITES=1 to name where leaked tensors are created. ') +
          'Wrap training steps in tidy() or call dispose(). (warned once; leaks.collected counts them all)',
      );
    }
  }
});

export const DTYPES: readonly DType[] = ['f32', 'i32', 'u32'];

/** Throws unless every dimension is a non-negative integer; `op` names the caller. */
export function checkShape(shape: Shape, op: string): void {
  if (shape == null || typeof (shape as ArrayLike<number>).length !== 'number') {
    throw new Error(`${op}: shape must be an array of non-negative integers, got ${String(shape)}`);
  }
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new Error(
        `${op}: shape [${[...shape].map(String).join(', ')}] has dimension ${d}; dimensions must be non-negative integers`,
      );
    }
  }
}

export function checkDType(dtype: string, op: string): asserts dtype is DType {
  if (!DTYPES.includes(dtype as DType)) {
    throw new Error(`${op}: dtype '${dtype}' is not supported; the engine has ${DTYPES.join(', ')}`);
  }
}

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeStr(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export class Tensor {
  readonly id = nextId++;
  readonly shape: Shape;
  readonly dtype: DType;
  private storage: Storage | null;
  /** set by ops when any input requires a gradient */
  requiresGrad = false;
  /** the op that produced this tensor, for autograd */
  node: GradNode | null = null;
  /** accumulated by backward() on leaf tensors that require a gradient */
  grad: Tensor | null = null;
  /** a name for error messages and state dicts */
  name?: string;
  /** a composite op's intermediates its backward needs: released with this tensor */
  private owned: Tensor[] | null = null;
  private readonly leakInfo: LeakInfo;

  /** Notes the op that made this tensor (named by the leak warning). */
  madeBy(op: string): void {
    this.leakInfo.op = op;
  }

  /** Wraps a buffer; takes one reference. Use the creation ops instead of calling this. */
  constructor(shape: Shape, dtype: DType, storage: Storage) {
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.storage = storage;
    scopes[scopes.length - 1]?.add(this);
    this.leakInfo = {
      storage,
      id: this.id,
      shape: this.shape,
      dtype,
      site: config.leakSites() ? creationSite() : undefined,
    };
    leakRegistry.register(this, this.leakInfo, this);
  }

  /** A new tensor on a fresh pooled buffer (contents undefined). */
  static empty(shape: Shape, dtype: DType = 'f32'): Tensor {
    checkShape(shape, 'engine');
    checkDType(dtype, 'engine');
    const bytes = numel(shape) * 4;
    const limit = pool.bindingLimit();
    if (bytes > limit) {
      throw new Error(
        `engine: a tensor of shape ${shapeStr(shape)} needs ${formatBytes(bytes)}, more than the device's maxStorageBufferBindingSize (${formatBytes(limit)})`,
      );
    }
    return new Tensor(shape, dtype, new Storage(pool.acquire(bytes), bytes));
  }

  /** A tensor of another shape with the same elements, sharing this buffer. */
  static alias(src: Tensor, shape: Shape): Tensor {
    checkShape(shape, 'alias');
    const s = src.liveStorage('alias');
    s.refs++;
    return new Tensor(shape, src.dtype, s);
  }

  get size(): number {
    return numel(this.shape);
  }
  get rank(): number {
    return this.shape.length;
  }
  get disposed(): boolean {
    return this.storage === null;
  }

  private liveStorage(op: string): Storage {
    if (!this.storage) {
      throw new Error(
        `${op}: tensor #${this.id}${this.name ? ` '${this.name}'` : ''} ${shapeStr(this.shape)} was already released`,
      );
    }
    return this.storage;
  }

  /** The buffer binding for a kernel; `op` names the caller in the released-tensor error. */
  binding(op: string): Binding {
    const s = this.liveStorage(op);
    return { buffer: s.buffer, bytes: this.size * 4 };
  }

  /** Releases this tensor's reference to its buffer. Safe to call twice. */
  dispose(): void {
    const s = this.storage;
    if (!s) return;
    this.storage = null;
    leakRegistry.unregister(this);
    if (this.node) this.node = releasedNode(this, this.node);
    if (--s.refs === 0) releaseBuffer(s.buffer);
    for (const scope of scopes) scope.delete(this);
    const owned = this.owned;
    this.owned = null;
    if (owned) for (const t of owned) t.dispose();
  }

  /** Ties intermediates to this tensor's lifetime (see composite()). */
  own(ts: Iterable<Tensor>): void {
    this.owned = [...(this.owned ?? []), ...ts];
  }

  /** Reads the values back (submits pending work). */
  async toArray(): Promise<Float32Array | Int32Array | Uint32Array> {
    const { buffer } = this.binding('toArray');
    const data = await readBuffer(buffer, this.size * 4, `toArray of ${shapeStr(this.shape)}`);
    if (this.dtype === 'i32') return new Int32Array(data);
    if (this.dtype === 'u32') return new Uint32Array(data);
    return new Float32Array(data);
  }

  async toFloat32(): Promise<Float32Array> {
    const a = await this.toArray();
    return a instanceof Float32Array ? a : Float32Array.from(a);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item: expected one element, tensor has shape ${shapeStr(this.shape)}`);
    return (await this.toArray())[0];
  }

  toString(): string {
    return `Tensor#${this.id}(${shapeStr(this.shape)}, ${this.dtype}${this.requiresGrad ? ', grad' : ''})`;
  }
}

/**
 * What a released intermediate keeps on the tape: a backward pass that reaches it must fail, not
 * treat it as a leaf and return zeros for everything upstream.
 */
function releasedNode(t: Tensor, node: GradNode): GradNode {
  const what = `tensor #${t.id}${t.name ? ` '${t.name}'` : ''} ${shapeStr(t.shape)} (output of '${node.op}')`;
  return {
    op: node.op,
    inputs: node.inputs, // so a pass that does not need this tensor's gradient still skips it
    backward: () => {
      throw new Error(
        `backward: ${what} was released before the backward pass reached it; dispose it after grad()/backward()`,
      );
    },
  };
}

/** Removes a tensor from every open scope: it lives until disposed explicitly. */
export function keep<T extends Tensor>(t: T): T {
  for (const scope of scopes) scope.delete(t);
  return t;
}

function collectTensors(v: unknown, out: Set<Tensor>, seen = new Set<unknown>()): void {
  if (v instanceof Tensor) {
    out.add(v);
  } else if (v && typeof v === 'object' && !seen.has(v)) {
    seen.add(v);
    const values = v instanceof Map ? v.values() : Array.isArray(v) ? v : Object.values(v);
    for (const x of values) collectTensors(x, out, seen);
  }
}

/**
 * Runs `fn` and releases every tensor it created, except those it returns (found in arrays,
 * objects and maps) and those passed to keep(). Returned tensors move to the enclosing scope.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) throw new Error('tidy: the function must be synchronous (no awaits inside a scope)');
  } catch (e) {
    // a failed step releases what it made, as a successful one would
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  const keepSet = new Set<Tensor>();
  collectTensors(result, keepSet);
  for (const t of scope) {
    if (keepSet.has(t)) scopes[scopes.length - 1]?.add(t);
    else t.dispose();
  }
  return result;
}

/**
 * Runs an op made of other ops. The tensors it makes on the way are released now when its result
 * needs no backward, or else with the result (its backward reads them), so the op leaks nothing
 * when called outside tidy(); inside one, the scope releases them as it always did.
 */
export function composite(fn: () => Tensor): Tensor {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let out: Tensor;
  try {
    out = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  const parent = scopes[scopes.length - 1];
  if (scope.delete(out)) parent?.add(out); // (a result that is an input stays the caller's)
  if (!out.requiresGrad) {
    for (const t of scope) t.dispose();
  } else {
    out.own(scope);
    for (const t of scope) parent?.add(t);
  }
  return out;
}

/** Disposes every tensor found in the value (arrays, objects, maps). */
export function dispose(v: unknown): void {
  const s = new Set<Tensor>();
  collectTensors(v, s);
  for (const t of s) t.dispose();
}
