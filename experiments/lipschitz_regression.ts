// Appendix A.4 of the ALR paper: 2-D regression of t(x) = 0 on 1 ≤ ‖x‖ ≤ 2 (else 1) over
// [-4, 4]² with an MLP 2→20→40→20→1 (optionally BatchNorm before each ReLU), regularised by
// nothing, spectral norm, LP (gradient norm penalty at the raw reg inputs) or ALP. Output: heat
// maps of ‖∇_x f‖ (black 0 → white 1) next to the near-optimal 1-Lipschitz fit f_opt (eq. 28).
//
//   npx tsx experiments/lipschitz_regression.ts --reg alp --lambda 1 --k 5 --bn --out out/a4
//   npx tsx experiments/lipschitz_regression.ts --grid --iters 2000 --out out/a4     (all runs)
//
// Each run writes <out>/<name>/: metrics.jsonl, heatmap.png, summary.json, checkpoint.safetensors
// (--resume continues from it). --grid skips runs whose summary.json exists, then writes
// <out>/f_opt.png, <out>/contact_sheet.png and <out>/summary.md.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as E from '../engine/index.js';
import { Adam } from '../engine/index.js';
import { lipschitzRegressor, loadCheckpoint, saveCheckpoint, type MLP } from '../nn/index.js';
import { adversarialLipschitzPenalty, auxiliaryPass, gradientNorm, uniformEps } from '../alr/index.js';
import { asCritic } from '../nn/index.js';
import { contactSheet, saveHeatmap, savePng } from './common/plot.js';
import {
  ensureDir,
  intArg,
  main,
  Metrics,
  numArg,
  PROBE_ARG,
  NONNEG_ARG,
  program,
  Progress,
  writeJson,
  writeConfig,
} from './training/run.js';
import { resumeStep } from './training/guard.js';
import { writeFileSafe } from './training/files.js';

export const LR_REGS = ['none', 'sn', 'lp', 'alp'] as const;
export type LrReg = (typeof LR_REGS)[number];

export interface LrOptions {
  reg: LrReg;
  lambda: number;
  /** ALP power iterations */
  k: number;
  bn: boolean;
  iters: number;
  /** ASSUMPTION (alr/README.md, Setups): Adam, lr 1e-3, default betas */
  lr: number;
  /** ASSUMPTION: ALP search step ξ (the WGAN value is 10; see alr/README.md, Setups) */
  xi: number;
  epsMin: number;
  epsMax: number;
  /** ASSUMPTION: ALP reduction, 'sq' = λ·mean(alp²) (WGAN code), 'abs' = λ·mean(alp) (ALR class) */
  reduction: 'sq' | 'abs';
  batch: number;
  regBatch: number;
  /** heat-map resolution (grid × grid points over [-4, 4]²) */
  grid: number;
  every: number;
  ckptEvery: number;
  seed: number;
  out: string;
  resume: boolean;
  progress: boolean;
  /** run every op eagerly instead of replaying the compiled step (same results, slower) */
  eager?: boolean;
}

export const LR_DEFAULTS: Omit<LrOptions, 'out'> = {
  reg: 'none',
  lambda: 1,
  k: 1,
  bn: false,
  iters: 2 ** 14,
  lr: 1e-3,
  // ξ = 1e-3: the probe stays (mostly) in the ReLU net's current linear piece, so the search
  // returns ∇f(x)'s direction, yet f(x + ξr) - f(x) stays well above float32 rounding of f
  xi: 1e-3,
  epsMin: 1e-6,
  epsMax: 1e-5,
  reduction: 'sq',
  batch: 64,
  regBatch: 1024,
  grid: 128,
  every: 256,
  ckptEvery: 2048,
  seed: 0,
  resume: false,
  progress: true,
};

/** The settings the paper does not state, written into every summary and table. */
export function assumptions(o: LrOptions): Record<string, string> {
  return {
    optimizer: `Adam lr=${o.lr} betas=(0.9, 0.999)`,
    xi: String(o.xi),
    alpReduction: o.reduction === 'sq' ? 'λ·mean(alp²)' : 'λ·mean(alp)',
    alpClean: 'f(x) not detached (both passes carry θ-gradients)',
    bnSearch: 'train-mode batch statistics, running stats not updated (withoutStatUpdates)',
    lpPoints: `LP at the raw ${o.regBatch} reg inputs`,
    heatmap: 'eval mode (running BN statistics, stored SN u/v)',
  };
}

