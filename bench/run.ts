// `npm run bench`: kernel and training-step benchmarks of our engine against peers measured in
// the same run on the same machine (TensorFlow.js WebGPU on the same Dawn adapter, tfjs WASM,
// PyTorch CPU through /usr/bin/python3), printed as markdown tables plus a targets table.
//   npm run bench -- --filter conv --filter adam   workloads whose name contains a substring
//   npm run bench -- --quick                       tiny sizes, 1 warm-up + 2 reps (the smoke test)
//   npm run bench -- --json out.json               every row, the adapter and the targets as JSON
//   npm run bench -- --no-peer | --peer tfjs-webgpu,torch   [--peer-budget <s>]
// Ours runs first in this process; then each peer in its own child process (own device), one
// after the other. Ours is timed between two sync()s; peers synchronise their own way.
import fs from 'node:fs';
import { adapterName, counters, deviceInfo, initDevice, releaseDevice, sync } from '../engine/index.js';
import { timestampsSupported } from '../engine/index.js';
import { groupProfile, startProfile, stopProfile } from '../engine/index.js';
import {
  markdownTables,
  measuredRow,
  OURS_POLICY,
  parseArgs,
  QUICK_POLICY,
  repeat,
  selected,
  STEPS_POLICY,
  targets,
  targetsTable,
  type Args,
  type Impl,
  type PeerInfo,
  type Row,
  USAGE,
} from './harness.js';
import { runPeer } from './peers/spawn.js';
import { TorchSteps } from './peers/torch_steps.js';
import { prepareOurs, runOnce, setEager, type Prepared } from './suites/ours.js';
import { targetIds, workloads, type Workload } from './suites/workloads.js';

/** An error's first two lines (the engine puts the GPU's message on the second), shortened. */
const brief = (e: unknown) => {
  const s = (e as Error).message.split('\n').slice(0, 2).join(' ').replace(/\s+/g, ' ');
  return s.length > 300 ? `${s.slice(0, 300)}…` : s;
};
const log = (s: string) => process.stderr.write(s + '\n');

const PROFILE_UNDER_MS = 5000;

/** The kernels that took most GPU time in one profiled iteration, e.g. "matmul.register 97%". */
async function kernelsOf(p: Prepared): Promise<string | undefined> {
  if (!timestampsSupported()) return undefined;
  await sync();
  startProfile();
  runOnce(p);
  const ks = groupProfile(await stopProfile(), (k) => k.kernel);
  const total = ks.reduce((s, k) => s + k.totalMs, 0);
  if (!total) return undefined;
  return ks
    .slice(0, 2)
    .filter((k, i) => i === 0 || k.totalMs / total >= 0.1)
    .map((k) => `${k.key} ${Math.round((100 * k.totalMs) / total)}%`)
    .join(', ');
}

type Counts = Pick<Row, 'dispatches' | 'submits' | 'readbacks'>;

/** One timed iteration between two sync()s, with the engine's counters it moved. */
async function timedOnce(p: Prepared): Promise<{ ms: number; counts: Counts }> {
  await sync();
  const c0 = { ...counters };
  const t0 = performance.now();
  runOnce(p);
  await sync();
  const ms = performance.now() - t0;
  return {
    ms,
    counts: {
      dispatches: counters.dispatches - c0.dispatches,
      submits: counters.submits - c0.submits,
      readbacks: counters.readbacks - c0.readbacks,
    },
  };
}

/**
 * Rows for `ws` measured together, one iteration of each per round (a single workload is a
 * group of one), so that a slow spell of a shared machine slows all of them alike and their
 * ratios hold: the critic steps' ALP / GP comparison.
 */
/** PyTorch's critic-step servers (1 and 2 threads), timed in the same rounds as ours. */
type TorchPeers = { impl: 'pytorch-cpu' | 'pytorch-cpu-2t'; steps: TorchSteps; failed: string | null }[];

/** A short pause between engines, so one's idle threads have gone to sleep before the other is timed. */
const settle = () => new Promise((r) => setTimeout(r, 30));

