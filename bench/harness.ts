// Benchmark plumbing shared by bench/run.ts and the peer processes: rows, statistics, how many
// repetitions to run, markdown tables and the targets table.
import { targetIds } from './suites/workloads.js';

export type Impl = 'ours' | 'tfjs-webgpu' | 'tfjs-wasm' | 'pytorch-cpu' | 'pytorch-cpu-2t';
/** pytorch-cpu runs 1 thread (its default here, the targets' reference); pytorch-cpu-2t runs 2, as our lavapipe does */
export const PEERS: Exclude<Impl, 'ours'>[] = ['tfjs-webgpu', 'tfjs-wasm', 'pytorch-cpu', 'pytorch-cpu-2t'];

export interface Row {
  workload: string;
  group: string;
  impl: Impl;
  /** median wall time of one iteration in ms (absent when the row was not measured) */
  ms?: number;
  min?: number;
  max?: number;
  /** interquartile range in ms (needs >= 4 reps, else max - min) */
  iqr?: number;
  reps?: number;
  warmup?: number;
  gflops?: number;
  gbps?: number;
  /** ours: engine counters per iteration */
  dispatches?: number;
  submits?: number;
  readbacks?: number;
  /** ours: the kernels that took most GPU time in one profiled iteration (name and share) */
  variant?: string;
  /** why the row has no timing (unsupported op, not landed yet, time budget, error) */
  skipped?: string;
}

export interface Stats {
  ms: number;
  min: number;
  max: number;
  iqr: number;
}

function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function stats(times: number[]): Stats {
  if (!times.length) throw new Error('stats: no samples');
  const s = [...times].sort((a, b) => a - b);
  const iqr = s.length >= 4 ? quantile(s, 0.75) - quantile(s, 0.25) : s[s.length - 1] - s[0];
  return { ms: quantile(s, 0.5), min: s[0], max: s[s.length - 1], iqr };
}

export interface RepPolicy {
  /** warm-up runs before timing (one slower than `crawlMs` ends the warm-up) */
  warmup: number;
  minReps: number;
  maxReps: number;
  /** stop adding reps once this much time was spent timing (after minReps) */
  budgetMs: number;
  /** iterations slower than this get `slowReps` reps */
  slowMs: number;
  slowReps: number;
  /** iterations slower than this get one rep (whole critic steps on a CPU adapter) */
  crawlMs?: number;
}

export const OURS_POLICY: RepPolicy = {
  warmup: 2,
  minReps: 3,
  maxReps: 15,
  budgetMs: 3000,
  slowMs: 4000,
  slowReps: 2,
  crawlMs: 20000,
};
/** The tfjs-webgpu peer takes seconds per conv: one warm-up and one rep for anything over 1 s. */
export const SLOW_PEER_POLICY: RepPolicy = {
  warmup: 1,
  minReps: 2,
  maxReps: 10,
  budgetMs: 2000,
  slowMs: 1000,
  slowReps: 1,
};
export const FAST_PEER_POLICY: RepPolicy = {
  warmup: 2,
  minReps: 3,
  maxReps: 15,
  budgetMs: 2000,
  slowMs: 2000,
  slowReps: 2,
};
export const QUICK_POLICY: RepPolicy = {
  warmup: 1,
  minReps: 2,
  maxReps: 2,
  budgetMs: 0,
  slowMs: Infinity,
  slowReps: 2,
};

/** Whole critic steps, timed in rounds (GP and ALP, one each): at least three rounds, even of slow steps. */
export const STEPS_POLICY: RepPolicy = {
  warmup: 2,
  minReps: 3,
  maxReps: 15,
  budgetMs: 3000,
  slowMs: Infinity,
  slowReps: 3,
};

/**
 * Runs `iter` (which returns its own elapsed ms, or one per workload of a round, so the caller
 * decides what is timed) under a repetition policy; returns the timed samples and the number of
 * warm-ups done. A round is as slow as its slowest workload and costs their sum.
 */
