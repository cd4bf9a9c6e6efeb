// Is ALR's adversarial search better than a random direction? For critics of input dimension 2
// (toy MLP), 784 (Fashion-MNIST residual critic) and 3072 (CIFAR-shaped residual critic), the
// paper's search (k power steps probed at ξ, ε ~ U[0.1, 10]) against a random-direction baseline
// drawn the same way and given the same number of critic passes:
//
//   npx tsx experiments/search_vs_random.ts --out out/search_vs_random
//
// Per critic, seed and sample:
// - |cos(r_adv, ∇ₓf(x))|: how well the direction lines up with the local gradient;
// - detection: of the samples whose ground-truth quotient at their own ε exceeds K (a projected
//   gradient ascent on the sphere of radius ε, common/study.ts groundTruth), the fraction whose
//   searched quotient |f(x) − f(x̂)| / ‖x − x̂‖ also exceeds K;
// - detection at the median: the same with the threshold at the median ground-truth quotient of
//   the batch instead of K (the top half of the samples "violate"). Untrained image critics have
//   quotients far below K = 1, so only this one is defined for them.
// The paper's search with k steps costs 2 + 2k critic passes (f(x), k probe forwards and
// backwards, f(x̂)). The baseline: best of m = 1 + 2k random directions r ~ U[-0.5, 0.5]^D
// (normalised, as ALR's r₀) at the same ε, which costs 1 + m = 2 + 2k passes (every pass a
// forward, so the baseline does fewer FLOPs: a backward costs about two forwards). k = 0 is both
// the paper's search and the baseline with m = 1.
//
// Critics: each untrained (default initialisation), and each also after a short WGAN-ALP run
// (--toy-iters, --image-iters; cached in --out). There is no CIFAR-10 on this machine: the 3072-dim
// critic trains on the images it is studied on (below). Points: half real, half
// generated (toy: 8gaussians; 784: Fashion-MNIST test images; 3072: those images zero-padded to
// 32×32 and repeated over 3 channels), clipped to [-1, 1] for images as WGAN-ALP does.
//
// Writes: results.json (per setting: mean ± sample std (n) over samples pooled across seeds),
// results.md (tables with Welch t-tests, paper vs baseline), cos_vs_k.png, detection_vs_k.png.
import path from 'node:path';
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import * as E from '../engine/index.js';
import { Adam } from '../engine/index.js';
import {
  asCritic,
  Critic as CriticNet,
  Generator,
  loadCheckpoint,
  toyCritic,
  toyGenerator,
  withoutStatUpdates,
  type Module,
} from '../nn/index.js';
import { auxiliaryPass, criticOutput, NORM_FLOOR, sampleEps, SEARCH_DEFAULTS, type Critic } from '../alr/index.js';
import { quotientAt, repeatBatch, schemeSearch } from './common/schemes.js';
import { absCosPerSample, groundTruth } from './common/study.js';
import { toySampler } from './common/toy_data.js';
import { saveChart, type VegaLiteSpec } from './training/chart.js';
import { ensureDir, intArg, main, numArg, program, writeConfig, writeJson } from './training/run.js';
import { writeFileSafe } from './training/files.js';
import { stat, welch, type Stat } from './training/welch.js';
import {
  FASHION_MNIST_DIR,
  loadFashionMnist,
  padTo,
  repeatChannels,
  subset,
  type ImageSet,
} from './training/data/images.js';
import { toFloat } from './training/data/batches.js';
import { runToyWgan, TOY_DEFAULTS } from './toy_wgan.js';
import { imageOptions, runImageWgan } from './image_wgan.js';

export const CRITICS = ['toy', 'toy-trained', 'fmnist', 'fmnist-trained', 'cifar', 'cifar-trained'] as const;
export type CriticCase = (typeof CRITICS)[number];