export function runName(o: Pick<LrOptions, 'reg' | 'lambda' | 'k' | 'bn'>): string {
  const bn = o.bn ? 'bn' : 'nobn';
  if (o.reg === 'lp') return `${bn}_lp_l${o.lambda}`;
  if (o.reg === 'alp') return `${bn}_alp_l${o.lambda}_k${o.k}`;
  return `${bn}_${o.reg}`;
}

export function runLabel(o: Pick<LrOptions, 'reg' | 'lambda' | 'k' | 'bn'>): string {
  const bn = o.bn ? ' +BN' : '';
  if (o.reg === 'lp') return `LP λ=${o.lambda}${bn}`;
  if (o.reg === 'alp') return `ALP λ=${o.lambda} k=${o.k}${bn}`;
  return `${o.reg === 'sn' ? 'SN' : 'none'}${bn}`;
}

const LO = -4;
const HI = 4;

/** t(x) = 0 for 1 ≤ ‖x‖ ≤ 2, else 1 (eq. 27), on the GPU. */
function target(x: E.Tensor): E.Tensor {
  return E.noGrad(() => {
    const r = E.perSampleNorm(x);
    const inBand = E.mul(E.ge(r, 1), E.rsub(E.ge(r, 2 + 1e-7), 1));
    return E.rsub(inBand, 1);
  });
}

/** Eq. 28, the (near-)optimal 1-Lipschitz fit, and its gradient norm, at radius r. */
export function fOpt(r: number): number {
  if (r <= 0.5) return 1;
  if (r <= 1.5) return 1.5 - r;
  if (r <= 2.5) return r - 1.5;
  return 1;
}
export const gradNormOpt = (r: number): number => (r > 0.5 && r < 2.5 ? 1 : 0);
export const targetAt = (r: number): number => (r >= 1 && r <= 2 ? 0 : 1);

/** grid×grid points, row 0 at the top (y = 4), column 0 at x = -4. */
/** The grid's square, for pictures. */
const FRAME = { xMin: LO, xMax: HI, yMin: LO, yMax: HI };

export function gridPoints(n: number): Float32Array {
  const pts = new Float32Array(2 * n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      pts[2 * (i * n + j)] = LO + ((HI - LO) * j) / (n - 1);
      pts[2 * (i * n + j) + 1] = HI - ((HI - LO) * i) / (n - 1);
    }
  }
  return pts;
}

/** f and ‖∇_x f‖₂ on the grid (eval mode), read back. */
async function fieldOnGrid(model: MLP, n: number): Promise<{ f: Float32Array; gn: Float32Array }> {
  const wasTraining = model.training;
  model.eval();
  const out = E.tidy(() => {
    const pts = E.requireGrad(E.tensor(gridPoints(n), [n * n, 2]));
    const y = model.forward(pts);
    const [g] = E.grad(E.sum(y), [pts]);
    return { f: E.detach(y), gn: E.perSampleNorm(g) };
  });
  model.train(wasTraining);
  const [f, gn] = await Promise.all([out.f.toFloat32(), out.gn.toFloat32()]);
  E.dispose(out);
  return { f, gn };
}

export interface LrMetrics {
  mseTarget: number;
  mseOpt: number;
  gradNormErr: number;
  maxGradNorm: number;
  fracAbove105: number;
}

/** The per-run proxies of appendix A.4 on the grid (a uniform grid = expectation under U[-4, 4]²). */
export function gridMetrics(f: ArrayLike<number>, gn: ArrayLike<number>, n: number): LrMetrics {
  const pts = gridPoints(n);
  let mt = 0,
    mo = 0,
    ge = 0,
    mx = 0,
    above = 0;
  for (let i = 0; i < n * n; i++) {
    const r = Math.hypot(pts[2 * i], pts[2 * i + 1]);
    mt += (f[i] - targetAt(r)) ** 2;
    mo += (f[i] - fOpt(r)) ** 2;
    ge += Math.abs(gn[i] - gradNormOpt(r));
    mx = Math.max(mx, gn[i]);
    if (gn[i] > 1.05) above++;
  }
  const N = n * n;
  return { mseTarget: mt / N, mseOpt: mo / N, gradNormErr: ge / N, maxGradNorm: mx, fracAbove105: above / N };
}

