// GPU buffer pool keyed by size class and usage. Tensors borrow buffers from here and give
// them back on dispose; nothing is freed by the garbage collector.
import { device, onDeviceRelease } from './device.js';

export const STORAGE_USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
export const READBACK_USAGE = GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST;

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

class BufferPool {
  private free = new Map<string, GPUBuffer[]>();
  private sizes = new WeakMap<GPUBuffer, number>();
  stats: MemoryStats = { liveBuffers: 0, bytesInUse: 0, bytesAllocated: 0, peakBytesInUse: 0, created: 0 };

  acquire(bytes: number, usage = STORAGE_USAGE): GPUBuffer {
    const size = sizeClass(bytes);
    const key = `${size}:${usage}`;
    let buf = this.free.get(key)?.pop();
    if (!buf) {
      buf = device().createBuffer({ size, usage });
      this.sizes.set(buf, size);
      this.stats.bytesAllocated += size;
      this.stats.created++;
    }
    this.stats.liveBuffers++;
    this.stats.bytesInUse += size;
    if (this.stats.bytesInUse > this.stats.peakBytesInUse) this.stats.peakBytesInUse = this.stats.bytesInUse;
    return buf;
  }

  release(buf: GPUBuffer): void {
    const size = this.sizes.get(buf);
    if (size === undefined) throw new Error('engine: released a buffer the pool does not own');
    this.stats.liveBuffers--;
    this.stats.bytesInUse -= size;
    const key = `${size}:${buf.usage}`;
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    list.push(buf);
  }

  reset(): void {
    this.free.clear();
    this.stats = { liveBuffers: 0, bytesInUse: 0, bytesAllocated: 0, peakBytesInUse: 0, created: 0 };
  }
}

export const pool = new BufferPool();
onDeviceRelease(() => pool.reset());

export function memoryStats(): MemoryStats {
  return { ...pool.stats };
}

export function resetPeakMemory(): void {
  pool.stats.peakBytesInUse = pool.stats.bytesInUse;
}
