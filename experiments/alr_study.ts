// How good is ALR's adversarial direction, and do other search schemes do better at equal cost?
//
//   npx tsx experiments/alr_study.ts --checkpoint out/toy_wgan/checkpoint.safetensors --out out/alr_study
//   npx tsx experiments/alr_study.ts --quick            (trains a tiny toy critic first)
//
// For a toy-WGAN critic (from --checkpoint, or trained here with runToyWgan) and a batch of real
// and generated points: a ground-truth search for the largest difference quotient per sample,
// then every search setting (common/study.ts defaultSettings) scored against it. With
// --wgan-iters > 0, also short toy WGAN-ALP runs with each scheme at the paper's k = 1 cost.
// Writes study.md / study.json, scatter.png, detection_vs_k.png, cosine_vs_k.png, and
// wgan.md / wgan.json.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as E from '../engine/index.js';
import { Adam } from '../engine/index.js';
import { loadCheckpoint, readSafetensors, toyCritic, toyGenerator, type MLP } from '../nn/index.js';
import { adversarialLipschitzPenalty, Monitor, sampleEps, WGAN_ALP_DEFAULTS, type Critic } from '../alr/index.js';
import { schemePenalty, WarmStart, type SearchScheme } from './common/schemes.js';
import {
  defaultSettings,
  groundTruth,
  groundTruthSummary,
  markdownTable,
  runSetting,
  type GroundTruth,
  type SettingResult,
} from './common/study.js';
import { asCritic } from '../nn/index.js';
import { toySampler, TOY_DATASETS, type ToyDataset } from './common/toy_data.js';
import { exactW1 } from './common/toy_metrics.js';
import { stopIfNonFinite } from './training/guard.js';
import { saveLines, saveScatter } from './common/plot.js';
import { ensureDir, intArg, main, numArg, program, writeJson, writeConfig } from './training/run.js';
import { runToyWgan, TOY_DEFAULTS } from './toy_wgan.js';
import { writeFileSafe } from './training/files.js';

export interface AlrStudyOptions {
  /** a toy_wgan checkpoint; absent: train a toy critic for trainIters iterations first */
  checkpoint?: string;
  dataset: ToyDataset;
  trainIters: number;
  /** hidden width of the trained toy critic / generator */
  dim: number;
  /** points studied (half real, half generated) */
  points: number;
  /** the Lipschitz target K that defines a violation */
  K: number;
  gtRestarts: number;
  gtSteps: number;
  gtRadii: number[];
  /** toy WGAN runs per scheme (0: skip) */
  wganIters: number;
  wganDim: number;
  wganBatch: number;
  /** skip the search study (only the WGAN runs) */
  wganOnly?: boolean;
  /** run only the WGAN_SCHEMES with these indices (default all) */
  wganSchemes?: number[];
  seed: number;
  out: string;
  quick: boolean;
  progress: boolean;
}

export const STUDY_DEFAULTS: Omit<AlrStudyOptions, 'out'> = {
  dataset: '8gaussians',
  trainIters: 300,
  dim: 128,
  points: 256,
  K: 1,
  gtRestarts: 4,
  gtSteps: 30,
  gtRadii: [0.1, 0.3, 1, 3, 10],
  wganIters: 0,
  wganDim: 64,
  wganBatch: 128,
  seed: 0,
  quick: false,
  progress: true,
};

export function studyOptions(opts: Record<string, unknown>): AlrStudyOptions {
  const o = { ...STUDY_DEFAULTS, ...(opts as Partial<AlrStudyOptions>) } as AlrStudyOptions;
  if (!TOY_DATASETS.includes(o.dataset))
    throw new Error(`--dataset: expected one of ${TOY_DATASETS.join(', ')}, got '${o.dataset}'`);
  if (typeof o.gtRadii === 'string') o.gtRadii = String(o.gtRadii).split(',').map(Number);
  if (o.quick) {
    Object.assign(o, {
      trainIters: Math.min(o.trainIters, 10),
      dim: Math.min(o.dim, 32),
      points: Math.min(o.points, 64),
      gtRestarts: Math.min(o.gtRestarts, 3),
      gtSteps: Math.min(o.gtSteps, 12),
      gtRadii: o.gtRadii.length > 3 ? [0.1, 1, 10] : o.gtRadii,
      wganIters: Math.min(o.wganIters, 3),
      wganDim: Math.min(o.wganDim, 16),
      wganBatch: Math.min(o.wganBatch, 32),
    });
  }
  if (!(o.points >= 2 && o.points % 2 === 0))
    throw new Error(`--points: expected an even number >= 2, got ${o.points}`);
  if (!o.gtRadii.every((r) => r > 0)) throw new Error(`--gt-radii: expected numbers > 0, got ${o.gtRadii.join(',')}`);
  return o;
}

