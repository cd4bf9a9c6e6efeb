// Per-kernel GPU timing with timestamp queries, summarised by kernel name.
// While profiling, each dispatch gets its own compute pass (so timings add a little overhead).
import { setProfileHook, settleTimings, timestampsSupported } from './runtime.js';

export interface KernelTime {
  kernel: string;
  calls: number;
  totalMs: number;
  meanUs: number;
}

let totals: Map<string, { calls: number; ns: number }> | null = null;

/** Starts collecting; throws where the adapter has no timestamp queries. */
export function startProfile(): void {
  if (!timestampsSupported()) {
    throw new Error("profile: this adapter does not support 'timestamp-query'; per-kernel GPU timing is unavailable");
  }
  totals = new Map();
  const t = totals;
  setProfileHook((kernel, ns) => {
    const e = t.get(kernel) ?? { calls: 0, ns: 0 };
    e.calls++;
    e.ns += ns;
    t.set(kernel, e);
  });
}

/** Stops collecting and returns kernels sorted by total time. */
export async function stopProfile(): Promise<KernelTime[]> {
  await settleTimings();
  setProfileHook(null);
  const t = totals ?? new Map();
  totals = null;
  return [...t.entries()]
    .map(([kernel, e]) => ({ kernel, calls: e.calls, totalMs: e.ns / 1e6, meanUs: e.ns / 1e3 / e.calls }))
    .sort((a, b) => b.totalMs - a.totalMs);
}

export function formatProfile(rows: KernelTime[]): string {
  const total = rows.reduce((s, r) => s + r.totalMs, 0);
  const lines = ['| kernel | calls | total ms | mean µs | share |', '|---|---:|---:|---:|---:|'];
  for (const r of rows) {
    lines.push(`| ${r.kernel} | ${r.calls} | ${r.totalMs.toFixed(3)} | ${r.meanUs.toFixed(1)} | ${((100 * r.totalMs) / total).toFixed(1)}% |`);
  }
  return lines.join('\n');
}
