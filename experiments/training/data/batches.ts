// Batches for training: shuffled epochs, uint8 -> [-1, 1) with dequantisation noise
// (x/256 + U[0, 1/256), then (x - 0.5)·2, as the ALR code), optional left-right flips, and one upload per
// batch. The host RNG state and position are saved with checkpoints, so resumed runs continue
// with the same batches.
import { HostRng, tensor, type Tensor } from '../../../engine/index.js';
import { BatchSampler, type SamplerState } from '../../../nn/index.js';
import type { ImageSet } from './images.js';

export interface BatcherOptions {
  batch: number;
  seed: number;
  /** add U[0, 1/256) noise (default true); off gives the bin centre (u + 0.5)/256 */
  dequantize?: boolean;
  /** random left-right flips (ALR's CIFAR pipeline) */
  flip?: boolean;
}

export type BatcherState = SamplerState;

/** Scales uint8 images (with optional noise and flips) into a Float32Array in [-1, 1). */
export function toFloat(s: ImageSet, idx: ArrayLike<number>, rng: HostRng | null, flip = false): Float32Array {
  const d = s.c * s.h * s.w;
  const out = new Float32Array(idx.length * d);
  for (let i = 0; i < idx.length; i++) {
    const src = idx[i] * d;
    const mirror = flip && rng !== null && rng.next() < 0.5;
    for (let p = 0; p < s.c * s.h; p++) {
      for (let x = 0; x < s.w; x++) {
        const u = s.images[src + p * s.w + (mirror ? s.w - 1 - x : x)];
        const v = (u + (rng ? rng.next() : 0.5)) / 256;
        out[i * d + p * s.w + x] = (v - 0.5) * 2;
      }
    }
  }
  return out;
}

/**
 * Image batches for training: the order comes from nn's BatchSampler ('wrap': every batch full,
 * epochs run into each other), sharing one generator with the dequantisation noise and flips.
 */
export class Batcher {
  private readonly rng: HostRng;
  private readonly sampler: BatchSampler;
  readonly batch: number;

  constructor(
    readonly set: ImageSet,
    private readonly o: BatcherOptions,
  ) {
    if (set.n < 1) throw new Error('Batcher: empty image set');
    this.rng = new HostRng(o.seed);
    this.sampler = new BatchSampler(set.n, { batch: o.batch, rng: this.rng, remainder: 'wrap' });
    this.batch = o.batch;
  }

  /** Indices of the next batch. */
  nextIndices(): number[] {
    return this.sampler.next();
  }

  /** The next batch as one [B, C, H, W] tensor and its labels. */
  next(): { x: Tensor; labels: Uint8Array; indices: number[] } {
    const indices = this.nextIndices();
    const data = toFloat(this.set, indices, this.o.dequantize === false ? null : this.rng, this.o.flip);
    const labels = Uint8Array.from(indices, (i) => this.set.labels[i]);
    return { x: tensor(data, [this.batch, this.set.c, this.set.h, this.set.w]), labels, indices };
  }

  state(): BatcherState {
    return this.sampler.state();
  }

  setState(s: BatcherState): void {
    this.sampler.setState(s);
  }
}

/** One-hot rows [B, classes] for labels (host-built, one upload). */
export function oneHot(labels: ArrayLike<number>, classes = 10): Tensor {
  const out = new Float32Array(labels.length * classes);
  for (let i = 0; i < labels.length; i++) out[i * classes + labels[i]] = 1;
  return tensor(out, [labels.length, classes]);
}