/** Loads G and D from a toy_wgan checkpoint (its optimiser moments are read into throwaway Adams). */
export async function loadToyModels(file: string, dim?: number): Promise<{ G: MLP; D: MLP; dim: number }> {
  const { tensors, metadata } = await readSafetensors(file);
  const saved = metadata.options ? (JSON.parse(metadata.options) as { dim?: number }) : {};
  const d = dim ?? saved.dim ?? tensors.get('D.0.weight')?.shape[1] ?? TOY_DEFAULTS.dim;
  const G = toyGenerator(d);
  const D = toyCritic(d);
  const hasOptim = [...tensors.keys()].some((k) => k.startsWith('optim.'));
  const optimizers = hasOptim ? { G: new Adam(G.parameters()), D: new Adam(D.parameters()) } : undefined;
  await loadCheckpoint(file, { modules: { G, D }, optimizers, rng: false });
  if (optimizers) for (const opt of Object.values(optimizers)) opt.dispose();
  return { G, D, dim: d };
}

/** The studied batch: points/2 real samples then points/2 generated ones, [points, 2]. */
function studyBatch(G: MLP, o: AlrStudyOptions): { x: E.Tensor; host: Float32Array } {
  const n = o.points / 2;
  const real = toySampler(o.dataset, o.seed + 7).sample(n);
  E.manualSeed(o.seed + 11);
  const x = E.tidy(() => E.noGrad(() => E.concat([E.tensor(real, [n, 2]), G.forward(E.randNormal([n, 2]))], 0)));
  return { x, host: real };
}

export interface StudyReport {
  options: AlrStudyOptions;
  critic: string;
  groundTruth: ReturnType<typeof groundTruthSummary>;
  settings: Omit<SettingResult, 'quotients'>[];
  equalCost: {
    cost: number;
    paper: string;
    rows: {
      name: string;
      detectionRate: number;
      detectionRateAtEps: number;
      cosGrad: number;
      cosTruth: number;
      cosTruthAtEps: number;
      fractionOfTruth: number;
      fractionOfTruthAtEps: number;
      meanQuotient: number;
      ms: number;
    }[];
  }[];
  wgan?: WganSchemeResult[];
}

/** Groups the ξ = 10, P_ε = paper settings and the new schemes by cost. */
function equalCostTable(rows: SettingResult[]): StudyReport['equalCost'] {
  const paperLike = rows.filter((r) => r.scheme !== 'paper' || (r.xi === 10 && r.eps === 'U[0.1,10]'));
  const costs = [...new Set(paperLike.map((r) => r.cost))].sort((a, b) => a - b);
  return costs
    .map((cost) => {
      const at = paperLike.filter((r) => r.cost === cost);
      const paper = at.find((r) => r.scheme === 'paper');
      return {
        cost,
        paper: paper?.name ?? '(none)',
        rows: at.map((r) => ({
          name: r.name,
          detectionRate: r.detectionRate,
          detectionRateAtEps: r.detectionRateAtEps,
          cosGrad: r.cosGrad,
          cosTruth: r.cosTruth,
          cosTruthAtEps: r.cosTruthAtEps,
          fractionOfTruth: r.meanFractionOfTruth,
          fractionOfTruthAtEps: r.fractionOfTruthAtEps,
          meanQuotient: r.meanQuotient,
          ms: r.ms,
        })),
      };
    })
    .filter((g) => g.rows.length > 1);
}