export async function repeat<T extends number | number[]>(
  policy: RepPolicy,
  iter: () => Promise<T>,
): Promise<{ times: T[]; warmup: number }> {
  const slowest = (t: T) => (typeof t === 'number' ? t : Math.max(...t.filter((x) => x !== undefined)));
  const cost = (t: T) => (typeof t === 'number' ? t : t.reduce((a, b) => a + (b ?? 0), 0));
  // the first run compiles shaders and may tune kernel variants: judge speed by the last warm-up
  const crawl = policy.crawlMs ?? Infinity;
  let last = 0;
  let warmup = 0;
  for (let i = 0; i < policy.warmup; i++) {
    last = slowest(await iter());
    warmup++;
    if (last > crawl) break;
  }
  const slow = last > policy.slowMs;
  const target = last > crawl ? 1 : slow ? policy.slowReps : policy.maxReps;
  const times: T[] = [];
  let spent = 0;
  while (times.length < target) {
    const t = await iter();
    times.push(t);
    spent += cost(t);
    if (!slow && times.length >= policy.minReps && spent >= policy.budgetMs) break;
  }
  return { times, warmup };
}

/** Fills ms/min/max/iqr and throughput from samples. */
export function measuredRow(base: Row, times: number[], warmup: number, w: { flops?: number; bytes?: number }): Row {
  const s = stats(times);
  const row: Row = { ...base, ...s, reps: times.length, warmup };
  if (w.flops) row.gflops = w.flops / (s.ms * 1e6);
  if (w.bytes) row.gbps = w.bytes / (s.ms * 1e6);
  return row;
}

/**
 * A peer's time budget. Target workloads always run (and count against it); any other workload
 * is skipped when its estimated cost would overrun: ours ms x this peer's ratio on the same kind
 * of work measured earlier in the run (peers are 2-100x slower, depending on the op) x runs.
 */
export class PeerBudget {
  private readonly start = performance.now();
  private readonly ratios = new Map<string, number>();
  constructor(private readonly budgetMs: number) {}

  private static kind(w: { kind: string; dir?: string; mode?: string }): string {
    return [w.kind, w.dir ?? w.mode ?? ''].join(':');
  }

  /** Why `w` should be skipped, or null to run it. Target workloads always run. */
  skipReason(
    w: { kind: string; dir?: string; mode?: string; oursMs?: number; target?: boolean },
    runsPerSlow: number,
  ): string | null {
    if (w.target) return null;
    const elapsed = performance.now() - this.start;
    const left = this.budgetMs - elapsed;
    const all = [...this.ratios.values()].sort((a, b) => a - b);
    const ratio = this.ratios.get(PeerBudget.kind(w)) ?? all[all.length >> 1];
    const est = w.oursMs !== undefined && ratio !== undefined ? w.oursMs * ratio * runsPerSlow : 0;
    if (left <= 0 || est > left) {
      return `skipped: peer time budget (${(this.budgetMs / 1000).toFixed(0)} s; ${(elapsed / 1000).toFixed(0)} s used${est ? `, ~${(est / 1000).toFixed(0)} s needed` : ''}); raise --peer-budget or use --filter`;
    }
    return null;
  }

  done(w: { kind: string; dir?: string; mode?: string; oursMs?: number }, ms: number): void {
    if (w.oursMs) this.ratios.set(PeerBudget.kind(w), ms / w.oursMs);
  }
}

// ---------- command line ----------

export interface Args {
  quick: boolean;
  filter: string[];
  json: string | null;
  peers: Exclude<Impl, 'ours'>[];
  /** run our training steps eagerly instead of as compiled steps */
  eager: boolean;
  /** seconds each peer process may spend before its remaining workloads are skipped */
  peerBudget: Record<Exclude<Impl, 'ours'>, number>;
}

/** Per peer, for workloads behind no target: tfjs-webgpu takes seconds per conv on a CPU adapter. */
export const PEER_BUDGET_S = { 'tfjs-webgpu': 360, 'tfjs-wasm': 120, 'pytorch-cpu': 120, 'pytorch-cpu-2t': 60 };

export function parseArgs(argv: string[]): Args {
  const a: Args = {
    quick: false,
    filter: [],
    json: null,
    peers: [...PEERS],
    eager: false,
    peerBudget: { ...PEER_BUDGET_S },
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`bench: ${f} needs a value`);
      return v;
    };
    if (f === '--quick') a.quick = true;
    else if (f === '--filter') a.filter.push(value());
    else if (f === '--json') a.json = value();
    else if (f === '--no-peer') a.peers = [];
    else if (f === '--eager') a.eager = true;
    else if (f === '--peer') {
      const names = value()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      a.peers = names.map((n) => {
        const p = PEERS.find(
          (x) =>
            x === n ||
            (n === 'torch' && x === 'pytorch-cpu') ||
            (n === 'torch2' && x === 'pytorch-cpu-2t') ||
            (n === 'wasm' && x === 'tfjs-wasm') ||
            (n === 'webgpu' && x === 'tfjs-webgpu'),
        );
        if (!p)
          throw new Error(
            `bench: unknown peer '${n}'; choose from ${PEERS.join(', ')} (or torch, torch2, wasm, webgpu)`,
          );
        return p;
      });
    } else if (f === '--peer-budget') {
      const s = Number(value());
      if (!(s > 0)) throw new Error(`bench: --peer-budget must be a positive number of seconds`);
      for (const p of PEERS) a.peerBudget[p] = s;
    } else if (f === '--help' || f === '-h') {
      throw new Error(USAGE);
    } else throw new Error(`bench: unknown flag '${f}'\n${USAGE}`);
  }
  return a;
}