export interface SearchVsRandomOptions {
  critics: CriticCase[];
  seeds: number;
  /** points per seed (half real, half generated): toy / images */
  toyPoints: number;
  imagePoints: number;
  xis: number[];
  ks: number[];
  K: number;
  /** ground truth: restarts (±∇f, then random) and ascent steps */
  gtRestarts: number;
  gtSteps: number;
  toyIters: number;
  imageIters: number;
  /** residual critic width for the 784- and 3072-dim critics */
  imageDim: number;
  data: string;
  seed: number;
  out: string;
  quick: boolean;
  progress: boolean;
}

export const SVR_DEFAULTS: Omit<SearchVsRandomOptions, 'out'> = {
  critics: [...CRITICS],
  seeds: 3,
  toyPoints: 256,
  imagePoints: 32,
  xis: [0.1, 1, 10],
  ks: [0, 1, 5],
  K: 1,
  gtRestarts: 3,
  gtSteps: 15,
  toyIters: 300,
  imageIters: 60,
  imageDim: 16,
  data: FASHION_MNIST_DIR,
  seed: 0,
  quick: false,
  progress: true,
};

const EPS = SEARCH_DEFAULTS.eps; // U[0.1, 10], the paper's

// ---------------------------------------------------------------- per-sample measures

/**
 * The baseline: m random directions per sample (r ~ U[-0.5, 0.5]^D, normalised, as ALR's r₀) at
 * the sample's ε; returns the best quotient and its direction. Passes: f(x) plus m forwards.
 */
async function randomBest(
  critic: Critic,
  x: E.Tensor,
  eps: E.Tensor,
  m: number,
  clip: readonly [number, number] | null,
) {
  const B = x.shape[0];
  const D = x.size / B;
  const t = E.tidy(() =>
    E.noGrad(() => {
      const x0 = E.detach(x);
      const y = auxiliaryPass(critic, () => criticOutput(critic, x0, 'randomBest'));
      const r = E.normalizePerSample(E.randUniform([m * B, ...x.shape.slice(1)], -0.5, 0.5), NORM_FLOOR);
      const q = quotientAt(critic, repeatBatch(x0, m), repeatBatch(y, m), r, repeatBatch(eps, m), { clip });
      return { r, q };
    }),
  );
  const [r, q] = await Promise.all([t.r.toFloat32(), t.q.toFloat32()]);
  E.dispose(t);
  const best = new Float32Array(B);
  const dir = new Float32Array(B * D);
  for (let b = 0; b < B; b++) {
    let bi = 0;
    for (let j = 1; j < m; j++) if (q[j * B + b] > q[bi * B + b]) bi = j;
    best[b] = q[bi * B + b];
    dir.set(r.subarray((bi * B + b) * D, (bi * B + b + 1) * D), b * D);
  }
  return { quotient: best, direction: dir };
}

// ---------------------------------------------------------------- critics and points

interface Case {
  name: CriticCase;
  dim: number;
  trained: boolean;
  critic: Critic;
  clip: readonly [number, number] | null;
  /** the studied points for one seed, [B, ...] */
  points: (seed: number) => E.Tensor;
  modules: Module[];
}

const imageShape = (c: number, s: number) => [c, s, s];

/** Test images as [n, c, s, s] floats in [-1, 1) (padded to s, repeated over c channels). */
function testImages(set: ImageSet, n: number, offset: number, c: number, s: number): Float32Array {
  const picked = padTo(
    subset(
      set,
      Array.from({ length: n }, (_, i) => (offset + i) % set.n),
    ),
    s,
  );
  return toFloat(
    c === 1 ? picked : repeatChannels(picked, c),
    Array.from({ length: n }, (_, i) => i),
    null,
  );
}

async function loadModels(file: string, modules: { G: Module; D: Module }): Promise<void> {
  const opts = { G: new Adam(modules.G.parameters()), D: new Adam(modules.D.parameters()) };
  await loadCheckpoint(file, { modules, optimizers: opts, rng: false });
  for (const o of Object.values(opts)) o.dispose();
}