async function plots(out: string, gt: GroundTruth, rows: SettingResult[], K: number): Promise<void> {
  // found quotient against the ground truth, with the diagonal and the line q = K
  const pick = [
    'paper k=0 ξ=10 ε~U[0.1,10]',
    'paper k=1 ξ=10 ε~U[0.1,10]',
    'paper k=5 ξ=10 ε~U[0.1,10]',
    'ascent s=1',
    'warm k=1 (5 steps, same points)',
  ];
  const colors = ['#999999', '#1f5fbf', '#2ca02c', '#d62728', '#ff7f0e'];
  const top = Math.max(K * 1.5, ...gt.quotient) * 1.05;
  const diag: number[] = [];
  for (let i = 0; i <= 200; i++) diag.push((top * i) / 200, (top * i) / 200, (top * i) / 200, K);
  const sets = [{ points: diag, color: '#bbbbbb', name: 'y = x, y = K' }];
  pick.forEach((name, j) => {
    const r = rows.find((s) => s.name === name);
    if (!r) return;
    const pts: number[] = [];
    r.quotients.forEach((q, i) => pts.push(gt.quotient[i], q));
    sets.push({ points: pts, color: colors[j], name });
  });
  await saveScatter(
    path.join(out, 'scatter.png'),
    sets,
    { xMin: 0, xMax: top, yMin: 0, yMax: top },
    {
      title: 'quotient found vs ground truth, per sample',
      xTitle: 'ground-truth quotient',
      yTitle: 'quotient the search found',
      legendOutside: true,
    },
  );

  // one chart per P_ε
  const paper = rows.filter((r) => r.scheme === 'paper');
  const epsGroups = [...new Set(paper.map((r) => r.eps))];
  const xis = [...new Set(paper.map((r) => r.xi))];
  const curve = (
    eps: string,
    xi: number,
    key: 'detectionRate' | 'detectionRateAtEps' | 'cosGrad' | 'cosTruthAtEps',
    name: string,
  ) => {
    const rs = paper.filter((r) => r.eps === eps && r.xi === xi);
    return { name, x: rs.map((r) => r.k), y: rs.map((r) => r[key]) };
  };
  for (const [j, eps] of epsGroups.entries()) {
    const suffix = j === 0 ? '' : `_eps${j}`;
    const det = [
      ...xis.map((xi) => curve(eps, xi, 'detectionRate', `sup ξ=${xi}`)),
      ...xis.slice(0, 2).map((xi) => curve(eps, xi, 'detectionRateAtEps', `at ε ξ=${xi}`)),
    ];
    await saveLines(path.join(out, `detection_vs_k${suffix}.png`), det, {
      title: `detection rate of true violations (q > ${K}), ε ~ ${eps}`,
      xTitle: 'power iterations k',
      yTitle: 'detection rate',
    });
    const cos = [
      ...xis.map((xi) => curve(eps, xi, 'cosGrad', `∇f ξ=${xi}`)),
      ...xis.slice(0, 2).map((xi) => curve(eps, xi, 'cosTruthAtEps', `truth@ε ξ=${xi}`)),
    ];
    await saveLines(path.join(out, `cosine_vs_k${suffix}.png`), cos, {
      title: `alignment of r_k with ∇f(x) and with the true direction, ε ~ ${eps}`,
      xTitle: 'power iterations k',
      yTitle: '|cos|',
    });
  }
}

// ---------------------------------------------------------------- short toy WGANs per scheme

export interface WganSchemeSpec {
  label: string;
  scheme: SearchScheme;
  k: number;
  radii?: number;
  ascentSteps?: number;
  warmSource?: 'direction' | 'gradient';
}

/** The schemes at the paper's k = 1 cost (4 passes in the study's count). */
export const WGAN_SCHEMES: WganSchemeSpec[] = [
  { label: 'paper k=1', scheme: 'paper', k: 1 },
  { label: 'warm k=1 (slot state)', scheme: 'warm', k: 1 },
  { label: 'warm k=1 from ∇_x loss', scheme: 'warm', k: 1, warmSource: 'gradient' },
  { label: 'multiRadius k=0 M=3', scheme: 'multiRadius', k: 0, radii: 3 },
  { label: 'ascent s=1', scheme: 'ascent', k: 1, ascentSteps: 1 },
];