/** LP at the raw points: λ·mean(max(‖∇_x f‖₂ - 1, 0)²) with double backprop. */
function lpAtPoints(model: MLP, x: E.Tensor, lambda: number): E.Tensor {
  const critic = asCritic(model);
  const pts = E.requireGrad(E.detach(x));
  const y = auxiliaryPass(critic, () => model.forward(pts));
  const [g] = E.grad(E.sum(y), [pts], { createGraph: true });
  const z = gradientNorm(g, 'l2');
  return E.mul(E.mean(E.square(E.maximum(E.sub(z, 1), 0))), lambda);
}

export interface LrSummary {
  name: string;
  label: string;
  options: Omit<LrOptions, 'out' | 'progress' | 'resume'>;
  assumptions: Record<string, string>;
  metrics: LrMetrics;
  wallSeconds: number;
  secondsPerIter: number;
  heatmap: string;
  lastLoss: Record<string, number>;
}

function checkOptions(o: LrOptions): void {
  if (!LR_REGS.includes(o.reg))
    throw new Error(`lipschitz_regression: --reg must be one of ${LR_REGS.join(', ')}, got '${o.reg}'`);
  if (!(o.iters >= 1 && o.batch >= 2 && o.regBatch >= 2 && o.grid >= 2 && o.every >= 1 && o.ckptEvery >= 1)) {
    throw new Error(
      `lipschitz_regression: iters, every, ckpt-every >= 1; batch, reg-batch, grid >= 2 (got ${JSON.stringify(o)})`,
    );
  }
  if (!(o.lambda >= 0)) throw new Error(`lipschitz_regression: --lambda must be >= 0, got ${o.lambda}`);
  if (!(Number.isInteger(o.k) && o.k >= 0))
    throw new Error(`lipschitz_regression: --k must be an integer >= 0, got ${o.k}`);
  if (o.reduction !== 'sq' && o.reduction !== 'abs')
    throw new Error(`lipschitz_regression: --reduction must be sq or abs, got '${o.reduction}'`);
}

