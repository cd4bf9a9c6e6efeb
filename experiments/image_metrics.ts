// Classifier-based sample-quality metrics for Fashion-MNIST, computed offline with a classifier
// trained by this engine (experiments/fmnist_classifier.ts):
//   cFID: the Fréchet distance between Gaussians fitted to the classifier's penultimate features
//         of real and generated images;
//   cIS:  exp(E_x KL(p(y|x) ‖ p(y))) from its softmax.
// They follow FID / Inception Score but are NOT comparable with Inception-based numbers.
// The linear algebra runs on the host in float64 (Jacobi eigen-decomposition).
import { pathToFileURL } from 'node:url';
import * as E from '../engine/index.js';
import type { ConvClassifier } from '../nn/index.js';

/** Column means and the (unbiased, n - 1) covariance of an [n, d] row-major matrix. */
export function meanCov(x: ArrayLike<number>, n: number, d: number): { mu: Float64Array; cov: Float64Array } {
  if (x.length !== n * d) throw new Error(`meanCov: ${x.length} values are not [${n}, ${d}]`);
  if (n < 2) throw new Error(`meanCov: need at least 2 samples, got ${n}`);
  const mu = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mu[j] += x[i * d + j];
  for (let j = 0; j < d; j++) mu[j] /= n;
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = x[i * d + j] - mu[j];
    for (let a = 0; a < d; a++) {
      const ra = row[a];
      for (let b = a; b < d; b++) cov[a * d + b] += ra * row[b];
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      cov[a * d + b] /= n - 1;
      cov[b * d + a] = cov[a * d + b];
    }
  }
  return { mu, cov };
}

/**
 * Eigen-decomposition of a symmetric d×d matrix by cyclic Jacobi rotations:
 * A = V diag(values) Vᵀ, V's columns the eigenvectors (row-major, V[i*d + k] = v_k[i]).
 */
