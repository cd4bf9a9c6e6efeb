// summary(): layers, output shapes, parameter counts, from one pass that changes no state.
import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import * as nn from '../../../nn/index.js';
import { useGpu } from '../../support/gpu.js';

useGpu();

describe('summary', () => {
  it('lists every module with its output shape and own parameters; totals match; no state changes', async () => {
    const net = new nn.Sequential(new nn.Linear(3, 16), new nn.BatchNorm1d(16), new nn.ReLU(), new nn.Linear(16, 2));
    const runningBefore = await net.namedBuffers()[0][1].toFloat32();
    const live = E.memoryStats().liveBuffers;
    const s = nn.summary(net, [5, 3]);
    expect(E.memoryStats().liveBuffers).toBe(live);
    expect(s.rows.map((r) => [r.name, r.type, r.outputShape, r.params])).toEqual([
      ['', 'Sequential', [5, 2], 0],
      ['0', 'Linear', [5, 16], 3 * 16 + 16],
      ['1', 'BatchNorm1d', [5, 16], 32],
      ['2', 'ReLU', [5, 16], 0],
      ['3', 'Linear', [5, 2], 16 * 2 + 2],
    ]);
    expect(s.totalParams).toBe(net.numParameters());
    expect(s.text).toMatch(/Total params: 130/);
    expect(s.text).toMatch(/1 \(BatchNorm1d\)\s+\[5, 16\]\s+32/);
    expect(Array.from(await net.namedBuffers()[0][1].toFloat32())).toEqual(Array.from(runningBefore)); // running stats untouched
    // the wrapped forwards are restored
    expect(Object.prototype.hasOwnProperty.call(net, 'forward')).toBe(false);
    net.dispose();
  });
});