/** One configuration into <o.out>/<runName(o)>/. */
export async function runLipschitzRegression(o: LrOptions): Promise<LrSummary> {
  checkOptions(o);
  const name = runName(o);
  const dir = ensureDir(path.join(o.out, name));
  writeConfig(dir, o);
  E.manualSeed(o.seed);
  const model = lipschitzRegressor({ batchNorm: o.bn, spectralNorm: o.reg === 'sn' });
  const critic = asCritic(model);
  const opt = new Adam(model.parameters(), { lr: o.lr });
  const ckpt = path.join(dir, 'checkpoint.safetensors');
  let start = 0;
  let priorSeconds = 0;
  if (o.resume && fs.existsSync(ckpt)) {
    const { step, metadata } = await loadCheckpoint(ckpt, { modules: model, optimizers: { model: opt } });
    start = resumeStep(step, o.iters, ckpt);
    priorSeconds = Number(metadata.wallSeconds ?? 0);
    console.error(`${name}: resumed from ${ckpt} at iteration ${start}`);
  }
  const metrics = new Metrics(path.join(dir, 'metrics.jsonl'), o.resume ? start : undefined);
  const progress = new Progress(o.iters, o.progress, name);
  const t0 = performance.now();
  const seconds = () => priorSeconds + (performance.now() - t0) / 1000;
  const alpForm = o.reduction === 'sq' ? ('one-sided' as const) : ('linear' as const);
  let lastLoss: Record<string, number> = {};

  // one step: all draws on the GPU, no readback; captured once and replayed (the eager ops'
  // kernels, the same numbers). Its scalars are read back on logging steps only.
  const compiled = E.compile(
    () => {
      const x = E.randUniform([o.batch, 2], LO, HI);
      const mse = E.mean(E.square(E.sub(model.forward(x), target(x))));
      let loss = mse;
      const mon: Record<string, E.Tensor> = { mse: E.detach(mse) };
      if (o.reg === 'lp' || o.reg === 'alp') {
        const xr = E.randUniform([o.regBatch, 2], LO, HI);
        if (o.reg === 'lp') {
          const pen = lpAtPoints(model, xr, o.lambda);
          loss = E.add(loss, pen);
          mon.penalty = E.detach(pen);
        } else {
          const a = adversarialLipschitzPenalty(critic, xr, {
            lambda: o.lambda,
            k: o.k,
            xi: o.xi,
            eps: uniformEps(o.epsMin, o.epsMax),
            K: 1,
            dY: 'abs',
            form: alpForm,
            detachClean: false,
          });
          loss = E.add(loss, a.loss);
          mon.penalty = E.detach(a.loss);
          mon.violations = a.monitors.violations;
          mon.ratioMean = a.monitors.ratioMean;
        }
      }
      opt.step(E.grad(loss, model.parameters()));
      return mon;
    },
    { enabled: !o.eager },
  );
  const step = (log: boolean) => {
    const mon = compiled();
    if (log) return mon;
    E.dispose(mon);
    return null;
  };

  for (let iter = start; iter < o.iters; iter++) {
    const log = (iter + 1) % o.every === 0 || iter + 1 === o.iters;
    const mon = step(log);
    if (mon) {
      const names = Object.keys(mon);
      const vals = await Promise.all(names.map((k) => mon[k].item()));
      E.dispose(mon);
      const row: Record<string, number> = { step: iter + 1, seconds: seconds() };
      names.forEach((k, i) => (row[k] = vals[i]));
      if (!vals.every(Number.isFinite))
        throw new Error(
          `lipschitz_regression ${name}: non-finite loss at iteration ${iter + 1}: ${JSON.stringify(row)}`,
        );
      metrics.write(row);
      lastLoss = row;
      progress.update(iter + 1, `mse=${row.mse.toFixed(4)}`);
    } else progress.update(iter + 1);
    await E.endStep(); // submit, bound the queue, let Dawn recycle finished work
    if ((iter + 1) % o.ckptEvery === 0 && iter + 1 < o.iters) {
      await saveCheckpoint(ckpt, {
        modules: model,
        optimizers: { model: opt },
        step: iter + 1,
        metadata: { options: JSON.stringify(o), wallSeconds: String(seconds()) },
      });
    }
  }
  compiled.dispose();
  progress.stop();
  metrics.close();
  const trainSeconds = seconds();
  await saveCheckpoint(ckpt, {
    modules: model,
    optimizers: { model: opt },
    step: o.iters,
    metadata: { options: JSON.stringify(o), wallSeconds: String(trainSeconds) },
  });

  const { f, gn } = await fieldOnGrid(model, o.grid);
  const m = gridMetrics(f, gn, o.grid);
  const label = runLabel(o);
  const heat = path.join(dir, 'heatmap.png');
  await saveHeatmap(heat, gn, o.grid, FRAME, {
    title: `${label}: max ${m.maxGradNorm.toFixed(2)}`,
    colorTitle: '‖∇f(x)‖',
    domain: [0, 1],
  });
  const { out: _out, progress: _p, resume: _r, ...options } = o;
  const summary: LrSummary = {
    name,
    label,
    options,
    assumptions: assumptions(o),
    metrics: m,
    wallSeconds: trainSeconds,
    secondsPerIter: trainSeconds / Math.max(1, o.iters - start),
    heatmap: heat,
    lastLoss,
  };
  writeJson(path.join(dir, 'summary.json'), summary);
  model.dispose();
  opt.dispose();
  return summary;
}

/** The reference heat map ‖∇f_opt‖ on the same grid. */
export async function saveOptHeatmap(file: string, n: number): Promise<void> {
  const pts = gridPoints(n);
  const v = new Float32Array(n * n);
  for (let i = 0; i < n * n; i++) v[i] = gradNormOpt(Math.hypot(pts[2 * i], pts[2 * i + 1]));
  await saveHeatmap(file, v, n, FRAME, { title: 'f_opt (eq. 28)', colorTitle: '‖∇f(x)‖', domain: [0, 1] });
}

type Config = Pick<LrOptions, 'reg' | 'lambda' | 'k' | 'bn'>;

/** The full A.4 grid (both BN settings), or a tiny subset for --quick. */
export function gridConfigs(quick: boolean): Config[] {
  if (quick) {
    return [
      { reg: 'none', lambda: 0, k: 0, bn: false },
      { reg: 'sn', lambda: 0, k: 0, bn: false },
      { reg: 'lp', lambda: 1, k: 0, bn: true },
      { reg: 'alp', lambda: 1, k: 1, bn: true },
    ];
  }
  const out: Config[] = [];
  for (const bn of [false, true]) {
    out.push({ reg: 'none', lambda: 0, k: 0, bn }, { reg: 'sn', lambda: 0, k: 0, bn });
    for (const lambda of [0.1, 1, 10]) out.push({ reg: 'lp', lambda, k: 0, bn });
    for (const lambda of [0.1, 1, 10]) for (const k of [0, 1, 5]) out.push({ reg: 'alp', lambda, k, bn });
  }
  return out;
}

