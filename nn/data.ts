// Minibatches: a seeded sampler of indices (shuffle per epoch, what to do with the last partial
// batch), and a loader that gathers those rows from tensors already on the GPU, so a training
// loop uploads its data set once. Both save their position with a checkpoint (`state()`), so a
// resumed run sees the same batches as an uninterrupted one.
import { HostRng, indexSelect, type Tensor } from '../engine/web.js';
import { any, arrayOf, bool, checkOptions, instance, num, unsupported, type OptionSpec } from '../engine/options.js';

/**
 * What happens to the samples left over at the end of an epoch (n not a multiple of batch):
 * 'partial' yields them as a smaller batch (PyTorch's drop_last=False), 'drop' skips them
 * (drop_last=True), 'wrap' completes the batch from the next epoch's order (every batch full).
 */
export type Remainder = 'partial' | 'drop' | 'wrap';
export const REMAINDERS: readonly Remainder[] = ['partial', 'drop', 'wrap'];

export interface SamplerOptions {
  batch: number;
  /** seed of the sampler's own generator (default 0); ignored when `rng` is given */
  seed?: number;
  /** a generator to share with other host draws (e.g. augmentation), consumed in order */
  rng?: HostRng;
  /** reshuffle at every epoch (default true); false keeps the order 0..n-1 */
  shuffle?: boolean;
  remainder?: Remainder;
}

// batch and remainder are checked below with their own messages
const SAMPLER_SPEC: OptionSpec = {
  batch: any,
  seed: num({ int: true, min: 0, max: 0xffffffff }),
  rng: instance(HostRng),
  shuffle: bool,
  remainder: any,
  drop_last: unsupported("use remainder: 'drop' (or 'partial', 'wrap')", []),
  dropLast: unsupported("use remainder: 'drop' (or 'partial', 'wrap')", []),
  batch_size: unsupported('the option is called batch', []),
  batchSize: unsupported('the option is called batch', []),
};

const STATE_SPEC: OptionSpec = {
  rng: num({ int: true, min: 0, max: 0xffffffff }),
  order: arrayOf(num({ int: true, min: 0 })),
  pos: num({ int: true, min: 0 }),
  epoch: num({ int: true, min: 0 }),
};

export interface SamplerState {
  rng: number;
  order: number[];
  pos: number;
  epoch?: number;
}

export class BatchSampler {
  readonly batch: number;
  readonly shuffle: boolean;
  readonly remainder: Remainder;
  private readonly rng: HostRng;
  private order: number[] = [];
  private pos = 0;
  /** epochs started so far (the first batch starts epoch 1) */
  epoch = 0;

  constructor(
    readonly n: number,
    o: SamplerOptions,
  ) {
    if (!o || typeof o !== 'object') throw new Error('BatchSampler: options { batch, ... } are required');
    checkOptions('BatchSampler', o, SAMPLER_SPEC);
    if (!(Number.isInteger(n) && n >= 1))
      throw new Error(`BatchSampler: the data set size must be an integer >= 1, got ${n}`);
    if (!(Number.isInteger(o.batch) && o.batch >= 1))
      throw new Error(`BatchSampler: batch must be an integer >= 1, got ${o.batch}`);
    this.remainder = o.remainder ?? 'partial';
    if (!REMAINDERS.includes(this.remainder))
      throw new Error(`BatchSampler: remainder must be one of ${REMAINDERS.join(', ')}, got '${o.remainder}'`);
    if (this.remainder === 'drop' && o.batch > n)
      throw new Error(`BatchSampler: batch ${o.batch} > ${n} samples with remainder 'drop' yields no batch`);
    this.batch = o.batch;
    this.shuffle = o.shuffle ?? true;
    this.rng = o.rng ?? new HostRng(o.seed ?? 0);
  }

  /** Batches per epoch ('wrap': the average, n / batch). */
  get batchesPerEpoch(): number {
    if (this.remainder === 'drop') return Math.floor(this.n / this.batch);
    if (this.remainder === 'partial') return Math.ceil(this.n / this.batch);
    return this.n / this.batch;
  }

  private startEpoch(): void {
    const identity = [...Array(this.n).keys()];
    this.order = this.shuffle ? this.rng.shuffle(identity) : identity;
    this.pos = 0;
    this.epoch++;
  }

  /** The indices of the next batch. */
  next(): number[] {
    const left = this.order.length - this.pos;
    if (left <= 0 || (this.remainder === 'drop' && left < this.batch)) this.startEpoch();
    const idx: number[] = [];
    while (idx.length < this.batch) {
      if (this.pos >= this.order.length) {
        if (this.remainder !== 'wrap') break; // 'partial': the epoch's last, smaller batch
        this.startEpoch();
      }
      idx.push(this.order[this.pos++]);
    }
    return idx;
  }

  state(): SamplerState {
    return { rng: this.rng.state(), order: [...this.order], pos: this.pos, epoch: this.epoch };
  }

  setState(s: SamplerState): void {
    if (!s || typeof s !== 'object')
      throw new Error(`BatchSampler.setState: expected { rng, order, pos, epoch }, got ${JSON.stringify(s)}`);
    checkOptions('BatchSampler.setState', s, STATE_SPEC);
    for (const key of ['rng', 'order', 'pos'] as const)
      if (s[key] === undefined) throw new Error(`BatchSampler.setState: the saved state has no '${key}'`);
    if (
      s.order.length &&
      (s.order.length !== this.n || s.order.some((i) => !(Number.isInteger(i) && i >= 0 && i < this.n)))
    ) {
      throw new Error(
        `BatchSampler.setState: the saved order (${s.order.length} indices) does not fit this data set of ${this.n}`,
      );
    }
    if (!(Number.isInteger(s.pos) && s.pos >= 0 && s.pos <= s.order.length))
      throw new Error(`BatchSampler.setState: position ${s.pos} is outside the saved order`);
    this.rng.setState(s.rng);
    this.order = [...s.order];
    this.pos = s.pos;
    this.epoch = s.epoch ?? 0;
  }
}

/**
 * Batches of rows of GPU tensors that share their leading axis (inputs, labels, ...): each
 * batch is one indexSelect per tensor, so nothing is uploaded after the data set itself.
 */
export class DataLoader {
  readonly sampler: BatchSampler;

  constructor(
    readonly tensors: readonly Tensor[],
    o: SamplerOptions,
  ) {
    if (!tensors.length) throw new Error('DataLoader: needs at least one tensor');
    const n = tensors[0].shape[0];
    for (const [i, t] of tensors.entries()) {
      if (t.rank < 1 || t.shape[0] !== n)
        throw new Error(
          `DataLoader: tensor ${i} has shape [${t.shape.join(', ')}]; every tensor needs the leading axis ${n}`,
        );
    }
    this.sampler = new BatchSampler(n, o);
  }

  /** The next batch: one tensor per data tensor, in order, plus the row indices. */
  next(): { batch: Tensor[]; indices: number[]; epoch: number } {
    const indices = this.sampler.next();
    return { batch: this.tensors.map((t) => indexSelect(t, 0, indices)), indices, epoch: this.sampler.epoch };
  }

  state(): SamplerState {
    return this.sampler.state();
  }

  setState(s: SamplerState): void {
    this.sampler.setState(s);
  }
}