async function benchOurs(ws: Workload[], quick: boolean, torchSteps: TorchPeers): Promise<Row[]> {
  const bases: Row[] = ws.map((w) => ({ workload: w.id, group: w.group, impl: 'ours' }));
  // PyTorch's steps (critic steps only) run in the same rounds, after ours
  const key = ws.map((w) => w.id).join('|');
  const torch: TorchPeers = torchSteps.map((t) => ({ ...t, failed: null }));
  for (const t of torch) await t.steps.prepare(key, ws).catch((e: Error) => (t.failed = e.message));
  const preps: Prepared[] = [];
  const failed = new Map<number, string>();
  for (const [i, w] of ws.entries()) {
    try {
      const p = await prepareOurs(w);
      if ('unavailable' in p) failed.set(i, p.unavailable);
      else preps[i] = p;
    } catch (e) {
      failed.set(i, `error: ${brief(e)}`);
    }
  }
  const live = ws.map((_, i) => i).filter((i) => !failed.has(i));
  const counts: Counts[] = [];
  try {
    const policy = quick ? QUICK_POLICY : ws[0].kind === 'criticStep' ? STEPS_POLICY : OURS_POLICY;
    const rounds = await repeat(policy, async () => {
      const ms: number[] = [];
      for (const i of live) {
        const r = await timedOnce(preps[i]);
        ms[i] = r.ms;
        counts[i] = r.counts;
      }
      for (const [j, t] of torch.entries()) {
        if (t.failed) continue;
        await settle();
        const r = await t.steps.round(key).catch((e: Error) => void (t.failed = e.message));
        if (r) r.forEach((v, i) => (ms[ws.length * (j + 1) + i] = v));
      }
      if (torch.length) await settle();
      return ms;
    });
    const mine: Row[] = [];
    for (const [i, w] of ws.entries()) {
      if (failed.has(i)) {
        mine.push({ ...bases[i], skipped: failed.get(i) });
        continue;
      }
      const row = {
        ...measuredRow(
          bases[i],
          rounds.times.map((t) => t[i]),
          rounds.warmup,
          w,
        ),
        ...counts[i],
      };
      // one more (profiled) iteration names the kernels; too costly for whole critic steps
      mine.push(row.ms! < PROFILE_UNDER_MS ? { ...row, variant: await kernelsOf(preps[i]) } : row);
    }
    const theirs = torch.flatMap((peer, j) =>
      ws.map((w, i): Row => {
        const base: Row = { workload: w.id, group: w.group, impl: peer.impl };
        const t = rounds.times.map((r) => r[ws.length * (j + 1) + i]);
        return peer.failed || t.some((x) => x === undefined)
          ? { ...base, skipped: `error: ${peer.failed ?? 'no time'}` }
          : measuredRow(base, t, rounds.warmup, w);
      }),
    );
    for (const t of torch) await t.steps.drop(key).catch(() => undefined);
    return [...mine, ...theirs];
  } catch (e) {
    return ws.map((_, i) => ({ ...bases[i], skipped: failed.get(i) ?? `error: ${brief(e)}` }));
  } finally {
    preps.forEach((p) => p?.dispose());
    await sync().catch(() => undefined);
  }
}

/** Workloads in suite order, the GP and ALP steps of one critic and batch grouped together. */
function measureGroups(work: Workload[]): Workload[][] {
  const groups: Workload[][] = [];
  const pairs = new Map<string, Workload[]>();
  for (const w of work) {
    if (w.kind !== 'criticStep') {
      groups.push([w]);
      continue;
    }
    const key = `${w.critic}:${w.half}:${w.dim}`;
    const g = pairs.get(key);
    if (g) g.push(w);
    else {
      const fresh = [w];
      pairs.set(key, fresh);
      groups.push(fresh);
    }
  }
  return groups;
}

/**
 * What a peer runs: our median attached (for its budget estimate); target workloads first, then
 * the rest, each cheapest first, so a peer's time budget cuts the most expensive extras.
 */
function peerPlan(work: Workload[], rows: Row[], peer: Impl): Workload[] {
  const t = targetIds();
  const ids = new Set([t.critic, t.matmul, ...t.conv, t.adam, t.mlp]);
  const ws = work
    // whole critic steps: PyTorch only, timed alongside ours (benchOurs); PyTorch with 2 threads: the toy MLP step only
    .filter((w) => w.kind !== 'criticStep' && (peer !== 'pytorch-cpu-2t' || w.kind === 'mlp'))
    .map((w) => ({
      ...w,
      oursMs: rows.find((r) => r.workload === w.id && r.impl === 'ours')?.ms,
      target: ids.has(w.id),
    }));
  const cost = (w: Workload) => w.oursMs ?? Infinity;
  const byCost = (a: Workload, b: Workload) => cost(a) - cost(b);
  return [...ws.filter((w) => ids.has(w.id)).sort(byCost), ...ws.filter((w) => !ids.has(w.id)).sort(byCost)];
}

