// Expected margins of a small classifier under gradient-norm penalties (Jolicoeur-Martineau &
// Mitliagkas, "Gradient penalty from a maximum margin perspective", Table 1). Two classes: a
// swiss roll and the same roll scaled by 1.5; an MLP 2→64→64→1 (logit) trained with the
// logistic loss, plus λ·mean g(‖∇_x f‖) at the training points, for the L2, L∞ and L1 gradient
// norms and g(z) = (z − 1)² or max(0, z − 1).
//
//   npx tsx experiments/margins.ts --seeds 3 --iters 2000 --out out/margins
//
// Margins of correctly classified test points, for p ∈ {1, 2, ∞} with dual norm q:
//   first order  |f(x)| / ‖∇f(x)‖_q     (L1 margin ↔ L∞ gradient norm, L∞ margin ↔ L1 norm)
//   line search  the distance t·‖d‖_p = t to the first sign change of f along the steepest
//                L_p descent direction d (‖d‖_p = 1) of f's linearisation at x
// Writes <out>/runs/<seed>_<penalty>.json (finished runs are skipped), <out>/results.json,
// <out>/summary.md (the table) and <out>/boundaries.png (seed 0's decision functions).
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as E from '../engine/index.js';
import { Adam } from '../engine/index.js';
import { HostRng } from '../engine/index.js';
import { MLP } from '../nn/index.js';
import { gradientNorm, softplus, type GradNorm } from '../alr/index.js';
import { contactSheet, savePng, saveScatter } from './common/plot.js';
import { ensureDir, intArg, main, numArg, NONNEG_ARG, program, writeJson, writeConfig } from './training/run.js';
import { writeFileSafe } from './training/files.js';

export interface Penalty {
  id: string;
  label: string;
  norm: GradNorm | null;
  g: 'squared' | 'hinge' | null;
}

export const PENALTIES: Penalty[] = [
  { id: 'none', label: 'no penalty', norm: null, g: null },
  ...(['l2', 'linf', 'l1'] as GradNorm[]).flatMap((norm) => {
    const n = norm === 'l2' ? '‖∇f‖₂' : norm === 'linf' ? '‖∇f‖∞' : '‖∇f‖₁';
    return [
      { id: `${norm}-sq`, label: `(${n} − 1)²`, norm, g: 'squared' as const },
      { id: `${norm}-hinge`, label: `max(0, ${n} − 1)`, norm, g: 'hinge' as const },
    ];
  }),
];

export interface MarginOptions {
  seeds: number;
  seed: number;
  iters: number;
  lambda: number;
  lr: number;
  hidden: number;
  /** points per class, train and test each */
  perClass: number;
  noise: number;
  /** the rolls are divided by this (7.5 as toy_data's swiss roll; 1 = sklearn's raw scale) */
  divisor: number;
  /** line search: coarse steps up to tMax, then bisection rounds */
  tMax: number;
  steps: number;
  bisect: number;
  penalties: string[];
  out: string;
  /** run every op eagerly instead of replaying the compiled step (same results, slower) */
  eager?: boolean;
}

export const MARGIN_DEFAULTS: Omit<MarginOptions, 'out'> = {
  seeds: 3,
  seed: 0,
  iters: 2000,
  lambda: 1,
  lr: 1e-3,
  hidden: 64,
  perClass: 500,
  noise: 0.25,
  divisor: 7.5,
  tMax: 4,
  steps: 64,
  bisect: 20,
  penalties: PENALTIES.map((p) => p.id),
};

/** Roll (label -1) and the roll scaled by 1.5 (label +1), as toy_data's swiss roll (/ 7.5). */
export function twoRolls(
  perClass: number,
  noise: number,
  seed: number,
  divisor = 7.5,
): { x: Float32Array; y: Float32Array } {
  const rng = new HostRng(seed);
  const n = 2 * perClass;
  const x = new Float32Array(2 * n);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const scale = i < perClass ? 1 : 1.5;
    const t = 1.5 * Math.PI * (1 + 2 * rng.next());
    x[2 * i] = (scale * (t * Math.cos(t) + noise * rng.normal())) / divisor;
    x[2 * i + 1] = (scale * (t * Math.sin(t) + noise * rng.normal())) / divisor;
    y[i] = i < perClass ? -1 : 1;
  }
  return { x, y };
}