async function buildCase(name: CriticCase, o: SearchVsRandomOptions, test: () => ImageSet): Promise<Case> {
  E.manualSeed(o.seed + 100 + CRITICS.indexOf(name));
  if (name === 'toy' || name === 'toy-trained') {
    const dim = TOY_DEFAULTS.dim;
    const G = toyGenerator(dim);
    const D = toyCritic(dim);
    const trained = name === 'toy-trained';
    if (trained) {
      const dir = path.join(o.out, 'train_toy');
      const ckpt = path.join(dir, 'checkpoint.safetensors');
      if (!fs.existsSync(path.join(dir, 'summary.json'))) {
        await runToyWgan({
          ...TOY_DEFAULTS,
          reg: 'alp',
          iters: o.toyIters,
          every: o.toyIters,
          out: dir,
          seed: o.seed,
          progress: o.progress,
          resume: true,
        });
      }
      await loadModels(ckpt, { G, D });
    }
    const n = o.toyPoints / 2;
    return {
      name,
      dim: 2,
      trained,
      critic: asCritic(D),
      clip: null,
      modules: [G, D],
      points: (seed) => {
        const real = toySampler('8gaussians', 1000 + seed).sample(n);
        return E.tidy(() => E.noGrad(() => E.concat([E.tensor(real, [n, 2]), G.forward(E.randNormal([n, 2]))], 0)));
      },
    };
  }
  const cifar = name === 'cifar' || name === 'cifar-trained';
  const c = cifar ? 3 : 1;
  const s = cifar ? 32 : 28;
  const G = new Generator({
    dim: o.imageDim,
    zDim: 128,
    outChannels: c,
    startSize: s === 28 ? 7 : 4,
    upBlocks: s === 28 ? 2 : 3,
  });
  const D = new CriticNet({ dim: o.imageDim, inChannels: c });
  const trained = name.endsWith('-trained');
  if (trained) {
    // the CIFAR-shaped critic trains on the images it is studied on: Fashion-MNIST padded to
    // 32×32, grey over 3 channels (no CIFAR-10 here)
    const dir = path.join(o.out, cifar ? 'train_cifar_shaped' : 'train_fmnist');
    if (!fs.existsSync(path.join(dir, 'summary.json'))) {
      const io = imageOptions({
        config: 'fmnist',
        reg: 'alp',
        norm: 'none',
        dim: o.imageDim,
        iters: o.imageIters,
        data: o.data,
        out: dir,
        seed: o.seed,
        progress: o.progress,
        ...(cifar ? { size: 32, channels: 3 } : {}),
      });
      await runImageWgan({ ...io, every: o.imageIters, sampleEvery: o.imageIters, resume: true });
    }
    await loadModels(path.join(dir, 'checkpoint.safetensors'), { G, D });
  }
  const n = o.imagePoints / 2;
  return {
    name,
    dim: c * s * s,
    trained,
    critic: asCritic(D),
    clip: [-1, 1],
    modules: [G, D],
    points: (seed) => {
      const real = testImages(test(), n, seed * n, c, s);
      return E.tidy(() =>
        E.noGrad(() =>
          E.concat(
            [E.tensor(real, [n, ...imageShape(c, s)]), withoutStatUpdates(() => G.forward(E.randNormal([n, 128])))],
            0,
          ),
        ),
      );
    },
  };
}

// ---------------------------------------------------------------- the study

export interface Row {
  critic: CriticCase;
  dim: number;
  trained: boolean;
  method: 'paper' | 'random';
  xi: number | null;
  k: number;
  /** critic passes over the batch: 2 + 2k for both */
  passes: number;
  cos: Stat;
  detection: Stat;
  /** detection with the batch's median ground-truth quotient as the threshold */
  detectionMedian: Stat;
  quotient: Stat;
  /** samples whose ground-truth quotient at their ε exceeds K, of all studied */
  violations: number;
  samples: number;
}

export interface StudyResult {
  options: SearchVsRandomOptions;
  rows: Row[];
  /** ground truth per critic: mean quotient, fraction violating, ‖∇f‖ */
  truth: Record<string, { quotient: Stat; gradNorm: Stat; violating: number; samples: number; seconds: number }>;
  seconds: number;
}