const fmt = (x: number, d = 4) => (Number.isFinite(x) ? x.toFixed(d) : String(x));

export function summaryTable(rows: LrSummary[], base: LrOptions): string {
  const a = assumptions(base);
  const head = [
    `# A.4 Lipschitz regression: ${rows.length} runs, ${base.iters} iterations, seed ${base.seed}, grid ${base.grid}²`,
    '',
    `Assumptions: ${Object.entries(a)
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ')}. ALP: P_ε = U[${base.epsMin}, ${base.epsMax}], K = 1, d_Y = abs.`,
    '',
    '| run | MSE target | MSE f_opt | mean abs(‖∇f‖−‖∇f_opt‖) | max ‖∇f‖ | frac ‖∇f‖>1.05 | final penalty | wall s |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const body = rows.map((s) => {
    const m = s.metrics;
    return `| ${s.label} | ${fmt(m.mseTarget)} | ${fmt(m.mseOpt)} | ${fmt(m.gradNormErr)} | ${fmt(m.maxGradNorm, 3)} | ${fmt(m.fracAbove105, 3)} | ${s.lastLoss.penalty !== undefined ? s.lastLoss.penalty.toExponential(2) : '–'} | ${s.wallSeconds.toFixed(1)} |`;
  });
  return [...head, ...body, ''].join('\n');
}

/** Runs (or skips, if finished) every configuration, then writes the sheet and summary.md. */
export async function runGrid(
  base: LrOptions,
  configs: Config[],
): Promise<{ summaries: LrSummary[]; sheet: string; table: string }> {
  ensureDir(base.out);
  const summaries: LrSummary[] = [];
  for (const c of configs) {
    const file = path.join(base.out, runName(c), 'summary.json');
    if (fs.existsSync(file)) {
      console.error(`${runName(c)}: done, skipped`);
      summaries.push(JSON.parse(fs.readFileSync(file, 'utf8')) as LrSummary);
      continue;
    }
    summaries.push(await runLipschitzRegression({ ...base, ...c, resume: true }));
  }
  const optFile = path.join(base.out, 'f_opt.png');
  await saveOptHeatmap(optFile, base.grid);
  // each heat map is titled with its run and max ‖∇f‖: no sheet labels; half size stays legible
  const items = [optFile, ...summaries.map((s) => s.heatmap)].map((file) => ({ file, label: '' }));
  const sheet = path.join(base.out, 'contact_sheet.png');
  savePng(await contactSheet(items, 4, 400), sheet);
  const table = path.join(base.out, 'summary.md');
  writeFileSafe(table, summaryTable(summaries, base));
  return { summaries, sheet, table };
}