export interface MarginResult {
  seed: number;
  penalty: string;
  accuracy: number;
  correct: number;
  /** first-order |f| / ‖∇f‖_dual, mean over correct test points */
  firstOrder: { l1: number; l2: number; linf: number };
  /** line-search distance, mean over correct points whose boundary was found within tMax */
  lineSearch: { l1: number; l2: number; linf: number };
  lineSearchFound: { l1: number; l2: number; linf: number };
  finalLoss: number;
  seconds: number;
}

function penaltyTerm(p: Penalty, z: E.Tensor): E.Tensor {
  return p.g === 'squared' ? E.square(E.sub(z, 1)) : E.maximum(E.sub(z, 1), 0);
}

/** f and ∇_x f at the points (first order), read back. */
async function valueAndGrad(model: MLP, pts: Float32Array): Promise<{ f: Float32Array; g: Float32Array }> {
  const out = E.tidy(() => {
    const x = E.requireGrad(E.tensor(pts, [pts.length / 2, 2]));
    const f = model.forward(x);
    const [g] = E.grad(E.sum(f), [x]);
    return { f: E.detach(f), g };
  });
  const [f, g] = await Promise.all([out.f.toFloat32(), out.g.toFloat32()]);
  E.dispose(out);
  return { f, g };
}

async function forwardHost(model: MLP, pts: Float32Array): Promise<Float32Array> {
  const y = E.tidy(() => E.noGrad(() => model.forward(E.tensor(pts, [pts.length / 2, 2]))));
  const v = await y.toFloat32();
  y.dispose();
  return v;
}

/** Steepest L_p descent direction of the linearisation (‖d‖_p = 1), moving f towards 0. */
function direction(p: 'l1' | 'l2' | 'linf', gx: number, gy: number, s: number): [number, number] {
  if (p === 'l2') {
    const n = Math.hypot(gx, gy) || 1;
    return [(-s * gx) / n, (-s * gy) / n];
  }
  if (p === 'linf') return [-s * Math.sign(gx), -s * Math.sign(gy)];
  return Math.abs(gx) >= Math.abs(gy) ? [-s * Math.sign(gx), 0] : [0, -s * Math.sign(gy)];
}

/**
 * Distance to the first sign change of f along x + t·d, t ∈ (0, tMax]: coarse scan, then
 * bisection, all points of a round in one batched forward. Infinity where none was found.
 */
async function lineSearch(
  model: MLP,
  x: Float32Array,
  d: Float32Array,
  sgn: Float32Array,
  o: MarginOptions,
): Promise<Float32Array> {
  const n = sgn.length;
  const pts = new Float32Array(2 * n * o.steps);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < o.steps; j++) {
      const t = (o.tMax * (j + 1)) / o.steps;
      pts[2 * (i * o.steps + j)] = x[2 * i] + t * d[2 * i];
      pts[2 * (i * o.steps + j) + 1] = x[2 * i + 1] + t * d[2 * i + 1];
    }
  }
  const f = await forwardHost(model, pts);
  const lo = new Float32Array(n);
  const hi = new Float32Array(n).fill(Infinity);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < o.steps; j++) {
      if (f[i * o.steps + j] * sgn[i] <= 0) {
        lo[i] = (o.tMax * j) / o.steps;
        hi[i] = (o.tMax * (j + 1)) / o.steps;
        break;
      }
    }
  }
  const mid = new Float32Array(2 * n);
  for (let r = 0; r < o.bisect; r++) {
    for (let i = 0; i < n; i++) {
      const t = Number.isFinite(hi[i]) ? (lo[i] + hi[i]) / 2 : 0;
      mid[2 * i] = x[2 * i] + t * d[2 * i];
      mid[2 * i + 1] = x[2 * i + 1] + t * d[2 * i + 1];
    }
    const fm = await forwardHost(model, mid);
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(hi[i])) continue;
      const t = (lo[i] + hi[i]) / 2;
      if (fm[i] * sgn[i] <= 0) hi[i] = t;
      else lo[i] = t;
    }
  }
  return hi;
}

const meanOf = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN);