export async function runSearchVsRandom(o: SearchVsRandomOptions): Promise<StudyResult> {
  ensureDir(o.out);
  writeConfig(o.out, o);
  const t0 = performance.now();
  let testSet: ImageSet | null = null;
  const test = () => (testSet ??= loadFashionMnist(o.data, 'test'));
  const rows: Row[] = [];
  const truthInfo: StudyResult['truth'] = {};
  for (const name of o.critics) {
    const tc = performance.now();
    const cs = await buildCase(name, o, test);
    // per setting: pooled per-sample values over seeds
    const acc = new Map<string, { cos: number[]; det: number[]; detMed: number[]; q: number[] }>();
    const get = (key: string) => acc.get(key) ?? (acc.set(key, { cos: [], det: [], detMed: [], q: [] }), acc.get(key)!);
    const gtQ: number[] = [];
    const gtG: number[] = [];
    let violating = 0;
    for (let seed = 0; seed < o.seeds; seed++) {
      E.manualSeed(o.seed * 1000 + seed * 17 + CRITICS.indexOf(name));
      const x = E.keep(cs.points(seed));
      const B = x.shape[0];
      const eps = E.keep(sampleEps(EPS, B));
      const epsHost = await eps.toFloat32();
      const truth = await groundTruth(cs.critic, x, {
        sampleRadii: epsHost,
        restarts: o.gtRestarts,
        steps: o.gtSteps,
        clip: cs.clip,
      });
      const viol = Array.from(truth.quotient, (q) => q > o.K);
      const sorted = Float32Array.from(truth.quotient).sort();
      const median = (sorted[(B - 1) >> 1] + sorted[B >> 1]) / 2;
      violating += viol.filter(Boolean).length;
      gtQ.push(...truth.quotient);
      gtG.push(...truth.gradNorm);
      const record = (key: string, q: Float32Array, dir: Float32Array) => {
        const a = get(key);
        for (const c of absCosPerSample(dir, truth.grad, B)) if (Number.isFinite(c)) a.cos.push(c);
        q.forEach((qi, i) => {
          a.q.push(qi);
          if (viol[i]) a.det.push(qi > o.K ? 1 : 0);
          if (truth.quotient[i] > median) a.detMed.push(qi > median ? 1 : 0);
        });
      };
      for (const xi of o.xis) {
        for (const k of o.ks) {
          const res = schemeSearch(cs.critic, x, {
            scheme: 'paper',
            k,
            xi,
            eps: EPS,
            epsValues: eps,
            clip: cs.clip,
            searchClip: cs.clip,
          });
          const [q, dir] = await Promise.all([res.quotient!.toFloat32(), res.direction.toFloat32()]);
          for (const t of [res.quotient!, res.direction, res.eps, res.rAdv, res.searchGrad])
            if (t && !t.disposed) t.dispose();
          record(`paper|${xi}|${k}`, q, dir);
        }
      }
      for (const k of o.ks) {
        const r = await randomBest(cs.critic, x, eps, 1 + 2 * k, cs.clip);
        record(`random|${k}`, r.quotient, r.direction);
      }
      E.dispose([x, eps]);
      if (o.progress)
        console.error(`${name}: seed ${seed + 1}/${o.seeds} (${((performance.now() - tc) / 1000).toFixed(0)} s)`);
    }
    const samples = o.seeds * (name.startsWith('toy') ? o.toyPoints : o.imagePoints);
    truthInfo[name] = {
      quotient: stat(gtQ),
      gradNorm: stat(gtG),
      violating,
      samples,
      seconds: (performance.now() - tc) / 1000,
    };
    for (const [key, a] of acc) {
      const [method, ...rest] = key.split('|');
      const xi = method === 'paper' ? Number(rest[0]) : null;
      const k = Number(method === 'paper' ? rest[1] : rest[0]);
      rows.push({
        critic: name,
        dim: cs.dim,
        trained: cs.trained,
        method: method as Row['method'],
        xi,
        k,
        passes: 2 + 2 * k,
        cos: stat(a.cos),
        detection: stat(a.det),
        detectionMedian: stat(a.detMed),
        quotient: stat(a.q),
        violations: violating,
        samples,
      });
    }
    for (const m of cs.modules) m.dispose();
  }
  const result: StudyResult = { options: o, rows, truth: truthInfo, seconds: (performance.now() - t0) / 1000 };
  writeJson(path.join(o.out, 'results.json'), result);
  writeFileSafe(path.join(o.out, 'results.md'), markdown(result));
  await charts(o.out, result);
  return result;
}

