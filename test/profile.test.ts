import { describe, expect, it } from 'vitest';
import * as E from '../engine/index.js';
import { formatProfile, startProfile, stopProfile } from '../engine/profile.js';
import { useGpu } from './gpu.js';

useGpu();

describe('profiler', () => {
  it('times every dispatch with timestamp queries and groups by kernel', async () => {
    const x = E.randUniform([1 << 16]);
    startProfile();
    const before = E.counters.dispatches;
    E.tidy(() => {
      for (let i = 0; i < 3; i++) E.sum(E.exp(x));
    });
    const dispatched = E.counters.dispatches - before;
    const rows = await stopProfile();
    const names = rows.map((r) => r.kernel);
    expect(names).toContain('map.exp');
    expect(names).toContain('reduce.sum');
    expect(rows.reduce((s, r) => s + r.calls, 0)).toBe(dispatched);
    expect(rows.find((r) => r.kernel === 'map.exp')!.calls).toBe(3);
    expect(rows.every((r) => r.totalMs > 0)).toBe(true);
    expect(formatProfile(rows)).toMatch(/\| map\.exp \| 3 \|/);
  });
});