export function lrCli() {
  return program(
    'lipschitz_regression',
    'ALR appendix A.4: 2-D Lipschitz regression heat maps',
    'out/lipschitz_regression',
  )
    .option('--grid', 'run the whole grid (both BN settings) and write summary.md + contact sheet', false)
    .option('--reg <name>', `regulariser: ${LR_REGS.join(', ')}`, LR_DEFAULTS.reg)
    .option('--lambda <x>', 'LP/ALP weight λ', (v) => numArg('--lambda', v, NONNEG_ARG), LR_DEFAULTS.lambda)
    .option('--k <n>', 'ALP power iterations', (v) => intArg('--k', v, 0), LR_DEFAULTS.k)
    .option('--bn', 'BatchNorm before each ReLU', false)
    .option('--iters <n>', 'training iterations (paper: 2^14)', (v) => intArg('--iters', v, 1), LR_DEFAULTS.iters)
    .option('--lr <x>', 'ASSUMPTION: Adam learning rate', (v) => numArg('--lr', v, NONNEG_ARG), LR_DEFAULTS.lr)
    .option('--xi <x>', 'ASSUMPTION: ALP search step ξ', (v) => numArg('--xi', v, PROBE_ARG), LR_DEFAULTS.xi)
    .option(
      '--eps-min <x>',
      'ALP ε ~ U[eps-min, eps-max]',
      (v) => numArg('--eps-min', v, PROBE_ARG),
      LR_DEFAULTS.epsMin,
    )
    .option(
      '--eps-max <x>',
      'ALP ε ~ U[eps-min, eps-max]',
      (v) => numArg('--eps-max', v, PROBE_ARG),
      LR_DEFAULTS.epsMax,
    )
    .option(
      '--reduction <r>',
      "ASSUMPTION: ALP reduction 'sq' = mean(alp²) or 'abs' = mean(alp)",
      LR_DEFAULTS.reduction,
    )
    .option('--heat-grid <n>', 'heat-map resolution', (v) => intArg('--heat-grid', v, 2), LR_DEFAULTS.grid)
    .option('--every <n>', 'log the loss every n iterations', (v) => intArg('--every', v, 1), LR_DEFAULTS.every)
    .option(
      '--ckpt-every <n>',
      'checkpoint every n iterations',
      (v) => intArg('--ckpt-every', v, 1),
      LR_DEFAULTS.ckptEvery,
    )
    .option('--only <names>', 'with --grid: only these run names (comma-separated, e.g. bn_lp_l1,bn_alp_l1_k5)')
    .option('--resume', 'continue a single run from its checkpoint', false)
    .option('--eager', 'run every op eagerly instead of replaying the compiled step (same results)', false);
}

export function lrOptions(opts: Record<string, unknown>): LrOptions {
  const o: LrOptions = {
    ...LR_DEFAULTS,
    reg: opts.reg as LrReg,
    lambda: opts.lambda as number,
    k: opts.k as number,
    bn: Boolean(opts.bn),
    iters: opts.iters as number,
    lr: opts.lr as number,
    xi: opts.xi as number,
    epsMin: opts.epsMin as number,
    epsMax: opts.epsMax as number,
    reduction: opts.reduction as 'sq' | 'abs',
    grid: opts.heatGrid as number,
    every: opts.every as number,
    ckptEvery: opts.ckptEvery as number,
    seed: opts.seed as number,
    out: opts.out as string,
    resume: Boolean(opts.resume),
    progress: opts.progress !== false,
  };
  if (opts.quick)
    Object.assign(o, {
      iters: Math.min(o.iters, 30),
      every: 10,
      grid: Math.min(o.grid, 48),
      regBatch: Math.min(o.regBatch, 128),
    });
  checkOptions(o);
  return o;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const cli = lrCli().parse();
  await main(async () => {
    const opts = cli.opts();
    const o = lrOptions(opts);
    const given = (names: string[]) =>
      names
        .filter((n) => cli.getOptionValueSource(n) === 'cli')
        .map((n) => `--${n.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
    if (opts.grid || opts.quick) {
      // the grid sets these per run: a value given here would be silently ignored
      const ignored = given(['reg', 'lambda', 'k', 'bn', 'resume']);
      if (ignored.length)
        throw new Error(
          `lipschitz_regression: ${ignored.join(', ')} ${ignored.length > 1 ? 'are' : 'is'} set per run by the ${opts.grid ? '--grid' : '--quick'} grid; drop ${ignored.length > 1 ? 'them' : 'it'}, or run one configuration without --grid/--quick`,
        );
      const only = opts.only ? String(opts.only).split(',').filter(Boolean) : null;
      const all = gridConfigs(Boolean(opts.quick));
      const unknown = (only ?? []).filter((n) => !all.some((c) => runName(c) === n));
      if (unknown.length)
        throw new Error(`--only: unknown run(s) ${unknown.join(', ')}; known: ${all.map(runName).join(', ')}`);
      const r = await runGrid(o, only ? all.filter((c) => only.includes(runName(c))) : all);
      console.log(fs.readFileSync(r.table, 'utf8'));
      console.log(`contact sheet: ${path.resolve(r.sheet)}\ntable: ${path.resolve(r.table)}`);
    } else {
      if (opts.only) throw new Error('lipschitz_regression: --only selects runs of the grid; add --grid');
      const s = await runLipschitzRegression(o);
      console.log(`${s.name}: ${o.iters} iterations in ${s.wallSeconds.toFixed(1)} s; ${JSON.stringify(s.metrics)}`);
      console.log(`heat map: ${path.resolve(s.heatmap)}`);
    }
  });
}
