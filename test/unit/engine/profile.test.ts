import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import { formatProfile, groupProfile, profileSection, startProfile, stopProfile } from '../../../engine/profile.js';
import { useGpu } from '../../support/gpu.js';

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

  it('tags rows with the section and with the pass (backward rules inside grad())', async () => {
    const x = E.requireGrad(E.randUniform([1 << 12]));
    startProfile();
    E.tidy(() => {
      profileSection('forward');
      const y = E.sum(E.exp(x));
      profileSection('gradient');
      E.grad(y, [x]);
    });
    const rows = await stopProfile();
    const at = (section: string, kernel: string, backward: boolean) =>
      rows.find((r) => r.section === section && r.kernel === kernel && r.backward === backward);
    expect(at('forward', 'map.exp', false)?.calls).toBe(1);
    // grad() seeds with ones (not a backward rule); exp's backward rule multiplies by exp(x)
    expect(at('gradient', 'map.mul', true)?.calls).toBe(1);
    expect(rows.filter((r) => r.section === 'gradient' && !r.backward).map((r) => r.kernel)).toEqual(['map.fill']);
    expect(rows.some((r) => r.section === 'forward' && r.backward)).toBe(false);
    const bySection = groupProfile(rows, (r) => r.section);
    expect(bySection.map((g) => g.key).sort()).toEqual(['forward', 'gradient']);
    expect(bySection.reduce((s, g) => s + g.calls, 0)).toBe(rows.reduce((s, r) => s + r.calls, 0));
  });
});