/** Trains one classifier and measures its margins on the test set. */
export async function runMargin(
  pen: Penalty,
  seed: number,
  o: MarginOptions,
  pictureFile?: string,
): Promise<MarginResult> {
  const t0 = performance.now();
  E.manualSeed(seed);
  const train = twoRolls(o.perClass, o.noise, 1000 + seed, o.divisor);
  const test = twoRolls(o.perClass, o.noise, 2000 + seed, o.divisor);
  const model = new MLP([2, o.hidden, o.hidden, 1]);
  const opt = new Adam(model.parameters(), { lr: o.lr });
  const X = E.keep(E.tensor(train.x, [train.y.length, 2]));
  const Y = E.keep(E.tensor(train.y, [train.y.length]));
  // one training step, captured once and replayed (the eager ops' kernels, the same numbers)
  const step = E.compile(
    () => {
      const x = E.requireGrad(E.detach(X));
      const f = model.forward(x);
      let loss = E.mean(softplus(E.neg(E.mul(Y, f)))); // logistic loss log(1 + e^{-y f})
      if (pen.norm) {
        const [g] = E.grad(E.sum(f), [x], { createGraph: true });
        loss = E.add(loss, E.mul(E.mean(penaltyTerm(pen, gradientNorm(g, pen.norm))), o.lambda));
      }
      opt.step(E.grad(loss, model.parameters()));
      return E.detach(loss);
    },
    { enabled: !o.eager },
  );
  let lossT: E.Tensor | null = null;
  for (let it = 0; it < o.iters; it++) {
    const l = step();
    if (it + 1 === o.iters) lossT = l;
    else l.dispose();
    await E.endStep(); // submit, bound the queue, let Dawn recycle finished work
  }
  step.dispose();
  const finalLoss = lossT ? await lossT.item() : NaN;
  lossT?.dispose();
  // one readback per run (these runs are short): a diverged one is reported, not tabulated
  if (!Number.isFinite(finalLoss))
    throw new Error(
      `margins: training diverged: the loss is ${finalLoss} after ${o.iters} iterations (seed ${seed}); try a smaller --lr or --lambda`,
    );
  X.dispose();
  Y.dispose();

  const { f, g } = await valueAndGrad(model, test.x);
  const n = test.y.length;
  const idx: number[] = [];
  for (let i = 0; i < n; i++) if (f[i] * test.y[i] > 0) idx.push(i);
  const first = { l1: [] as number[], l2: [] as number[], linf: [] as number[] };
  for (const i of idx) {
    const gx = g[2 * i];
    const gy = g[2 * i + 1];
    const a = Math.abs(f[i]);
    first.l2.push(a / Math.max(Math.hypot(gx, gy), 1e-12));
    first.l1.push(a / Math.max(Math.max(Math.abs(gx), Math.abs(gy)), 1e-12)); // dual of L1 is L∞
    first.linf.push(a / Math.max(Math.abs(gx) + Math.abs(gy), 1e-12)); // dual of L∞ is L1
  }
  const xs = new Float32Array(2 * idx.length);
  const sgn = new Float32Array(idx.length);
  idx.forEach((i, k) => {
    xs[2 * k] = test.x[2 * i];
    xs[2 * k + 1] = test.x[2 * i + 1];
    sgn[k] = Math.sign(f[i]);
  });
  const ls = { l1: NaN, l2: NaN, linf: NaN };
  const found = { l1: 0, l2: 0, linf: 0 };
  for (const p of ['l1', 'l2', 'linf'] as const) {
    const d = new Float32Array(2 * idx.length);
    idx.forEach((i, k) => {
      const [dx, dy] = direction(p, g[2 * i], g[2 * i + 1], sgn[k]);
      d[2 * k] = dx;
      d[2 * k + 1] = dy;
    });
    const dist = idx.length ? await lineSearch(model, xs, d, sgn, o) : new Float32Array(0);
    const ok = [...dist].filter(Number.isFinite);
    ls[p] = meanOf(ok);
    found[p] = idx.length ? ok.length / idx.length : 0;
  }
  if (pictureFile) await picture(model, test, `${pen.label}  acc ${(idx.length / n).toFixed(3)}`, pictureFile, o);
  model.dispose();
  opt.dispose();
  return {
    seed,
    penalty: pen.id,
    accuracy: idx.length / n,
    correct: idx.length,
    firstOrder: { l1: meanOf(first.l1), l2: meanOf(first.l2), linf: meanOf(first.linf) },
    lineSearch: ls,
    lineSearchFound: found,
    finalLoss,
    seconds: (performance.now() - t0) / 1000,
  };
}

function stats(v: number[]): { mean: number; std: number } {
  const m = meanOf(v);
  const s = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1)) : 0;
  return { mean: m, std: s };
}

const pm = (v: number[], d = 3) => {
  const s = stats(v);
  return Number.isFinite(s.mean) ? `${s.mean.toFixed(d)} ± ${s.std.toFixed(d)}` : 'n/a';
};