export const USAGE = `usage: npm run bench -- [--quick] [--filter <substr>]... [--json <file>] [--eager]
       [--no-peer | --peer tfjs-webgpu,tfjs-wasm,torch,torch2] [--peer-budget <seconds per peer>]
--eager runs our training steps op by op instead of as compiled steps (E.compile)
torch2 (pytorch-cpu-2t) is PyTorch with 2 threads, for the toy MLP step and the critic steps
default peer budgets: tfjs-webgpu ${PEER_BUDGET_S['tfjs-webgpu']} s, tfjs-wasm ${PEER_BUDGET_S['tfjs-wasm']} s, pytorch-cpu ${PEER_BUDGET_S['pytorch-cpu']} s`;

/** True when the workload id contains any of the filters (case-insensitive), or none are given. */
export function selected(id: string, filter: string[]): boolean {
  return !filter.length || filter.some((f) => id.toLowerCase().includes(f.toLowerCase()));
}

// ---------- output ----------

const fx = (v: number | undefined, d = 2) =>
  v === undefined || !Number.isFinite(v) ? '' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(d);

/** peer ms / ours ms: above 1 means ours is faster. */
export function speedup(rows: Row[], workload: string, peer: Impl): number | undefined {
  const o = rows.find((r) => r.workload === workload && r.impl === 'ours' && r.ms !== undefined);
  const p = rows.find((r) => r.workload === workload && r.impl === peer && r.ms !== undefined);
  return o && p ? p.ms! / o.ms! : undefined;
}