// ---------------------------------------------------------------- reports

type Metric = 'cos' | 'detection' | 'detectionMedian';
const METRIC_TEXT: Record<Metric, string> = {
  cos: '**|cos(r_adv, ∇ₓf)|**, mean ± sample std (n samples):',
  detection: '**Detection rate** of true violations (truth q > K), mean ± sample std (n violating samples):',
  detectionMedian:
    '**Detection rate at the median**: of the samples whose truth q exceeds the batch median, the fraction whose searched q does too (n such samples):',
};

const f = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : '–');
const ms = (s: Stat, d = 3) => (s.n ? `${f(s.mean, d)} ± ${f(s.std, d)} (${s.n})` : '– (0)');
const pText = (p: number) => (p < 1e-4 ? '< 1e-4' : p.toPrecision(2));

/** Paper (ξ, k) vs the random baseline at the same k: Δ mean, Welch t, p. */
export function comparisons(r: StudyResult, metric: Metric) {
  const out: {
    critic: CriticCase;
    xi: number;
    k: number;
    paper: Stat;
    random: Stat;
    t: number;
    df: number;
    p: number;
  }[] = [];
  for (const p of r.rows.filter((x) => x.method === 'paper' && x.k > 0)) {
    const b = r.rows.find((x) => x.method === 'random' && x.critic === p.critic && x.k === p.k);
    if (!b || p[metric].n < 2 || b[metric].n < 2) continue;
    const w = welch(p[metric], b[metric]);
    out.push({ critic: p.critic, xi: p.xi!, k: p.k, paper: p[metric], random: b[metric], ...w });
  }
  return out;
}

export function markdown(r: StudyResult): string {
  const lines: string[] = [];
  lines.push(
    `Ground truth per sample at its own ε (projected ascent, ${r.options.gtRestarts} restarts × ${r.options.gtSteps} steps); K = ${r.options.K}; ${r.options.seeds} seeds.`,
    '',
  );
  lines.push(
    '| critic | input dim | trained | samples | violating (truth q > K) | truth q | ‖∇f‖ | seconds |',
    '|---|---|---|---|---|---|---|---|',
  );
  for (const [name, t] of Object.entries(r.truth)) {
    const row = r.rows.find((x) => x.critic === name)!;
    lines.push(
      `| ${name} | ${row.dim} | ${row.trained ? 'yes' : 'no'} | ${t.samples} | ${t.violating} | ${ms(t.quotient)} | ${ms(t.gradNorm)} | ${t.seconds.toFixed(0)} |`,
    );
  }
  for (const metric of ['cos', 'detection', 'detectionMedian'] as const) {
    lines.push('', METRIC_TEXT[metric], '');
    const ks = [...new Set(r.rows.map((x) => x.k))].sort((a, b) => a - b);
    const xis = [...new Set(r.rows.filter((x) => x.xi !== null).map((x) => x.xi!))].sort((a, b) => a - b);
    lines.push(
      `| critic | k (passes) | random, best of 1 + 2k | ${xis.map((x) => `paper ξ = ${x}`).join(' | ')} |`,
      `|---|---|---|${xis.map(() => '---|').join('')}`,
    );
    for (const name of Object.keys(r.truth)) {
      for (const k of ks) {
        const cell = (x: Row | undefined) => (x ? ms(x[metric]) : '–');
        const rand = r.rows.find((x) => x.critic === name && x.method === 'random' && x.k === k);
        lines.push(
          `| ${name} | ${k} (${2 + 2 * k}) | ${cell(rand)} | ${xis.map((xi) => cell(r.rows.find((x) => x.critic === name && x.method === 'paper' && x.xi === xi && x.k === k))).join(' | ')} |`,
        );
      }
    }
    lines.push(
      '',
      `Welch t-tests, paper − random at the same k (${metric}):`,
      '',
      '| critic | ξ | k | Δ mean | t | df | p |',
      '|---|---|---|---|---|---|---|',
    );
    for (const c of comparisons(r, metric)) {
      lines.push(
        `| ${c.critic} | ${c.xi} | ${c.k} | ${f(c.paper.mean - c.random.mean)} | ${f(c.t, 2)} | ${f(c.df, 0)} | ${pText(c.p)} |`,
      );
    }
  }
  lines.push('', `${r.seconds.toFixed(0)} s in all.`);
  return lines.join('\n') + '\n';
}