export function marginTable(results: MarginResult[], o: MarginOptions): string {
  const seeds = [...new Set(results.map((r) => r.seed))].length;
  const lines = [
    `# Expected margins (two swiss rolls (noise ${o.noise}, / ${o.divisor}), MLP 2→${o.hidden}→${o.hidden}→1, ${o.iters} full-batch Adam steps lr ${o.lr}, λ = ${o.lambda}, ${seeds} seed(s), ± = std over seeds)`,
    '',
    'First-order margin |f(x)| / ‖∇f(x)‖_dual over correctly classified test points (L1 margin uses ‖∇f‖∞, L∞ margin uses ‖∇f‖₁).',
    '',
    '| penalty | L1 margin | L2 margin | L∞ margin | accuracy |',
    '|---|---|---|---|---|',
  ];
  const rowsFor = (id: string) => results.filter((r) => r.penalty === id);
  const used = PENALTIES.filter((p) => rowsFor(p.id).length);
  for (const p of used) {
    const rs = rowsFor(p.id);
    lines.push(
      `| ${p.label} | ${pm(rs.map((r) => r.firstOrder.l1))} | ${pm(rs.map((r) => r.firstOrder.l2))} | ${pm(rs.map((r) => r.firstOrder.linf))} | ${pm(rs.map((r) => r.accuracy))} |`,
    );
  }
  lines.push(
    '',
    `Check: distance to the decision boundary by line search along the steepest L_p direction (up to t = ${o.tMax}; found = fraction of points with a crossing).`,
    '',
  );
  lines.push(
    '| penalty | L1 distance | L2 distance | L∞ distance | found (L1/L2/L∞) | train loss | s/run |',
    '|---|---|---|---|---|---|---|',
  );
  for (const p of used) {
    const rs = rowsFor(p.id);
    const f = (k: 'l1' | 'l2' | 'linf') => meanOf(rs.map((r) => r.lineSearchFound[k])).toFixed(2);
    lines.push(
      `| ${p.label} | ${pm(rs.map((r) => r.lineSearch.l1))} | ${pm(rs.map((r) => r.lineSearch.l2))} | ${pm(rs.map((r) => r.lineSearch.linf))} | ${f('l1')}/${f('l2')}/${f('linf')} | ${meanOf(rs.map((r) => r.finalLoss)).toFixed(4)} | ${meanOf(rs.map((r) => r.seconds)).toFixed(1)} |`,
    );
  }
  return lines.join('\n') + '\n';
}

/** Decision function picture of a trained model (contours of f) with the test points. */
async function picture(
  model: MLP,
  test: { x: Float32Array; y: Float32Array },
  title: string,
  file: string,
  o: MarginOptions,
): Promise<void> {
  const n = 64;
  const R = 3 * (7.5 / o.divisor);
  const frame = { xMin: -R, xMax: R, yMin: -R, yMax: R };
  const pts = new Float32Array(2 * n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      pts[2 * (i * n + j)] = frame.xMin + ((frame.xMax - frame.xMin) * j) / (n - 1);
      pts[2 * (i * n + j) + 1] = frame.yMax - ((frame.yMax - frame.yMin) * i) / (n - 1);
    }
  }
  const field = await forwardHost(model, pts);
  const half = test.y.length / 2;
  await saveScatter(
    file,
    [
      { name: 'roll', points: test.x.subarray(0, 2 * half), color: '#e08000' },
      { name: 'roll ×1.5', points: test.x.subarray(2 * half), color: '#1f5fbf' },
    ],
    frame,
    { size: 300, field: { values: field, n, title: 'logit f(x)', scheme: 'redblue', mid: 0 }, title },
  );
}

