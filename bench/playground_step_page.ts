/// <reference lib="dom" />
// The page bench/playground_step.ts bundles: the playground's own training session (default
// settings, no views) per kernel variant, timed by wall clock over whole iterations; with
// `profile`, the per-kernel GPU time of a few iterations of the first variant.
import * as E from '../engine/web.js';
import { Session } from '../experiments/playground/session.js';
import { DEFAULTS } from '../experiments/playground/settings.js';

declare global {
  interface Window {
    __lines?: string[];
    __done?: boolean;
  }
}

const lines: string[] = [];
window.__lines = lines;
const q = new URLSearchParams(location.search);
const variants = (q.get('variants') ?? 'default').split(',');
const iters = Number(q.get('iters') ?? 10);
const rounds = Number(q.get('rounds') ?? 5);

async function main(): Promise<void> {
  await E.initDevice();
  lines.push(`adapter ${E.adapterName()}, subgroup size ${E.deviceInfo().subgroupSize ?? 'none'}`);
  E.setOption('ALR_TUNE', '0'); // as the page: the heuristic's choices, no timing runs
  const sessions = new Map<string, Session>();
  for (const v of variants) {
    // a session's compiled steps capture with the variant forced at their first calls
    E.setOption('ALR_VARIANT', v === 'default' ? undefined : v);
    const s = new Session({ ...DEFAULTS });
    for (let i = 0; i < 4; i++) await s.iteration();
    await E.sync();
    sessions.set(v, s);
  }
  E.setOption('ALR_VARIANT', undefined);
  const times = new Map<string, number[]>();
  for (let r = 0; r < rounds; r++) {
    for (const [v, s] of sessions) {
      const t0 = performance.now();
      for (let i = 0; i < iters; i++) await s.iteration();
      await E.sync();
      times.set(v, [...(times.get(v) ?? []), (performance.now() - t0) / iters]);
    }
  }
  for (const [v, t] of times) {
    const sorted = [...t].sort((a, b) => a - b);
    const med = sorted[sorted.length >> 1];
    lines.push(
      `${v}: ${med.toFixed(1)} ms per iteration (median of ${rounds} rounds of ${iters}; ${sorted[0].toFixed(1)}-${sorted[sorted.length - 1].toFixed(1)}), ${(1000 / med).toFixed(2)} it/s`,
    );
  }
  if (q.get('profile') === '1') {
    const s = sessions.get(variants[0])!;
    E.startProfile();
    for (let i = 0; i < iters; i++) await s.iteration();
    const rows = await E.stopProfile();
    const ms = rows.reduce((a, r) => a + r.totalMs, 0) / iters;
    const calls = rows.reduce((a, r) => a + r.calls, 0) / iters;
    lines.push(`profile of ${variants[0]}: ${ms.toFixed(1)} ms of GPU time and ${calls} dispatches per iteration`);
    lines.push(E.formatProfile(rows.slice(0, 12)));
  }
  for (const s of sessions.values()) s.dispose();
}

main()
  .catch((e: Error) => lines.push(`error: ${e.stack ?? e.message}`))
  .finally(() => {
    window.__done = true;
  });