export interface WganSchemeResult {
  label: string;
  iters: number;
  wallSeconds: number;
  /** critic passes per critic step (forward, backward; the θ-backward not included) */
  passes: { forward: number; backward: number };
  /** means over the last 25 % of iterations */
  wasserstein: number;
  violations: number;
  batch: number;
  w1: number;
  /** at the end, on 64 real + 64 generated points: ground-truth violations and paper k=1 detections */
  finalTrueViolations: number;
  finalDetectedPaperK1: number;
  finalMaxQuotient: number;
}

export async function runSchemeWgan(spec: WganSchemeSpec, o: AlrStudyOptions): Promise<WganSchemeResult> {
  E.manualSeed(o.seed);
  const sampler = toySampler(o.dataset, o.seed + 1);
  const G = toyGenerator(o.wganDim);
  const D = toyCritic(o.wganDim);
  const critic: Critic = asCritic(D);
  const optG = new Adam(G.parameters(), { lr: 1e-4, betas: [0.5, 0.9] });
  const optD = new Adam(D.parameters(), { lr: 1e-4, betas: [0.5, 0.9] });
  const warm = spec.scheme === 'warm' ? new WarmStart(spec.warmSource ?? 'direction') : undefined;
  const monitor = new Monitor(1_000_000);
  const B = o.wganBatch;
  let passes = { forward: 0, backward: 0 };
  const rows: { step: number; [k: string]: number }[] = [];
  const t0 = performance.now();
  for (let iter = 0; iter < o.wganIters; iter++) {
    for (let c = 0; c < 5; c++) {
      const mon = E.tidy(() => {
        const real = E.tensor(sampler.sample(B), [B, 2]);
        const fake = E.noGrad(() => G.forward(E.randNormal([B, 2])));
        const x = E.concat([real, fake], 0);
        const xLeaf = warm?.source === 'gradient' ? E.requireGrad(E.detach(x)) : x;
        const clean = critic.forward(xLeaf); // shared by the WGAN term and the penalty (no BN)
        const pen = schemePenalty(critic, x, {
          ...WGAN_ALP_DEFAULTS,
          k: spec.k,
          scheme: spec.scheme,
          warm,
          radii: spec.radii,
          ascentSteps: spec.ascentSteps,
          clean,
        });
        passes = pen.passes;
        const loss = E.add(E.sub(E.mean(E.slice(clean, 0, B)), E.mean(E.slice(clean, 0, 0, B))), pen.loss);
        const params = D.parameters();
        const grads = E.grad(loss, warm?.source === 'gradient' ? [...params, xLeaf] : params);
        optD.step(grads.slice(0, params.length));
        if (warm?.source === 'gradient') warm.update(null, grads[params.length]); // per sample a multiple of ∇_x f(x)
        return {
          wasserstein: E.noGrad(() => E.sub(E.mean(E.slice(clean, 0, 0, B)), E.mean(E.slice(clean, 0, B)))),
          violations: pen.monitors.violations,
        };
      });
      if (c === 4) monitor.push(mon, iter);
      E.dispose(mon);
    }
    // a readback every few iterations: on lavapipe, ~50 submits without one crashed the process
    if (monitor.pending >= 5) {
      rows.push(...(await monitor.flush()));
      stopIfNonFinite(`alr_study wgan ${spec.label}`, rows, iter + 1, null);
    }
    E.tidy(() => {
      const loss = E.neg(E.mean(critic.forward(G.forward(E.randNormal([B, 2])))));
      optG.step(E.grad(loss, G.parameters()));
    });
    await E.endStep();
  }
  rows.push(...(await monitor.flush()));
  stopIfNonFinite(`alr_study wgan ${spec.label}`, rows, o.wganIters, null);
  const wallSeconds = (performance.now() - t0) / 1000;
  const tail = rows.filter((r) => r.step >= Math.floor(o.wganIters * 0.75));
  const avg = (k: string) => tail.reduce((s, r) => s + r[k], 0) / Math.max(1, tail.length);
  // final state: sample W1, true violations and what the paper's k = 1 probe sees
  const n = 64;
  const realH = sampler.sample(256);
  const fakeT = E.tidy(() => E.noGrad(() => G.forward(E.randNormal([256, 2]))));
  const fakeH = await fakeT.toFloat32();
  const x = E.tidy(() => E.concat([E.tensor(realH.subarray(0, 2 * n), [n, 2]), E.slice(fakeT, 0, 0, n)], 0));
  const gt = await groundTruth(critic, x, { radii: [0.1, 1, 10], restarts: 3, steps: 15 });
  const probe = E.tidy(() => adversarialLipschitzPenalty(critic, x, WGAN_ALP_DEFAULTS).ratio);
  const q = await probe.toFloat32();
  let trueV = 0,
    det = 0;
  for (let i = 0; i < 2 * n; i++) {
    if (gt.quotient[i] > 1) {
      trueV++;
      if (q[i] > 1) det++;
    }
  }
  E.dispose([fakeT, x, probe]);
  warm?.dispose();
  monitor.dispose();
  for (const m of [G, D]) m.dispose();
  optG.dispose();
  optD.dispose();
  return {
    label: spec.label,
    iters: o.wganIters,
    wallSeconds,
    passes,
    wasserstein: avg('wasserstein'),
    violations: avg('violations'),
    batch: 2 * B,
    w1: exactW1(realH, fakeH),
    finalTrueViolations: trueV,
    finalDetectedPaperK1: det,
    finalMaxQuotient: Math.max(...gt.quotient),
  };
}