/** All penalties × seeds; finished (seed, penalty) runs are read back instead of rerun. */
export async function runMargins(o: MarginOptions): Promise<{ results: MarginResult[]; table: string; sheet: string }> {
  const runs = ensureDir(path.join(o.out, 'runs'));
  writeConfig(o.out, o);
  const pens = o.penalties.map((id) => {
    const p = PENALTIES.find((q) => q.id === id);
    if (!p)
      throw new Error(`margins: unknown penalty '${id}'; expected one of ${PENALTIES.map((q) => q.id).join(', ')}`);
    return p;
  });
  const results: MarginResult[] = [];
  for (let s = 0; s < o.seeds; s++) {
    const seed = o.seed + s;
    for (const p of pens) {
      const file = path.join(runs, `${seed}_${p.id}.json`);
      if (fs.existsSync(file)) {
        results.push(JSON.parse(fs.readFileSync(file, 'utf8')) as MarginResult);
        continue;
      }
      const r = await runMargin(p, seed, o, s === 0 ? path.join(runs, `${seed}_${p.id}.png`) : undefined);
      writeJson(file, r);
      results.push(r);
      console.error(
        `seed ${seed} ${p.id}: acc ${r.accuracy.toFixed(3)} L2 margin ${r.firstOrder.l2.toFixed(4)} (line search ${r.lineSearch.l2.toFixed(4)}) ${r.seconds.toFixed(1)} s`,
      );
    }
  }
  writeJson(path.join(o.out, 'results.json'), { options: o, results });
  const table = path.join(o.out, 'summary.md');
  writeFileSafe(table, marginTable(results, o));
  // each picture is titled with its penalty and accuracy: no second label above it
  const pics = pens
    .map((p) => ({ file: path.join(runs, `${o.seed}_${p.id}.png`), label: '' }))
    .filter((i) => fs.existsSync(i.file));
  const sheet = path.join(o.out, 'boundaries.png');
  if (pics.length) savePng(await contactSheet(pics, 4, 300), sheet);
  return { results, table, sheet };
}

export function marginsCli() {
  return program('margins', 'expected L1/L2/L∞ margins under gradient-norm penalties (swiss rolls)', 'out/margins')
    .option('--seeds <n>', 'number of seeds (seed, seed+1, ...)', (v) => intArg('--seeds', v, 1), MARGIN_DEFAULTS.seeds)
    .option('--iters <n>', 'full-batch Adam steps', (v) => intArg('--iters', v, 1), MARGIN_DEFAULTS.iters)
    .option('--lambda <x>', 'penalty weight λ', (v) => numArg('--lambda', v, NONNEG_ARG), MARGIN_DEFAULTS.lambda)
    .option('--lr <x>', 'Adam learning rate', (v) => numArg('--lr', v, NONNEG_ARG), MARGIN_DEFAULTS.lr)
    .option('--hidden <n>', 'hidden width', (v) => intArg('--hidden', v, 1), MARGIN_DEFAULTS.hidden)
    .option(
      '--per-class <n>',
      'train and test points per class',
      (v) => intArg('--per-class', v, 2),
      MARGIN_DEFAULTS.perClass,
    )
    .option('--noise <x>', 'swiss-roll noise (before / 7.5)', (v) => numArg('--noise', v), MARGIN_DEFAULTS.noise)
    .option(
      '--divisor <x>',
      'divide the rolls by this (7.5 = toy_data scale, 1 = sklearn raw)',
      (v) => numArg('--divisor', v),
      MARGIN_DEFAULTS.divisor,
    )
    .option('--t-max <x>', 'line search range', (v) => numArg('--t-max', v), MARGIN_DEFAULTS.tMax)
    .option(
      '--penalties <list>',
      `comma-separated subset of ${PENALTIES.map((p) => p.id).join(',')}`,
      MARGIN_DEFAULTS.penalties.join(','),
    )
    .option('--eager', 'run every op eagerly instead of replaying the compiled step (same results)', false);
}

export function marginOptions(opts: Record<string, unknown>): MarginOptions {
  const o: MarginOptions = {
    ...MARGIN_DEFAULTS,
    seeds: opts.seeds as number,
    seed: opts.seed as number,
    iters: opts.iters as number,
    lambda: opts.lambda as number,
    lr: opts.lr as number,
    hidden: opts.hidden as number,
    perClass: opts.perClass as number,
    noise: opts.noise as number,
    divisor: opts.divisor as number,
    tMax: opts.tMax as number,
    penalties: String(opts.penalties).split(',').filter(Boolean),
    out: opts.out as string,
  };
  if (opts.quick)
    Object.assign(o, {
      seeds: Math.min(o.seeds, 2),
      iters: Math.min(o.iters, 40),
      perClass: Math.min(o.perClass, 64),
      hidden: Math.min(o.hidden, 32),
      steps: 16,
      bisect: 8,
    });
  return o;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const cli = marginsCli().parse();
  await main(async () => {
    const r = await runMargins(marginOptions(cli.opts()));
    console.log(fs.readFileSync(r.table, 'utf8'));
    console.log(`table: ${path.resolve(r.table)}`);
  });
}