export function symmetricEigen(
  a: ArrayLike<number>,
  d: number,
  maxSweeps = 100,
): { values: Float64Array; vectors: Float64Array } {
  if (a.length !== d * d) throw new Error(`symmetricEigen: ${a.length} values are not a ${d}×${d} matrix`);
  const A = Float64Array.from(a);
  const V = new Float64Array(d * d);
  for (let i = 0; i < d; i++) V[i * d + i] = 1;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    let total = 0;
    for (let p = 0; p < d; p++) {
      for (let q = 0; q < d; q++) {
        total += A[p * d + q] ** 2;
        if (p !== q) off += A[p * d + q] ** 2;
      }
    }
    if (off <= 1e-30 * Math.max(total, 1e-300)) break;
    for (let p = 0; p < d - 1; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = A[p * d + q];
        if (apq === 0) continue;
        const theta = (A[q * d + q] - A[p * d + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          // columns p, q of A
          const akp = A[k * d + p];
          const akq = A[k * d + q];
          A[k * d + p] = c * akp - s * akq;
          A[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          // rows p, q of A
          const apk = A[p * d + k];
          const aqk = A[q * d + k];
          A[p * d + k] = c * apk - s * aqk;
          A[q * d + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = V[k * d + p];
          const vkq = V[k * d + q];
          V[k * d + p] = c * vkp - s * vkq;
          V[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(d);
  for (let i = 0; i < d; i++) values[i] = A[i * d + i];
  return { values, vectors: V };
}

/** The symmetric PSD square root V diag(√max(λ, 0)) Vᵀ (tiny negative eigenvalues from rounding clipped). */
export function sqrtmPsd(a: ArrayLike<number>, d: number): Float64Array {
  const { values, vectors: V } = symmetricEigen(a, d);
  const out = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const s = Math.sqrt(Math.max(values[k], 0));
    if (s === 0) continue;
    for (let i = 0; i < d; i++) {
      const vi = V[i * d + k] * s;
      for (let j = 0; j < d; j++) out[i * d + j] += vi * V[j * d + k];
    }
  }
  return out;
}

function matmulSq(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const aik = a[i * d + k];
      if (aik === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j] += aik * b[k * d + j];
    }
  }
  return out;
}

/**
 * Fréchet distance between N(mu1, C1) and N(mu2, C2):
 * ‖mu1 - mu2‖² + tr C1 + tr C2 - 2 tr (C1^{1/2} C2 C1^{1/2})^{1/2}.
 * (C1^{1/2} C2 C1^{1/2} is symmetric PSD and has the eigenvalues of C1 C2, so its root's trace is
 * tr sqrtm(C1 C2) without a non-symmetric square root.)
 */
export function frechetDistance(
  mu1: ArrayLike<number>,
  c1: ArrayLike<number>,
  mu2: ArrayLike<number>,
  c2: ArrayLike<number>,
): number {
  const d = mu1.length;
  if (mu2.length !== d || c1.length !== d * d || c2.length !== d * d) {
    throw new Error(
      `frechetDistance: mismatched sizes: mu ${mu1.length} and ${mu2.length}, covariances ${c1.length} and ${c2.length} (expected ${d}×${d})`,
    );
  }
  let diff = 0;
  for (let i = 0; i < d; i++) diff += (mu1[i] - mu2[i]) ** 2;
  const s1 = sqrtmPsd(c1, d);
  const m = matmulSq(matmulSq(s1, Float64Array.from(c2), d), s1, d);
  for (let i = 0; i < d; i++)
    for (let j = i + 1; j < d; j++) m[i * d + j] = m[j * d + i] = (m[i * d + j] + m[j * d + i]) / 2;
  const { values } = symmetricEigen(m, d);
  let trRoot = 0;
  for (const v of values) trRoot += Math.sqrt(Math.max(v, 0));
  let tr = 0;
  for (let i = 0; i < d; i++) tr += c1[i * d + i] + c2[i * d + i];
  return Math.max(0, diff + tr - 2 * trRoot);
}

/**
 * Inception-Score analogue from softmax rows [n, k]: exp(mean_x KL(p(y|x) ‖ p(y))), computed on
 * `splits` equal parts (mean and std over parts, as the Inception Score code).
 */
export function inceptionScore(
  probs: ArrayLike<number>,
  n: number,
  k: number,
  splits = 1,
): { mean: number; std: number } {
  if (probs.length !== n * k) throw new Error(`inceptionScore: ${probs.length} values are not [${n}, ${k}]`);
  if (!(Number.isInteger(splits) && splits >= 1 && splits <= n))
    throw new Error(`inceptionScore: splits must be in 1..${n}, got ${splits}`);
  const scores: number[] = [];
  for (let s = 0; s < splits; s++) {
    const lo = Math.floor((s * n) / splits);
    const hi = Math.floor(((s + 1) * n) / splits);
    const py = new Float64Array(k);
    for (let i = lo; i < hi; i++) for (let j = 0; j < k; j++) py[j] += probs[i * k + j] / (hi - lo);
    let kl = 0;
    for (let i = lo; i < hi; i++) {
      for (let j = 0; j < k; j++) {
        const p = probs[i * k + j];
        if (p > 0) kl += p * (Math.log(p) - Math.log(py[j]));
      }
    }
    scores.push(Math.exp(kl / (hi - lo)));
  }
  const mean = scores.reduce((a, b) => a + b, 0) / splits;
  const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / splits);
  return { mean, std };
}

export interface ClassifierOutputs {
  features: Float32Array;
  probs: Float32Array;
  n: number;
  featureDim: number;
  classes: number;
}

/**
 * Runs the classifier in eval mode over `n` images produced batch by batch by `make(batch)`
 * (a [b, C, H, W] tensor the caller creates; it is disposed here), returning penultimate
 * features and softmax probabilities. One readback per batch.
 */
export async function classifierOutputs(
  clf: ConvClassifier,
  n: number,
  batch: number,
  make: (b: number, offset: number) => E.Tensor,
): Promise<ClassifierOutputs> {
  const wasTraining = clf.namedModules().map(([, m]) => m.training);
  for (const [, m] of clf.namedModules()) m.training = false;
  try {
    let features: Float32Array | null = null;
    let probs: Float32Array | null = null;
    let featureDim = 0;
    let classes = 0;
    for (let off = 0; off < n; off += batch) {
      const b = Math.min(batch, n - off);
      const { f, p } = E.tidy(() =>
        E.noGrad(() => {
          const x = make(b, off);
          const f = clf.features(x);
          return { f, p: E.softmax(clf.fc.forward(f), -1) };
        }),
      );
      const [fv, pv] = await Promise.all([f.toFloat32(), p.toFloat32()]);
      featureDim = f.shape[1];
      classes = p.shape[1];
      E.dispose([f, p]);
      features ??= new Float32Array(n * featureDim);
      probs ??= new Float32Array(n * classes);
      features.set(fv, off * featureDim);
      probs.set(pv, off * classes);
    }
    return { features: features!, probs: probs!, n, featureDim, classes };
  } finally {
    clf.namedModules().forEach(([, m], i) => (m.training = wasTraining[i]));
  }
}

/** cFID between two feature sets and cIS of the second (the generated one). */
export function classifierScores(
  real: ClassifierOutputs,
  gen: ClassifierOutputs,
  splits = 1,
): { cFID: number; cIS: number; cISstd: number } {
  const a = meanCov(real.features, real.n, real.featureDim);
  const b = meanCov(gen.features, gen.n, gen.featureDim);
  const is = inceptionScore(gen.probs, gen.n, gen.classes, splits);
  return { cFID: frechetDistance(a.mu, a.cov, b.mu, b.cov), cIS: is.mean, cISstd: is.std };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  // a module, not a run: the metrics are computed by the scripts that generate samples
  console.log(
    'image_metrics computes cFID and cIS for other scripts; it has no run of its own.\n' +
      '  npx tsx experiments/fmnist_classifier.ts --out out/classifier     train the classifier once\n' +
      '  npx tsx experiments/image_wgan.ts --classifier out/classifier     score samples while training\n' +
      '  npx tsx experiments/image_wgan.ts --eval-only --classifier out/classifier --out <run>   score a checkpoint',
  );
  process.exit(process.argv.slice(2).some((a) => a !== '--help' && a !== '-h') ? 1 : 0);
}