function wganTable(rows: WganSchemeResult[]): string {
  const head =
    '| scheme | passes / critic step | wall s | W estimate | violations / 2B | sample W1 | final true viol. (of 128) | paper k=1 detects | max true q |';
  const sep = '|---|---|---|---|---|---|---|---|---|';
  return [
    head,
    sep,
    ...rows.map(
      (r) =>
        `| ${r.label} | ${r.passes.forward}+${r.passes.backward} | ${r.wallSeconds.toFixed(1)} | ${r.wasserstein.toFixed(3)} | ${r.violations.toFixed(1)} / ${r.batch} | ${r.w1.toFixed(3)} | ${r.finalTrueViolations} | ${r.finalDetectedPaperK1} | ${r.finalMaxQuotient.toFixed(3)} |`,
    ),
  ].join('\n');
}

/** Every WGAN_SCHEMES run; writes wgan.md and wgan.json after each (partial results survive). */
export async function runWganSchemes(o: AlrStudyOptions): Promise<WganSchemeResult[]> {
  const rows: WganSchemeResult[] = [];
  for (const [i, spec] of WGAN_SCHEMES.entries()) {
    if (o.wganSchemes && !o.wganSchemes.includes(i)) continue;
    rows.push(await runSchemeWgan(spec, o));
    if (o.progress) console.error(`wgan ${spec.label}: ${JSON.stringify(rows[rows.length - 1])}`);
    writeFileSafe(
      path.join(o.out, 'wgan.md'),
      `# Toy WGAN-ALP per search scheme (${o.wganIters} iterations, dim ${o.wganDim}, batch ${o.wganBatch}, seed ${o.seed})\n\n${wganTable(rows)}\n`,
    );
    writeJson(path.join(o.out, 'wgan.json'), rows);
  }
  return rows;
}

// ---------------------------------------------------------------- the whole study