async function charts(out: string, r: StudyResult): Promise<void> {
  const names = Object.keys(r.truth);
  for (const [metric, title, file] of [
    ['cos', '|cos(r_adv, ∇f)|: paper search vs random directions at equal critic passes', 'cos_vs_k.png'],
    ['detection', "detection rate of true violations (q > K at the sample's ε)", 'detection_vs_k.png'],
    ['detectionMedian', 'detection rate at the median (truth q above the batch median)', 'detection_median_vs_k.png'],
  ] as const) {
    const values = r.rows
      .filter((x) => Number.isFinite(x[metric].mean))
      .map((x) => {
        const se = x[metric].n > 1 ? x[metric].std / Math.sqrt(x[metric].n) : 0;
        return {
          critic: `${x.critic} (${x.dim})`,
          k: x.k,
          search: x.method === 'paper' ? `paper ξ=${x.xi}` : 'random, best of 1+2k',
          y: x[metric].mean,
          lo: x[metric].mean - 2 * se,
          hi: x[metric].mean + 2 * se,
        };
      });
    const color = {
      field: 'search',
      type: 'nominal',
      title: null,
      sort: ['random, best of 1+2k', ...r.options.xis.map((x) => `paper ξ=${x}`)],
    };
    const xEnc = { field: 'k', type: 'ordinal', title: 'k (passes 2 + 2k)', axis: { labelAngle: 0 } };
    const spec = {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: title, subtitle: 'mean over samples pooled across seeds; bars: ±2 standard errors' },
      data: { values },
      facet: {
        column: {
          field: 'critic',
          type: 'nominal',
          title: null,
          sort: names.map((n) => `${n} (${r.rows.find((x) => x.critic === n)!.dim})`),
        },
      },
      spec: {
        width: 170,
        height: 220,
        layer: [
          {
            mark: { type: 'line', point: { size: 30 } },
            encoding: {
              x: xEnc,
              y: {
                field: 'y',
                type: 'quantitative',
                title: metric === 'cos' ? '|cos|' : 'detection rate',
                scale: { domain: [0, 1] },
              },
              color,
            },
          },
          {
            mark: { type: 'rule' },
            encoding: { x: xEnc, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color },
          },
        ],
      },
    } as unknown as VegaLiteSpec;
    await saveChart(spec, path.join(out, file));
  }
}

// ---------------------------------------------------------------- CLI

const list = <T>(flag: string, v: string, parse: (s: string) => T): T[] => {
  const items = v.split(',').map((s) => s.trim());
  if (!items.length || items.some((s) => !s)) throw new Error(`${flag}: expected a comma-separated list, got '${v}'`);
  return items.map(parse);
};

