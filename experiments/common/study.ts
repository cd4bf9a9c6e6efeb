// How good is ALR's adversarial direction? Tools to measure it on a fixed critic and batch:
// - groundTruth: an expensive search for the largest difference quotient per sample (projected
//   gradient ascent on spheres of several radii, several restarts, all in one batched tensor)
//   and the local gradient norm ‖∇_x f(x)‖;
// - runSetting: what one search setting (scheme, k, ξ, P_ε) finds, its cosine with ∇f and with
//   the ground-truth direction, the fraction of true violations it detects, and its cost in
//   critic passes (counted by a wrapper) and milliseconds.
import {
  add,
  concat,
  detach,
  div,
  ge,
  grad,
  keep,
  maximum,
  mul,
  noGrad,
  normalizePerSample,
  perSampleNorm,
  randNormal,
  requireGrad,
  sub,
  sum,
  tensor,
  tidy,
  where,
  type Tensor,
  Tensor as TensorClass,
  record,
} from '../../engine/web.js';
import { auxiliaryPass, criticOutput, type Critic } from '../../alr/index.js';
import { inputDistance, NORM_FLOOR, outputDistance, type OutputDistance } from '../../alr/index.js';
import { clipTo, perSampleColumn, SEARCH_DEFAULTS, uniformEps, type EpsDistribution } from '../../alr/index.js';
import { repeatBatch, schemeSearch, WarmStart, type SearchScheme } from './schemes.js';

// ---------------------------------------------------------------- pass counting

export interface PassCounter {
  /** rows pushed through forward / backward, divided by `batch` when reported */
  forwardRows: number;
  backwardRows: number;
  reset(): void;
}

/**
 * Wraps a critic so every forward and every backward through it is counted (in rows). The
 * backward is seen by an identity node recorded on the output.
 */
export function countingCritic(inner: Critic): { critic: Critic; counter: PassCounter } {
  const counter: PassCounter = {
    forwardRows: 0,
    backwardRows: 0,
    reset() {
      this.forwardRows = 0;
      this.backwardRows = 0;
    },
  };
  const critic: Critic = {
    forward(x: Tensor): Tensor {
      const y = inner.forward(x);
      const rows = x.shape[0];
      counter.forwardRows += rows;
      if (!y.requiresGrad) return y;
      const out = TensorClass.alias(y, y.shape);
      return record(out, 'countPasses', [y], (g) => {
        counter.backwardRows += rows;
        return [g];
      });
    },
    parameters: () => inner.parameters(),
  };
  if (inner.withoutStatUpdates) critic.withoutStatUpdates = inner.withoutStatUpdates.bind(inner);
  return { critic, counter };
}

// ---------------------------------------------------------------- ground truth

export interface GroundTruthOptions {
  /** sphere radii searched (default [0.1, 0.3, 1, 3, 10]) */
  radii?: number[];
  /** restarts per radius: two start at ±∇f(x), the rest at random directions (default 4) */
  restarts?: number;
  /** projected gradient-ascent steps (default 30) */
  steps?: number;
  /** initial step along the unit tangent gradient, cosine-decayed (default 1) */
  stepSize?: number;
  dY?: OutputDistance;
  clip?: readonly [number, number] | null;
  /** one radius per sample instead of `radii` (the truth at a search's own ε) */
  sampleRadii?: ArrayLike<number>;
}

export interface GroundTruth {
  batch: number;
  /** per sample: the largest quotient found over radii and restarts */
  quotient: Float32Array;
  /** the radius where it was found */
  radius: Float32Array;
  /** its unit direction, [B·D] row-major */
  direction: Float32Array;
  /** ∇_x f(x), [B·D], and its norm per sample */
  grad: Float32Array;
  gradNorm: Float32Array;
  /** per sample, per radius: the best quotient at that radius [B·M] (radius-minor) */
  perRadius: Float32Array;
  radii: number[];
  ms: number;
  passes: { forward: number; backward: number };
}