export async function runAlrStudy(o: AlrStudyOptions): Promise<StudyReport> {
  ensureDir(o.out);
  writeConfig(o.out, o);
  E.manualSeed(o.seed);
  let ckpt = o.checkpoint;
  if (!ckpt && !o.wganOnly) {
    const dir = path.join(o.out, 'toy_critic');
    await runToyWgan({
      ...TOY_DEFAULTS,
      dataset: o.dataset,
      iters: o.trainIters,
      dim: o.dim,
      batch: o.quick ? 64 : TOY_DEFAULTS.batch,
      every: o.trainIters,
      seed: o.seed,
      out: dir,
      progress: o.progress,
    });
    ckpt = path.join(dir, 'checkpoint.safetensors');
  }
  if (o.wganOnly) {
    const wgan = await runWganSchemes(o);
    return { options: o, critic: '(skipped)', groundTruth: null as never, settings: [], equalCost: [], wgan };
  }
  if (!ckpt || !fs.existsSync(ckpt)) throw new Error(`alr_study: checkpoint ${ckpt} does not exist`);
  const { G, D, dim } = await loadToyModels(ckpt);
  const critic = asCritic(D);
  const { x } = studyBatch(G, o);
  E.manualSeed(o.seed + 13);
  const gt = await groundTruth(critic, x, { radii: o.gtRadii, restarts: o.gtRestarts, steps: o.gtSteps });
  // one ε draw per P_ε shared by its settings, and the ground truth at exactly those radii
  const atEps = new Map<string, { eps: E.Tensor; truth: GroundTruth }>();
  const results: SettingResult[] = [];
  for (const s of defaultSettings(o.quick)) {
    const key = JSON.stringify(s.eps);
    if (!atEps.has(key)) {
      E.manualSeed(o.seed + 19);
      const eps = E.keep(sampleEps(s.eps, o.points));
      const truth = await groundTruth(critic, x, {
        sampleRadii: await eps.toFloat32(),
        restarts: o.gtRestarts,
        steps: o.gtSteps,
      });
      atEps.set(key, { eps, truth });
    }
    const { eps, truth } = atEps.get(key)!;
    E.manualSeed(o.seed + 17); // every setting sees the same r0 draws
    results.push(await runSetting(critic, x, gt, s, { K: o.K, epsValues: eps, truthAtEps: truth }));
  }
  for (const { eps } of atEps.values()) eps.dispose();
  const report: StudyReport = {
    options: o,
    critic: `${ckpt} (toy critic, dim ${dim})`,
    groundTruth: groundTruthSummary(gt, o.K),
    settings: results.map(({ quotients: _q, ...r }) => r),
    equalCost: equalCostTable(results),
  };
  await plots(o.out, gt, results, o.K);
  x.dispose();
  for (const m of [G, D]) m.dispose();

  // the study's tables first (the WGAN runs below take longer)
  writeJson(path.join(o.out, 'study.json'), report);
  writeFileSafe(path.join(o.out, 'study.md'), studyMarkdown(report, results));
  if (o.wganIters > 0) {
    report.wgan = await runWganSchemes(o);
    writeJson(path.join(o.out, 'study.json'), report);
  }
  return report;
}

