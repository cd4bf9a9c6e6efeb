// nn's BatchSampler and DataLoader: epochs, the three remainder policies, reproducibility from
// the seed, exact continuation from a saved state, and batches gathered on the GPU.
import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import { BatchSampler, DataLoader } from '../../../nn/index.js';
import { useGpu } from '../../support/gpu.js';

useGpu();

const take = (s: BatchSampler, k: number) => Array.from({ length: k }, () => s.next());

describe('BatchSampler', () => {
  it("'partial' covers each epoch once, the last batch smaller; 'drop' skips the remainder; 'wrap' keeps batches full", () => {
    const partial = take(new BatchSampler(10, { batch: 4, seed: 1 }), 6);
    expect(partial.map((b) => b.length)).toEqual([4, 4, 2, 4, 4, 2]);
    expect([...partial.slice(0, 3).flat()].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect([...partial.slice(3).flat()].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect(partial.slice(0, 3).flat()).not.toEqual(partial.slice(3).flat()); // reshuffled

    const drop = new BatchSampler(10, { batch: 4, seed: 1, remainder: 'drop' });
    const d = take(drop, 4);
    expect(d.map((b) => b.length)).toEqual([4, 4, 4, 4]);
    expect(drop.epoch).toBe(2);
    expect(new Set(d.slice(0, 2).flat()).size).toBe(8);
    expect(drop.batchesPerEpoch).toBe(2);

    const wrap = take(new BatchSampler(10, { batch: 4, seed: 1, remainder: 'wrap' }), 5);
    expect(wrap.every((b) => b.length === 4)).toBe(true);
    expect([...wrap.flat().slice(0, 10)].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
  });

  it('the same seed gives the same batches; shuffle: false keeps the order', () => {
    expect(take(new BatchSampler(7, { batch: 3, seed: 5 }), 4)).toEqual(
      take(new BatchSampler(7, { batch: 3, seed: 5 }), 4),
    );
    expect(take(new BatchSampler(7, { batch: 3, seed: 5 }), 3)).not.toEqual(
      take(new BatchSampler(7, { batch: 3, seed: 6 }), 3),
    );
    expect(take(new BatchSampler(5, { batch: 2, shuffle: false }), 3)).toEqual([[0, 1], [2, 3], [4]]);
  });

  it('a saved state continues exactly, in a fresh sampler', () => {
    const a = new BatchSampler(9, { batch: 4, seed: 2 });
    take(a, 3);
    const saved = JSON.parse(JSON.stringify(a.state()));
    const rest = take(a, 5);
    const b = new BatchSampler(9, { batch: 4, seed: 123 });
    b.setState(saved);
    expect(take(b, 5)).toEqual(rest);
    expect(b.epoch).toBe(a.epoch);
  });

  it('bad options and states are named', () => {
    expect(() => new BatchSampler(0, { batch: 1 })).toThrow(/data set size must be an integer >= 1, got 0/);
    expect(() => new BatchSampler(5, { batch: 0 })).toThrow(/batch must be an integer >= 1, got 0/);
    expect(() => new BatchSampler(5, { batch: 8, remainder: 'drop' })).toThrow(
      /batch 8 > 5 samples with remainder 'drop'/,
    );
    expect(() => new BatchSampler(5, { batch: 2, remainder: 'last' as never })).toThrow(
      /remainder must be one of partial, drop, wrap, got 'last'/,
    );
    const s = new BatchSampler(5, { batch: 2 });
    expect(() => s.setState({ rng: 1, order: [0, 1, 2], pos: 0 })).toThrow(
      /saved order \(3 indices\) does not fit this data set of 5/,
    );
  });
});

describe('DataLoader', () => {
  it('gathers the sampled rows of every tensor on the GPU', async () => {
    const x = E.tensor(
      Float32Array.from({ length: 12 }, (_, i) => i),
      [6, 2],
    );
    const y = E.tensor([10, 11, 12, 13, 14, 15], [6]);
    const loader = new DataLoader([x, y], { batch: 4, seed: 3 });
    const { batch, indices, epoch } = loader.next();
    expect(epoch).toBe(1);
    expect(batch[0].shape).toEqual([4, 2]);
    expect(Array.from(await batch[0].toFloat32())).toEqual(indices.flatMap((i) => [2 * i, 2 * i + 1]));
    expect(Array.from(await batch[1].toFloat32())).toEqual(indices.map((i) => 10 + i));
    const second = loader.next();
    expect(second.batch[0].shape).toEqual([2, 2]);
    expect([...indices, ...second.indices].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(() => new DataLoader([x, E.tensor([1, 2], [2])], { batch: 2 })).toThrow(
      /tensor 1 has shape \[2\]; every tensor needs the leading axis 6/,
    );
    E.dispose([x, y, batch, second.batch]);
  });
});
