// Per-kernel GPU timing with timestamp queries, summarised by kernel name, by the section the
// caller marked with profileSection(), and by pass (forward, or backward rules inside grad()).
// While profiling, each dispatch gets its own compute pass (so timings add a little overhead).
import { isInBackward } from './autograd.js';
import { setProfileHook, settleTimings, timestampsSupported } from './runtime.js';

export interface KernelTime {
  kernel: string;
  /** the profileSection() current when the kernel was recorded ('' before the first) */
  section: string;
  /** recorded by a backward rule inside grad() */
  backward: boolean;
  calls: number;
  totalMs: number;
  meanUs: number;
}

const SEP = '\u0000';
let totals: Map<string, { calls: number; ns: number }> | null = null;
let section = '';

/** Starts collecting; throws where the adapter has no timestamp queries. */
export function startProfile(): void {
  if (!timestampsSupported()) {
    throw new Error("profile: this adapter does not support 'timestamp-query'; per-kernel GPU timing is unavailable");
  }
  totals = new Map();
  section = '';
  const t = totals;
  const hook = (kernel: string, ns: number, tag: string) => {
    const key = tag + SEP + kernel;
    const e = t.get(key) ?? { calls: 0, ns: 0 };
    e.calls++;
    e.ns += ns;
    t.set(key, e);
  };
  setProfileHook(hook, (replay) => (replay ?? section) + SEP + (!replay && isInBackward() ? 'b' : 'f'));
}

/** Names the part of the program whose dispatches follow (until the next call or stopProfile). */
export function profileSection(name: string): void {
  section = name;
}

/** Stops collecting and returns rows (section, pass, kernel) sorted by total time. */
export async function stopProfile(): Promise<KernelTime[]> {
  await settleTimings();
  setProfileHook(null);
  const t = totals ?? new Map();
  totals = null;
  section = '';
  return [...t.entries()]
    .map(([key, e]) => {
      const [sec, pass, kernel] = key.split(SEP);
      return {
        kernel,
        section: sec,
        backward: pass === 'b',
        calls: e.calls,
        totalMs: e.ns / 1e6,
        meanUs: e.ns / 1e3 / e.calls,
      };
    })
    .sort((a, b) => b.totalMs - a.totalMs);
}

/** Rows merged by `key` (e.g. by kernel alone, or by section), sorted by total time. */
export function groupProfile(
  rows: KernelTime[],
  key: (r: KernelTime) => string,
): (Omit<KernelTime, 'kernel' | 'section' | 'backward'> & { key: string })[] {
  const m = new Map<string, { calls: number; totalMs: number }>();
  for (const r of rows) {
    const e = m.get(key(r)) ?? { calls: 0, totalMs: 0 };
    e.calls += r.calls;
    e.totalMs += r.totalMs;
    m.set(key(r), e);
  }
  return [...m.entries()]
    .map(([k, e]) => ({ key: k, calls: e.calls, totalMs: e.totalMs, meanUs: (1e3 * e.totalMs) / e.calls }))
    .sort((a, b) => b.totalMs - a.totalMs);
}

/** A markdown table of kernels (merged over sections and passes). */
export function formatProfile(rows: KernelTime[]): string {
  const merged = groupProfile(rows, (r) => r.kernel);
  const total = merged.reduce((s, r) => s + r.totalMs, 0);
  const lines = ['| kernel | calls | total ms | mean µs | share |', '|---|---:|---:|---:|---:|'];
  for (const r of merged) {
    lines.push(
      `| ${r.key} | ${r.calls} | ${r.totalMs.toFixed(3)} | ${r.meanUs.toFixed(1)} | ${((100 * r.totalMs) / total).toFixed(1)}% |`,
    );
  }
  return lines.join('\n');
}