export const GROUND_TRUTH_DEFAULTS = { radii: [0.1, 0.3, 1, 3, 10], restarts: 4, steps: 30, stepSize: 1 };

/** ∇_x Σ f(x) and f(x) (one forward, one backward). */
export function inputGradient(critic: Critic, x: Tensor): { y: Tensor; g: Tensor } {
  return tidy(() => {
    const leaf = requireGrad(detach(x));
    const y = auxiliaryPass(critic, () => criticOutput(critic, leaf, 'inputGradient'));
    const [g] = grad(sum(y), [leaf]);
    return { y: detach(y), g };
  });
}

/**
 * The expensive reference: per sample, max over radii ρ and restarts of |f(x) − f(x + ρ r)| / ‖·‖,
 * by projected gradient ascent on the unit sphere of r. All samples × radii × restarts are one
 * batch of B·M·R rows.
 */
export async function groundTruth(critic: Critic, x: Tensor, opts: GroundTruthOptions = {}): Promise<GroundTruth> {
  const o = { ...GROUND_TRUTH_DEFAULTS, ...opts };
  const dY = opts.dY ?? 'abs';
  const B = x.shape[0];
  const perSample = opts.sampleRadii ? Array.from(opts.sampleRadii) : null;
  if (perSample && perSample.length !== B)
    throw new Error(`groundTruth: sampleRadii has ${perSample.length} values for ${B} samples`);
  const radii = perSample ? [NaN] : o.radii;
  const M = radii.length;
  const R = Math.max(1, o.restarts);
  if (M === 0 || !(perSample ?? radii).every((r) => r > 0))
    throw new Error(`groundTruth: radii must be a non-empty list of numbers > 0, got [${radii.join(', ')}]`);
  if (!(Number.isInteger(o.steps) && o.steps >= 1))
    throw new Error(`groundTruth: steps must be an integer >= 1, got ${o.steps}`);
  const D = x.size / B;
  const N = M * R * B;
  const t0 = performance.now();

  const { y, g } = inputGradient(critic, x);
  const state = tidy(() =>
    noGrad(() => {
      const x0 = detach(x);
      const unitG = normalizePerSample(g, NORM_FLOOR);
      const starts: Tensor[] = [];
      for (let rr = 0; rr < R; rr++) {
        if (rr === 0) starts.push(unitG);
        else if (rr === 1) starts.push(mul(unitG, -1));
        else starts.push(randNormal(x0.shape));
      }
      // a little noise so a vanishing gradient still gives a direction
      const rInit = normalizePerSample(
        add(repeatBatch(concat(starts, 0), M), mul(randNormal([N, ...x0.shape.slice(1)]), 1e-3)),
        NORM_FLOOR,
      );
      const eps = perSample
        ? tensor(
            Float32Array.from({ length: R * B }, (_, i) => perSample[i % B]),
            [R * B],
          )
        : concat(
            radii.map((rho) => mul(tensor(new Float32Array(R * B).fill(1), [R * B]), rho)),
            0,
          );
      const isRandom = tensor(
        Float32Array.from({ length: N }, (_, i) => (Math.floor(i / B) % R >= 2 ? 1 : 0)),
        [N],
      );
      return { xRep: repeatBatch(x0, M * R), yRep: repeatBatch(y, M * R), r: rInit, eps, isRandom };
    }),
  );
  const { xRep, yRep, eps } = state;
  const eCol = perSampleColumn(eps, xRep);
  const randomRows = R > 2 ? state.isRandom : null;
  let r = state.r;
  let bestQ: Tensor | null = null;
  let bestR: Tensor | null = null;
  const quotient = (xHat: Tensor, yHat: Tensor) => div(outputDistance(dY, yRep, yHat), inputDistance(xRep, xHat));
  for (let step = 0; step <= o.steps; step++) {
    const last = step === o.steps;
    const eta = o.stepSize * 0.5 * (1 + Math.cos((Math.PI * step) / o.steps)) + 0.02;
    const out = tidy(() => {
      const rLeaf = requireGrad(detach(r));
      const xHat = clipTo(add(xRep, mul(rLeaf, eCol)), o.clip);
      const q = last
        ? noGrad(() =>
            quotient(
              xHat,
              auxiliaryPass(critic, () => criticOutput(critic, xHat, 'groundTruth')),
            ),
          )
        : quotient(
            xHat,
            auxiliaryPass(critic, () => criticOutput(critic, xHat, 'groundTruth')),
          );
      const qd = detach(q);
      const better = bestQ ? ge(qd, bestQ) : null;
      const nq = noGrad(() => (bestQ ? maximum(qd, bestQ) : qd));
      const nr = noGrad(() => (bestR && better ? where(perSampleColumn(better, r), r, bestR) : detach(r)));
      if (last) return { nq, nr, next: null };
      const [gr] = grad(sum(q), [rLeaf]);
      const next = noGrad(() => {
        const radial = sum(mul(gr, r), [...Array(r.rank).keys()].slice(1));
        const tangent = normalizePerSample(sub(gr, mul(r, perSampleColumn(radial, r))), NORM_FLOOR);
        const moved = normalizePerSample(add(r, mul(tangent, eta)), NORM_FLOOR);
        if (step > 0 || R <= 2) return moved;
        // random restarts first take a full power step probed at ξ = ρ (ALR's step), which also
        // escapes flat regions when the probe reaches a slope; r stays where the gradient vanishes
        const power = normalizePerSample(add(normalizePerSample(gr, NORM_FLOOR), mul(r, 1e-6)), NORM_FLOOR);
        return where(perSampleColumn(randomRows!, r), power, moved);
      });
      return { nq, nr, next };
    });
    keep(out.nq);
    keep(out.nr);
    bestQ?.dispose();
    bestR?.dispose();
    bestQ = out.nq;
    bestR = out.nr;
    if (out.next) {
      keep(out.next);
      if (r !== state.r) r.dispose();
      r = out.next;
    }
  }
  const gn = tidy(() => noGrad(() => perSampleNorm(g)));
  const [qH, rH, gH, gnH] = await Promise.all([bestQ!.toFloat32(), bestR!.toFloat32(), g.toFloat32(), gn.toFloat32()]);
  const ms = performance.now() - t0;
  for (const t of [bestQ!, bestR!, g, gn, y, xRep, yRep, eps, eCol, state.r, state.isRandom, r])
    if (!t.disposed) t.dispose();

  const out: GroundTruth = {
    batch: B,
    quotient: new Float32Array(B),
    radius: new Float32Array(B),
    direction: new Float32Array(B * D),
    grad: gH,
    gradNorm: gnH,
    perRadius: new Float32Array(B * M).fill(-Infinity),
    radii: [...radii],
    ms,
    passes: { forward: 1 + (o.steps + 1) * M * R, backward: 1 + o.steps * M * R },
  };
  out.quotient.fill(-Infinity);
  for (let m = 0; m < M; m++) {
    for (let rr = 0; rr < R; rr++) {
      for (let b = 0; b < B; b++) {
        const row = (m * R + rr) * B + b;
        const q = qH[row];
        if (q > out.perRadius[b * M + m]) out.perRadius[b * M + m] = q;
        if (q > out.quotient[b]) {
          out.quotient[b] = q;
          out.radius[b] = perSample ? perSample[b] : radii[m];
          out.direction.set(rH.subarray(row * D, (row + 1) * D), b * D);
        }
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------- one setting

export interface StudySetting {
  /** a short label, unique within a study */
  name: string;
  scheme: SearchScheme;
  k: number;
  xi: number;
  eps: EpsDistribution;
  /** multiRadius: radii per sample */
  radii?: number;
  /** ascent: gradient steps */
  ascentSteps?: number;
  /** warm: consecutive steps emulated on the same points (the last one is measured) */
  warmSteps?: number;
  /** warm: what is carried ('gradient' = ∇_x f(x) from the previous step, free in training) */
  warmSource?: 'direction' | 'gradient';
  /** warm: give each sample another sample's state (what fresh WGAN batches see) */
  warmShuffle?: boolean;
}

export interface SettingResult {
  name: string;
  scheme: SearchScheme;
  k: number;
  xi: number;
  eps: string;
  /** critic passes over the batch in one step (forward, backward, total) */
  forward: number;
  backward: number;
  cost: number;
  ms: number;
  meanQuotient: number;
  /** mean of found / ground truth (per sample, where ground truth > 0) */
  meanFractionOfTruth: number;
  /** mean |cos(r, ∇f(x))| and mean |cos(r, ground-truth direction)| */
  cosGrad: number;
  cosTruth: number;
  /** samples with ground-truth quotient > K, those ALR flags (quotient > K), and the ratio */
  trueViolations: number;
  detected: number;
  detectionRate: number;
  /** samples where ALR's quotient beats the ground truth by > 1 % (a weak reference) */
  aboveTruth: number;
  /**
   * Against the truth at the setting's own ε (same ε per sample for every setting of a P_ε;
   * multiRadius picks its own radii, so it can exceed this): mean found / truth, and detection of
   * the violations that exist at that radius.
   */
  fractionOfTruthAtEps: number;
  /** mean |cos(r, truth direction at ε)| */
  cosTruthAtEps: number;
  violationsAtEps: number;
  detectedAtEps: number;
  detectionRateAtEps: number;
  /** per-sample quotients (for scatter plots) */
  quotients: number[];
}

function epsLabel(e: EpsDistribution): string {
  return e.kind === 'fixed' ? `{${e.value}}` : `${e.kind === 'uniform' ? 'U' : 'logU'}[${e.min},${e.max}]`;
}

/** |cos| per sample between rows of a and b ([B·D]); NaN where either row is zero. */
export function absCosPerSample(a: Float32Array, b: Float32Array, batch: number): number[] {
  const D = a.length / batch;
  const out: number[] = [];
  for (let i = 0; i < batch; i++) {
    let dot = 0,
      na = 0,
      nb = 0;
    for (let j = i * D; j < (i + 1) * D; j++) {
      dot += a[j] * b[j];
      na += a[j] * a[j];
      nb += b[j] * b[j];
    }
    out.push(na > 0 && nb > 0 ? Math.abs(dot) / Math.sqrt(na * nb) : NaN);
  }
  return out;
}

/** |cos| per sample between rows of a and b ([B·D]), mean over samples with both nonzero. */
export function meanAbsCos(a: Float32Array, b: Float32Array, batch: number): number {
  const cos = absCosPerSample(a, b, batch).filter(Number.isFinite);
  return cos.length ? cos.reduce((x, y) => x + y, 0) / cos.length : NaN;
}

/** Runs one setting on (critic, x) and scores it against the ground truth. */
export async function runSetting(
  inner: Critic,
  x: Tensor,
  gt: GroundTruth,
  s: StudySetting,
  o: {
    K: number;
    dY?: OutputDistance;
    clip?: readonly [number, number] | null;
    /** ε per sample shared by every setting of this P_ε (multiRadius draws its own radii) */
    epsValues?: Tensor;
    /** the ground truth at exactly those ε (groundTruth with sampleRadii) */
    truthAtEps?: GroundTruth;
  },
): Promise<SettingResult> {
  const { critic, counter } = countingCritic(inner);
  const B = x.shape[0];
  const D = x.size / B;
  const epsValues = s.scheme === 'multiRadius' ? undefined : o.epsValues;
  const base = {
    scheme: s.scheme,
    k: s.k,
    xi: s.xi,
    eps: s.eps,
    radii: s.radii,
    ascentSteps: s.ascentSteps,
    dY: o.dY,
    clip: o.clip,
    searchClip: o.clip,
    epsValues,
  };
  let warm: WarmStart | undefined;
  if (s.scheme === 'warm') {
    warm = new WarmStart(s.warmSource ?? 'direction');
    const steps = s.warmSteps ?? 5;
    if (warm.source === 'gradient')
      tidy(() => warm!.set(tensor(gt.grad, x.shape))); // the previous step's ∇_x f(x)
    else {
      for (let t = 0; t < steps - 1; t++) tidy(() => void schemeSearch(critic, x, { ...base, warm, evaluate: false }));
    }
    if (s.warmShuffle && warm.hasState) {
      const prev = await warm.start(x)!.toFloat32();
      const perm = new Float32Array(prev.length);
      for (let i = 0; i < B; i++) {
        const src = (i + 1) % B; // a neighbour's state: unrelated points, as in a fresh batch
        perm.set(prev.subarray(src * D, (src + 1) * D), i * D);
      }
      tidy(() => warm!.set(tensor(perm, x.shape)));
    }
  }
  counter.reset();
  const t0 = performance.now();
  const res = schemeSearch(critic, x, { ...base, warm });
  const [q, dir] = await Promise.all([res.quotient!.toFloat32(), res.direction.toFloat32()]);
  const ms = performance.now() - t0;
  const forward = counter.forwardRows / B;
  const backward = counter.backwardRows / B;
  for (const t of [res.quotient!, res.direction, res.eps, res.rAdv, res.searchGrad]) if (t && !t.disposed) t.dispose();
  warm?.dispose();

  let trueViolations = 0,
    detected = 0,
    above = 0,
    frac = 0,
    nFrac = 0,
    sumQ = 0;
  let violAtEps = 0,
    detAtEps = 0,
    fracEps = 0,
    nFracEps = 0;
  const te = o.truthAtEps;
  for (let i = 0; i < B; i++) {
    if (te) {
      if (te.quotient[i] > o.K) {
        violAtEps++;
        if (q[i] > o.K) detAtEps++;
      }
      if (te.quotient[i] > 0) {
        fracEps += q[i] / te.quotient[i];
        nFracEps++;
      }
    }
    sumQ += q[i];
    if (gt.quotient[i] > o.K) {
      trueViolations++;
      if (q[i] > o.K) detected++;
    }
    if (q[i] > gt.quotient[i] * 1.01 + 1e-6) above++;
    if (gt.quotient[i] > 0) {
      frac += q[i] / gt.quotient[i];
      nFrac++;
    }
  }
  return {
    name: s.name,
    scheme: s.scheme,
    k: s.k,
    xi: s.xi,
    eps: epsLabel(s.eps),
    forward,
    backward,
    cost: forward + backward,
    ms,
    meanQuotient: sumQ / B,
    meanFractionOfTruth: nFrac ? frac / nFrac : NaN,
    cosGrad: meanAbsCos(dir, gt.grad, B),
    cosTruth: meanAbsCos(dir, gt.direction, B),
    trueViolations,
    detected,
    detectionRate: trueViolations ? detected / trueViolations : NaN,
    aboveTruth: above,
    fractionOfTruthAtEps: nFracEps ? fracEps / nFracEps : NaN,
    cosTruthAtEps: te ? meanAbsCos(dir, te.direction, B) : NaN,
    violationsAtEps: violAtEps,
    detectedAtEps: detAtEps,
    detectionRateAtEps: violAtEps ? detAtEps / violAtEps : NaN,
    quotients: Array.from(q),
  };
}

// ---------------------------------------------------------------- the grid

export const PAPER_EPS = SEARCH_DEFAULTS.eps;
const PAPER_XI = SEARCH_DEFAULTS.xi;

/**
 * The study's settings: the paper's search over k, ξ and P_ε, then each new scheme at the cost
 * of the paper's k = 1 (4 passes: f(x), probe forward + backward, f(x̂)) and above.
 */
export function defaultSettings(quick = false): StudySetting[] {
  const ks = quick ? [0, 1, 5] : [0, 1, 2, 5, 10];
  const xis = quick ? [PAPER_XI] : [PAPER_XI, 1, 0.1];
  const epss = quick ? [PAPER_EPS] : [PAPER_EPS, uniformEps(0.1, 1)];
  const out: StudySetting[] = [];
  for (const eps of epss) {
    for (const xi of xis) {
      for (const k of ks) out.push({ name: `paper k=${k} ξ=${xi} ε~${epsLabel(eps)}`, scheme: 'paper', k, xi, eps });
    }
  }
  const e = PAPER_EPS;
  out.push(
    { name: 'warm k=1 (5 steps, same points)', scheme: 'warm', k: 1, xi: PAPER_XI, eps: e, warmSteps: 5 },
    { name: 'warm k=1 (shuffled state)', scheme: 'warm', k: 1, xi: PAPER_XI, eps: e, warmSteps: 5, warmShuffle: true },
    { name: 'warm k=0 from ∇f (prev. step)', scheme: 'warm', k: 0, xi: PAPER_XI, eps: e, warmSource: 'gradient' },
    { name: 'warm k=1 from ∇f (prev. step)', scheme: 'warm', k: 1, xi: PAPER_XI, eps: e, warmSource: 'gradient' },
    { name: 'multiRadius k=0 M=3', scheme: 'multiRadius', k: 0, xi: PAPER_XI, eps: e, radii: 3 },
    { name: 'multiRadius k=1 M=3', scheme: 'multiRadius', k: 1, xi: PAPER_XI, eps: e, radii: 3 },
    { name: 'ascent s=1', scheme: 'ascent', k: 1, xi: PAPER_XI, eps: e, ascentSteps: 1 },
    { name: 'ascent s=2', scheme: 'ascent', k: 2, xi: PAPER_XI, eps: e, ascentSteps: 2 },
  );
  if (!quick) out.push({ name: 'ascent s=5', scheme: 'ascent', k: 5, xi: PAPER_XI, eps: e, ascentSteps: 5 });
  return out;
}

// ---------------------------------------------------------------- reports

const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : String(v));

/** A markdown table of setting results (no per-sample arrays). */
export function markdownTable(rows: SettingResult[]): string {
  const head =
    '| setting | passes (fwd+bwd) | ms | mean q | q / truth | q / truth at ε | cos ∇f | cos truth | cos truth at ε | detected / true viol. | rate | at ε: detected / viol. | rate at ε |';
  const sep = '|---|---|---|---|---|---|---|---|---|---|---|---|---|';
  const body = rows.map(
    (r) =>
      `| ${r.name} | ${r.forward}+${r.backward} = ${r.cost} | ${r.ms.toFixed(1)} | ${f3(r.meanQuotient)} | ${f3(r.meanFractionOfTruth)} | ${f3(r.fractionOfTruthAtEps)} | ${f3(r.cosGrad)} | ${f3(r.cosTruth)} | ${f3(r.cosTruthAtEps)} | ${r.detected} / ${r.trueViolations} | ${f3(r.detectionRate)} | ${r.detectedAtEps} / ${r.violationsAtEps} | ${f3(r.detectionRateAtEps)} |`,
  );
  return [head, sep, ...body].join('\n');
}

/** Summary numbers of a ground truth (for the report). */
export function groundTruthSummary(gt: GroundTruth, K: number) {
  const n = gt.batch;
  const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;
  return {
    samples: n,
    meanQuotient: mean(gt.quotient),
    maxQuotient: Math.max(...gt.quotient),
    meanGradNorm: mean(gt.gradNorm),
    maxGradNorm: Math.max(...gt.gradNorm),
    violations: Array.from(gt.quotient).filter((q) => q > K).length,
    gradNormAboveK: Array.from(gt.gradNorm).filter((q) => q > K).length,
    radii: gt.radii,
    ms: gt.ms,
    passes: gt.passes,
  };
}
