// GPU buffer pool keyed by size class and usage. Tensors borrow buffers from here and give
// them back on dispose; nothing is freed by the garbage collector.
import { device, onDeviceRelease } from './device.js';
import { BufferUsage } from './gpu_flags.js';
import { capturing, noteAcquire, noteRelease } from './capture.js';

// UNIFORM too: a GEMM may read a small operand (a layer's weights) as a uniform array
export const STORAGE_USAGE = BufferUsage.STORAGE | BufferUsage.UNIFORM | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;
export const READBACK_USAGE = BufferUsage.MAP_READ | BufferUsage.COPY_DST;

/** Rounds up to 2^k·{1, 1.25, 1.5, 1.75}, so a pooled buffer wastes at most 25%. */
export function sizeClass(bytes: number): number {
  const b = Math.max(256, Math.ceil(bytes / 4) * 4);
  const pow = 2 ** Math.floor(Math.log2(b));
  for (const f of [1, 1.25, 1.5, 1.75, 2]) {
    const c = pow * f;
    if (c >= b) return c;
  }
  return pow * 2;
}

export interface MemoryStats {
  /** buffers handed out and not yet returned */
  liveBuffers: number;
  /** bytes of the buffers handed out */
  bytesInUse: number;
  /** bytes of every buffer the pool owns, free or in use */
  bytesAllocated: number;
  /** high-water mark of bytesInUse since the last resetPeak() */
  peakBytesInUse: number;
  /** createBuffer calls so far */
  created: number;
}

/** Buffers up to this size released during a capture are not reused within it (see endQuarantine). */
const QUARANTINE_BYTES = 256 * 1024;

class BufferPool {
  private free = new Map<string, GPUBuffer[]>();
  private sizes = new WeakMap<GPUBuffer, number>();
  private ids = new WeakMap<GPUBuffer, number>();
  private nextId = 1;
  private shuffled = false;
  private freeSet = new Set<GPUBuffer>();
  /** buffers a compiled step binds, with how many steps bind each */
  private pins = new Map<GPUBuffer, number>();
  /** pinned buffers whose tensor was released: kept out of the free lists until unpinned */
  private orphans = new Set<GPUBuffer>();
  /** small buffers released during a capture: free, but not handed out again until it ends */
  private quarantine = new Set<GPUBuffer>();
  stats: MemoryStats = { liveBuffers: 0, bytesInUse: 0, bytesAllocated: 0, peakBytesInUse: 0, created: 0 };

  /** The largest buffer a kernel may bind (tensors are checked against it when made). */
  bindingLimit(): number {
    return device().limits.maxStorageBufferBindingSize;
  }

  acquire(bytes: number, usage = STORAGE_USAGE): GPUBuffer {
    const limit = this.bindingLimit();
    if (bytes > limit)
      throw new Error(
        `engine: a buffer of ${formatBytes(bytes)} is more than the device's maxStorageBufferBindingSize (${formatBytes(limit)})`,
      );
    const size = Math.min(sizeClass(bytes), Math.max(256, Math.ceil(limit / 4) * 4));
    const key = `${size}:${usage}`;
    let buf = this.free.get(key)?.pop();
    if (buf) this.freeSet.delete(buf);
    else {
      buf = device().createBuffer({ size, usage });
      this.sizes.set(buf, size);
      this.ids.set(buf, this.nextId++);
      this.stats.bytesAllocated += size;
      this.stats.created++;
    }
    this.stats.liveBuffers++;
    this.stats.bytesInUse += size;
    if (this.stats.bytesInUse > this.stats.peakBytesInUse) this.stats.peakBytesInUse = this.stats.bytesInUse;
    noteAcquire(buf);
    return buf;
  }