async function main(args: Args): Promise<void> {
  const started = performance.now();
  const work = workloads({ quick: args.quick }).filter((w) => selected(w.id, args.filter));
  if (!work.length) throw new Error(`bench: no workload matches --filter ${args.filter.join(', ')}`);

  await initDevice();
  const adapter = adapterName();
  const info = deviceInfo();
  log(`ours on ${adapter} (driver: ${info.description || 'n/a'}, backend ${info.backend})`);
  const rows: Row[] = [];
  setEager(args.eager);
  if (args.eager) log('ours: training steps run eagerly (--eager)');
  // PyTorch's critic steps are timed here, in the same rounds as ours (see torch_steps.ts)
  const peerInfo: PeerInfo[] = [];
  const peerNotes: string[] = [];
  const torch: TorchPeers = [];
  if (work.some((w) => w.kind === 'criticStep')) {
    for (const impl of ['pytorch-cpu', 'pytorch-cpu-2t'] as const) {
      if (!args.peers.includes(impl)) continue;
      const t = await TorchSteps.start(impl);
      if (typeof t === 'string') peerNotes.push(`${impl} critic steps skipped: ${t}`);
      else torch.push({ impl, steps: t, failed: null });
    }
  }
  for (const group of measureGroups(work)) {
    const steps = group[0].kind === 'criticStep';
    for (const r of await benchOurs(group, args.quick, steps ? torch : [])) {
      log(`  ${r.impl}: ${r.workload}: ${r.ms !== undefined ? `${r.ms.toFixed(2)} ms` : r.skipped}`);
      rows.push(r);
    }
  }
  for (const t of torch) t.steps.close();
  await releaseDevice(); // peers get the adapter to themselves

  for (const peer of args.peers) {
    log(`${peer}:`);
    const res = await runPeer(peer, peerPlan(work, rows, peer), {
      quick: args.quick,
      budget: args.peerBudget[peer],
      log,
    });
    if (res.info) peerInfo.push(res.info);
    if (res.skipped) {
      peerNotes.push(`${peer} skipped: ${res.skipped}`);
      log(`  ${peer} skipped: ${res.skipped}`);
    }
    rows.push(...res.rows);
  }

  // ours first, then peers in the order given, grouped by workload in suite order
  const order = (r: Row) =>
    work.findIndex((w) => w.id === r.workload) * 10 + (r.impl === 'ours' ? 0 : 1 + args.peers.indexOf(r.impl as never));
  rows.sort((a, b) => order(a) - order(b));
  const t = targets(rows);

  const out: string[] = [];
  out.push(`## Benchmarks${args.quick ? ' (--quick: tiny sizes, not representative)' : ''}`, '');
  out.push(`- adapter: ${adapter}`);
  out.push(
    `- driver: ${info.description || 'n/a'}; vendor ${info.vendor}, architecture ${info.architecture}, backend ${info.backend}`,
  );
  for (const p of peerInfo) {
    out.push(
      `- ${p.impl}: ${[p.adapter && `adapter ${p.adapter}`, p.version && `version ${p.version}`, p.threads && `${p.threads} thread(s)`, p.note].filter(Boolean).join(', ')}`,
    );
  }
  for (const n of peerNotes) out.push(`- ${n}`);
  out.push(`- median of timed reps after warm-up; "ours faster by" = peer median / ours median`, '');
  out.push(markdownTables(rows), '### targets', '');
  if (args.quick) out.push('(--quick runs none of the full-size target workloads)', '');
  out.push(targetsTable(t), '');
  out.push(`total time ${((performance.now() - started) / 1000).toFixed(0)} s`);
  console.log(out.join('\n'));

  if (args.json) {
    const doc = {
      date: new Date().toISOString(),
      args,
      adapter,
      device: info,
      peers: peerInfo,
      peerNotes,
      rows,
      targets: t,
    };
    fs.writeFileSync(args.json, JSON.stringify(doc, null, 1));
    log(`wrote ${args.json}`);
  }
}

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
try {
  await main(parseArgs(process.argv.slice(2)));
} catch (e) {
  console.error((e as Error).message);
  await releaseDevice().catch(() => undefined);
  process.exit(1);
}