function studyMarkdown(r: StudyReport, rows: SettingResult[]): string {
  const g = r.groundTruth;
  const eq = r.equalCost
    .map(
      (e) =>
        `### cost ${e.cost} passes (paper: ${e.paper})\n\n| setting | detection (sup) | detection at ε | cos ∇f | cos truth at ε | q / truth | q / truth at ε | mean q | ms |\n|---|---|---|---|---|---|---|---|---|\n` +
        e.rows
          .map(
            (x) =>
              `| ${x.name} | ${x.detectionRate.toFixed(3)} | ${x.detectionRateAtEps.toFixed(3)} | ${x.cosGrad.toFixed(3)} | ${x.cosTruthAtEps.toFixed(3)} | ${x.fractionOfTruth.toFixed(3)} | ${x.fractionOfTruthAtEps.toFixed(3)} | ${x.meanQuotient.toFixed(3)} | ${x.ms.toFixed(1)} |`,
          )
          .join('\n'),
    )
    .join('\n\n');
  return `# ALR search study (seed ${r.options.seed})

critic: ${r.critic}; ${g.samples} points (half real, half generated); K = ${r.options.K}

ground truth (radii ${g.radii.join(', ')}; ${r.options.gtRestarts} restarts, ${r.options.gtSteps} steps; ${g.ms.toFixed(0)} ms):
mean quotient ${g.meanQuotient.toFixed(3)}, max ${g.maxQuotient.toFixed(3)}, mean ‖∇f‖ ${g.meanGradNorm.toFixed(3)}, max ‖∇f‖ ${g.maxGradNorm.toFixed(3)},
true violations (quotient > K) ${g.violations} / ${g.samples}; ‖∇f‖ > K at ${g.gradNormAboveK}.

Truth (sup): max over the radii above. Truth at ε: the same search on the sphere of each
sample's own ε (one ε draw per P_ε, shared by all its settings; multiRadius picks its own radii).
Detection = ALR quotient > K among samples whose truth > K.

Passes are critic passes over the batch per step, counted by a wrapper (f(x), search probes and
their backwards, the evaluation at x̂). Cosines are |cos|. Warm settings emulate consecutive steps
on the same points; the last step is measured.

## All settings

${markdownTable(rows)}

## Equal cost (ξ = 10, P_ε = U[0.1, 10])

${eq}
`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const cli = program(
    'alr_study',
    'How good is the adversarial direction? ALR search settings and schemes vs a ground-truth search',
    'out/alr_study',
  )
    .option('--checkpoint <file>', 'toy_wgan checkpoint (default: train a toy critic first)')
    .option('--dataset <name>', `toy dataset: ${TOY_DATASETS.join(', ')}`, STUDY_DEFAULTS.dataset)
    .option(
      '--train-iters <n>',
      'iterations of the toy critic trained without --checkpoint',
      (v) => intArg('--train-iters', v, 1),
      STUDY_DEFAULTS.trainIters,
    )
    .option('--dim <n>', 'hidden width of the trained toy models', (v) => intArg('--dim', v, 1), STUDY_DEFAULTS.dim)
    .option(
      '--points <n>',
      'points studied (half real, half generated)',
      (v) => intArg('--points', v, 2),
      STUDY_DEFAULTS.points,
    )
    .option('--K <x>', 'Lipschitz target defining a violation', (v) => numArg('--K', v), STUDY_DEFAULTS.K)
    .option(
      '--gt-restarts <n>',
      'ground truth: restarts per radius',
      (v) => intArg('--gt-restarts', v, 1),
      STUDY_DEFAULTS.gtRestarts,
    )
    .option('--gt-steps <n>', 'ground truth: ascent steps', (v) => intArg('--gt-steps', v, 1), STUDY_DEFAULTS.gtSteps)
    .option(
      '--gt-radii <list>',
      'ground truth: comma-separated radii',
      (v) => v.split(',').map(Number),
      STUDY_DEFAULTS.gtRadii,
    )
    .option(
      '--wgan-iters <n>',
      'toy WGAN iterations per scheme (0: skip)',
      (v) => intArg('--wgan-iters', v, 0),
      STUDY_DEFAULTS.wganIters,
    )
    .option(
      '--wgan-dim <n>',
      'hidden width in the WGAN runs',
      (v) => intArg('--wgan-dim', v, 1),
      STUDY_DEFAULTS.wganDim,
    )
    .option('--wgan-only', 'skip the search study, only the WGAN runs', false)
    .option(
      '--wgan-schemes <list>',
      `comma-separated indices into: ${WGAN_SCHEMES.map((s, i) => `${i} ${s.label}`).join('; ')}`,
      (v) => v.split(',').map((t) => intArg('--wgan-schemes', t, 0)),
    )
    .option('--wgan-batch <n>', 'batch in the WGAN runs', (v) => intArg('--wgan-batch', v, 2), STUDY_DEFAULTS.wganBatch)
    .parse();
  await main(async () => {
    const o = studyOptions(cli.opts());
    const r = await runAlrStudy(o);
    if (o.wganOnly) {
      console.log(`wrote ${path.resolve(o.out, 'wgan.md')}`);
      return;
    }
    console.log(`ground truth: ${JSON.stringify(r.groundTruth)}`);
    for (const e of r.equalCost) {
      console.log(
        `cost ${e.cost}: ` +
          e.rows
            .map(
              (x) =>
                `${x.name}: det ${x.detectionRate.toFixed(3)} det@ε ${x.detectionRateAtEps.toFixed(3)} cos∇f ${x.cosGrad.toFixed(3)} cosT@ε ${x.cosTruthAtEps.toFixed(3)} q/T ${x.fractionOfTruth.toFixed(3)} q/T@ε ${x.fractionOfTruthAtEps.toFixed(3)}`,
            )
            .join(' | '),
      );
    }
    console.log(`wrote ${path.resolve(o.out, 'study.md')}`);
  });
}