export function markdownTables(rows: Row[]): string {
  const out: string[] = [];
  const groups = [...new Set(rows.map((r) => r.group))];
  for (const g of groups) {
    out.push(`### ${g}`, '');
    out.push(
      '| workload | impl | median ms | min–max ms | reps | GFLOP/s | GB/s | disp/it | submits/it | variant | ours faster by |',
    );
    out.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|');
    for (const r of rows.filter((x) => x.group === g)) {
      if (r.ms === undefined) {
        out.push(`| ${r.workload} | ${r.impl} | — | | | | | | | ${cell(r.skipped ?? 'not run')} | |`);
        continue;
      }
      const ratio = r.impl === 'ours' ? undefined : speedup(rows, r.workload, r.impl);
      out.push(
        `| ${r.workload} | ${r.impl} | ${fx(r.ms)} | ${fx(r.min)}–${fx(r.max)} | ${r.reps}` +
          ` | ${fx(r.gflops)} | ${fx(r.gbps)} | ${r.dispatches ?? ''} | ${r.submits ?? ''} | ${r.variant ?? ''}` +
          ` | ${ratio === undefined ? '' : `${fx(ratio)}x`} |`,
      );
    }
    out.push('');
  }
  return out.join('\n');
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export interface TargetResult {
  target: string;
  measured: string;
  met: 'yes' | 'no' | 'not measured';
  ratio?: number;
}

/** The issue's speed targets, checked against this run's rows (full-size workloads only). */
export function targets(rows: Row[]): TargetResult[] {
  const ids = targetIds();
  const res: TargetResult[] = [];
  const has = (id: string) => rows.some((r) => r.workload === id);
  const why = (id: string) =>
    rows.filter((x) => x.workload === id && x.ms === undefined).map((x) => `${x.impl}: ${x.skipped}`);
  const vsPeer = (label: string, wanted: string[], min: number, extra?: (o: Row) => string | null) => {
    for (const id of wanted) {
      const target = wanted.length > 1 ? `${label}: ${id}` : label;
      if (!has(id)) {
        res.push({ target, measured: 'workload not selected', met: 'not measured' });
        continue;
      }
      const r = speedup(rows, id, 'tfjs-webgpu');
      if (r === undefined) {
        const w = why(id);
        res.push({ target, measured: w.length ? w.join('; ') : 'tfjs-webgpu peer not run', met: 'not measured' });
        continue;
      }
      const o = rows.find((x) => x.workload === id && x.impl === 'ours')!;
      const problem = extra?.(o) ?? null;
      res.push({
        target,
        measured: `${fx(r)}x${problem ? ` (${problem})` : ''}`,
        met: r >= min && !problem ? 'yes' : 'no',
        ratio: r,
      });
    }
  };
  vsPeer('residual critic DIM 128 batch 64 fwd+bwd >= 10x vs tfjs-webgpu', [ids.critic], 10);
  vsPeer('matmul 1024 >= 3x vs tfjs-webgpu', [ids.matmul], 3);
  vsPeer('conv >= 3x vs tfjs-webgpu', ids.conv, 3);
  vsPeer('Adam 1M params >= 10x vs tfjs-webgpu', [ids.adam], 10);
  vsPeer('toy MLP step >= 15x vs tfjs-webgpu, 1 submit and 0 readbacks per step', [ids.mlp], 15, (o) =>
    o.submits !== 1 || o.readbacks !== 0 ? `${o.submits} submits, ${o.readbacks} readbacks per step` : null,
  );
  // against PyTorch CPU (1 thread, the reference), measured in the same run
  const ms = (impl: Impl, id: string) => rows.find((x) => x.impl === impl && x.workload === id)?.ms;
  const missing = (ids: string[]) => {
    if (!ids.every(has)) return 'workload not selected';
    const w = ids.flatMap(why);
    return w.length ? w.join('; ') : 'pytorch-cpu peer not run';
  };
  const vsTorch = (label: string, id: string, limit: number, strict = false) => {
    const [o, t, t2] = [ms('ours', id), ms('pytorch-cpu', id), ms('pytorch-cpu-2t', id)];
    if (o === undefined || t === undefined)
      return res.push({ target: label, measured: missing([id]), met: 'not measured' });
    const two = t2 === undefined ? '' : `; ${fx(o / t2)}x PyTorch with 2 threads (${fx(t2)} ms)`;
    const met = strict ? o / t < limit : o / t <= limit;
    res.push({
      target: label,
      measured: `${fx(o / t)}x (${fx(o)} vs ${fx(t)} ms)${two}`,
      met: met ? 'yes' : 'no',
      ratio: o / t,
    });
  };
  vsTorch('toy MLP step no slower than PyTorch CPU', ids.mlp, 1);
  for (const p of ids.steps) {
    const toy = p.label.startsWith('toy');
    if (toy) {
      vsTorch(`GP critic step <= 2x PyTorch CPU's, ${p.label}`, p.gp, 2);
      vsTorch(`ALP(k=1) critic step <= 2x PyTorch CPU's, ${p.label}`, p.alp, 2);
      const d = rows.find((x) => x.impl === 'ours' && x.workload === p.alp)?.dispatches;
      res.push({
        target: `ALP(k=1) critic step in <= 64 dispatches, ${p.label}`,
        measured: d === undefined ? missing([p.alp]) : `${d}`,
        met: d === undefined ? 'not measured' : d <= 64 ? 'yes' : 'no',
      });
    } else if (p.label.includes('64+64')) {
      vsTorch(`ALP(k=1) critic step ahead of PyTorch CPU, ${p.label}`, p.alp, 1, true);
    } else {
      vsTorch(`ALP(k=1) critic step no slower than PyTorch CPU, ${p.label}`, p.alp, 1);
    }
  }
  return res;
}

export function targetsTable(t: TargetResult[]): string {
  const out = ['| target | measured | met |', '|---|---|---|'];
  for (const r of t) out.push(`| ${cell(r.target)} | ${cell(r.measured)} | ${r.met} |`);
  return out.join('\n');
}

// ---------- peer protocol: one JSON object per stdout line, after a marker ----------

export const ROW_MARK = '@@bench-row ';
export const INFO_MARK = '@@bench-info ';

export interface PeerInfo {
  impl: Impl;
  adapter?: string;
  driver?: string;
  version?: string;
  threads?: number;
  note?: string;
}

export function emitRow(r: Row): void {
  process.stdout.write(ROW_MARK + JSON.stringify(r) + '\n');
}
export function emitInfo(i: PeerInfo): void {
  process.stdout.write(INFO_MARK + JSON.stringify(i) + '\n');
}