  release(buf: GPUBuffer): void {
    const size = this.sizes.get(buf);
    if (size === undefined) throw new Error('engine: released a buffer the pool does not own');
    if (this.freeSet.has(buf)) throw new Error('engine: a buffer was released twice');
    this.stats.liveBuffers--;
    this.stats.bytesInUse -= size;
    noteRelease(buf);
    if (this.pins.has(buf)) {
      this.orphans.add(buf);
      return;
    }
    if (capturing() && size <= QUARANTINE_BYTES) {
      this.freeSet.add(buf);
      this.quarantine.add(buf);
      return;
    }
    this.toFreeList(buf, size);
  }

  /**
   * Ends a capture's quarantine: its small released buffers go back to the free lists. While a
   * step is captured, a small temporary (a per-sample norm, a loss scalar, a gradient seed) is not
   * reused for a later value of the same step: each keeps its own buffer, so the recording has no
   * false dependencies through reuse, and the fusion pass can merge across them.
   */
  endQuarantine(): void {
    for (const buf of this.quarantine) {
      this.freeSet.delete(buf);
      this.toFreeList(buf, this.sizes.get(buf)!);
    }
    this.quarantine.clear();
  }

  private toFreeList(buf: GPUBuffer, size: number): void {
    this.freeSet.add(buf);
    const key = `${size}:${buf.usage}`;
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    list.push(buf);
    this.shuffled = true;
  }

  /** True while the buffer sits in a free list (no tensor or compiled step holds it). */
  isFree(buf: GPUBuffer): boolean {
    return this.freeSet.has(buf);
  }

  /** Takes a free buffer out of the free lists for a compiled step's temporaries (give it back with release). */
  reserve(buf: GPUBuffer): void {
    const size = this.sizes.get(buf)!;
    if (!this.quarantine.delete(buf)) {
      const list = this.free.get(`${size}:${buf.usage}`)!;
      list.splice(list.indexOf(buf), 1);
    }
    this.freeSet.delete(buf);
    this.stats.liveBuffers++;
    this.stats.bytesInUse += size;
    if (this.stats.bytesInUse > this.stats.peakBytesInUse) this.stats.peakBytesInUse = this.stats.bytesInUse;
  }

  /**
   * Marks a live buffer as bound by a compiled step: if its tensor is released, the buffer stays
   * out of the free lists (nothing else may get it while a recorded step would still write it)
   * until every step that pinned it lets go, and the step sees it was orphaned and captures anew.
   */
  pin(buf: GPUBuffer): void {
    this.pins.set(buf, (this.pins.get(buf) ?? 0) + 1);
  }

  unpin(buf: GPUBuffer): void {
    const n = this.pins.get(buf);
    if (n === undefined) return;
    if (n > 1) {
      this.pins.set(buf, n - 1);
      return;
    }
    this.pins.delete(buf);
    if (this.orphans.delete(buf)) this.toFreeList(buf, this.sizes.get(buf)!);
  }

  /** True when a pinned buffer's tensor was released since it was pinned. */
  orphaned(buf: GPUBuffer): boolean {
    return this.orphans.has(buf);
  }

  /**
   * Puts every free list back in creation order, so that a training step that allocates and
   * frees the same way each time gets the same buffers each time. The runtime's bind-group cache
   * keys on buffer identity: without this, the free lists come back permuted after every step and
   * most dispatches would need a new bind group (native memory the garbage collector does not see).
   */
  canonicalize(): void {
    if (!this.shuffled) return;
    this.shuffled = false;
    const id = (b: GPUBuffer) => this.ids.get(b)!;
    for (const list of this.free.values()) list.sort((a, b) => id(b) - id(a)); // pop() takes the oldest
  }

  reset(): void {
    this.free.clear();
    this.freeSet.clear();
    this.pins.clear();
    this.orphans.clear();
    this.stats = { liveBuffers: 0, bytesInUse: 0, bytesAllocated: 0, peakBytesInUse: 0, created: 0 };
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${Number(n.toPrecision(3))} ${units[i]}`;
}

export const pool = new BufferPool();
onDeviceRelease(() => pool.reset());

export function memoryStats(): MemoryStats {
  return { ...pool.stats };
}

export function resetPeakMemory(): void {
  pool.stats.peakBytesInUse = pool.stats.bytesInUse;
}