export function svrCli() {
  const d = SVR_DEFAULTS;
  return program(
    'search_vs_random',
    "ALR's adversarial search vs random directions at equal critic passes (input dims 2, 784, 3072)",
    'out/search_vs_random',
  )
    .option('--critics <list>', `critics to study: ${CRITICS.join(', ')}`, CRITICS.join(','))
    .option('--seeds <n>', 'seeds (batches and draws) per critic', (v) => intArg('--seeds', v, 1), d.seeds)
    .option(
      '--toy-points <n>',
      'points per seed for the toy critics (even)',
      (v) => intArg('--toy-points', v, 2),
      d.toyPoints,
    )
    .option(
      '--image-points <n>',
      'points per seed for the image critics (even)',
      (v) => intArg('--image-points', v, 2),
      d.imagePoints,
    )
    .option('--xis <list>', 'probe distances ξ', d.xis.join(','))
    .option('--ks <list>', 'power iterations k', d.ks.join(','))
    .option('--K <x>', 'Lipschitz target defining a violation', (v) => numArg('--K', v, { min: 0 }), d.K)
    .option(
      '--gt-restarts <n>',
      'ground truth: restarts (±∇f first)',
      (v) => intArg('--gt-restarts', v, 1),
      d.gtRestarts,
    )
    .option('--gt-steps <n>', 'ground truth: projected ascent steps', (v) => intArg('--gt-steps', v, 1), d.gtSteps)
    .option('--toy-iters <n>', 'WGAN-ALP iterations for toy-trained', (v) => intArg('--toy-iters', v, 1), d.toyIters)
    .option(
      '--image-iters <n>',
      'WGAN-ALP iterations for fmnist-trained and cifar-trained',
      (v) => intArg('--image-iters', v, 1),
      d.imageIters,
    )
    .option('--image-dim <n>', 'residual critic width (784 and 3072)', (v) => intArg('--image-dim', v, 1), d.imageDim)
    .option('--data <dir>', 'Fashion-MNIST folder', d.data);
}

export function svrOptions(opts: Record<string, unknown>): SearchVsRandomOptions {
  const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
  const o = { ...SVR_DEFAULTS, ...given } as SearchVsRandomOptions;
  if (typeof opts.critics === 'string') {
    o.critics = list('--critics', opts.critics, (s) => {
      if (!CRITICS.includes(s as CriticCase))
        throw new Error(`--critics: expected some of ${CRITICS.join(', ')}, got '${s}'`);
      return s as CriticCase;
    });
  }
  const positive = (flag: string) => (s: string) => {
    const n = Number(s);
    if (!(Number.isFinite(n) && n > 0)) throw new Error(`${flag}: expected numbers > 0, got '${s}'`);
    return n;
  };
  if (typeof opts.xis === 'string') o.xis = list('--xis', opts.xis, positive('--xis'));
  if (typeof opts.ks === 'string') {
    o.ks = list('--ks', opts.ks, (s) => {
      const n = Number(s);
      if (!(Number.isInteger(n) && n >= 0)) throw new Error(`--ks: expected integers >= 0, got '${s}'`);
      return n;
    });
  }
  if (o.toyPoints % 2 || o.imagePoints % 2)
    throw new Error(
      `--toy-points / --image-points: expected even numbers (half real, half generated), got ${o.toyPoints} / ${o.imagePoints}`,
    );
  if (o.quick)
    Object.assign(o, {
      seeds: Math.min(o.seeds, 2),
      toyPoints: Math.min(o.toyPoints, 32),
      imagePoints: Math.min(o.imagePoints, 4),
      gtRestarts: Math.min(o.gtRestarts, 3),
      gtSteps: Math.min(o.gtSteps, 4),
      toyIters: Math.min(o.toyIters, 4),
      imageIters: Math.min(o.imageIters, 2),
      imageDim: Math.min(o.imageDim, 8),
    });
  return o;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const cli = svrCli().parse();
  await main(async () => {
    const r = await runSearchVsRandom(svrOptions(cli.opts()));
    console.log(fs.readFileSync(path.join(r.options.out, 'results.md'), 'utf8'));
  });
}
