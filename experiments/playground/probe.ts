// The "probe": how good is the adversarial direction on the current critic? As in
// experiments/alr_study.ts: an expensive ground-truth search for the largest difference quotient
// per point (sup over radii, and at each point's own ε), then the paper's search at k = 0, 1, 5
// and the study's other schemes, each scored against it and costed in critic passes.
import * as E from '../../engine/web.js';
import { sampleEps, type Critic } from '../../alr/index.js';
import type { MLP } from '../../nn/web.js';
import { groundTruth, runSetting, type SettingResult, type StudySetting } from '../common/study.js';
import { toySampler } from '../common/toy_data.js';
import { epsDistribution, epsLabel, type Settings } from './settings.js';

/** Points studied (half data, half generated) and the ground truth's effort: alr_study's --quick scale, a little wider. */
export const PROBE = { points: 128, radii: [0.1, 0.3, 1, 3, 10], restarts: 3, steps: 16 };

export interface ProbeReport {
  iter: number;
  /** the settings the searches used */
  xi: number;
  eps: string;
  K: number;
  points: number;
  /** ground truth: violations (quotient > K) over radii and at each point's own ε */
  trueViolations: number;
  violationsAtEps: number;
  maxQuotient: number;
  meanGradNorm: number;
  rows: Omit<SettingResult, 'quotients'>[];
  ms: number;
}

/** The paper's k = 0, 1, 5 and every other scheme of alr_study's quick grid, with the page's ξ and P_ε. */
export function probeSettings(s: Settings): StudySetting[] {
  const eps = epsDistribution(s);
  const xi = s.xi;
  return [
    { name: 'paper k=0 (random direction)', scheme: 'paper', k: 0, xi, eps },
    { name: 'paper k=1', scheme: 'paper', k: 1, xi, eps },
    { name: 'paper k=5', scheme: 'paper', k: 5, xi, eps },
    { name: 'warm k=1 (5 steps, same points)', scheme: 'warm', k: 1, xi, eps, warmSteps: 5 },
    { name: 'warm k=1 (shuffled state)', scheme: 'warm', k: 1, xi, eps, warmSteps: 5, warmShuffle: true },
    { name: 'warm k=0 from ∇f (prev. step)', scheme: 'warm', k: 0, xi, eps, warmSource: 'gradient' },
    { name: 'warm k=1 from ∇f (prev. step)', scheme: 'warm', k: 1, xi, eps, warmSource: 'gradient' },
    { name: 'multiRadius k=0 M=3', scheme: 'multiRadius', k: 0, xi, eps, radii: 3 },
    { name: 'multiRadius k=1 M=3', scheme: 'multiRadius', k: 1, xi, eps, radii: 3 },
    { name: 'ascent s=1', scheme: 'ascent', k: 1, xi, eps, ascentSteps: 1 },
    { name: 'ascent s=2', scheme: 'ascent', k: 2, xi, eps, ascentSteps: 2 },
  ];
}

/**
 * Runs the probe on the critic and generator as they are (the caller pauses training). The
 * engine RNG is put back afterwards, so a probe does not change the training run.
 */
export async function runProbe(
  critic: Critic,
  G: MLP,
  s: Settings,
  iter: number,
  onProgress: (text: string) => void = () => {},
): Promise<ProbeReport> {
  const t0 = performance.now();
  const saved = E.getRngState();
  const n = PROBE.points / 2;
  const real = toySampler(s.dataset, s.seed + 7).sample(n);
  E.manualSeed(s.seed + 11);
  const x = E.tidy(() => E.noGrad(() => E.concat([E.tensor(real, [n, 2]), G.forward(E.randNormal([n, 2]))], 0)));
  let eps: E.Tensor | null = null;
  try {
    onProgress('ground truth: ascent over radii and restarts');
    E.manualSeed(s.seed + 13);
    const gt = await groundTruth(critic, x, { radii: PROBE.radii, restarts: PROBE.restarts, steps: PROBE.steps });
    // one ε draw shared by every setting, and the truth at exactly those radii
    E.manualSeed(s.seed + 19);
    eps = E.keep(sampleEps(epsDistribution(s), PROBE.points));
    onProgress("ground truth at each point's ε");
    const truth = await groundTruth(critic, x, {
      sampleRadii: await eps.toFloat32(),
      restarts: PROBE.restarts,
      steps: PROBE.steps,
    });
    const rows: ProbeReport['rows'] = [];
    for (const setting of probeSettings(s)) {
      onProgress(`search: ${setting.name}`);
      E.manualSeed(s.seed + 17); // every setting sees the same r0 draws
      const { quotients: _q, ...r } = await runSetting(critic, x, gt, setting, {
        K: s.K,
        epsValues: eps,
        truthAtEps: truth,
      });
      rows.push(r);
      await E.endStep(); // let the page breathe between settings
    }
    return {
      iter,
      xi: s.xi,
      eps: epsLabel(s),
      K: s.K,
      points: PROBE.points,
      trueViolations: Array.from(gt.quotient).filter((q) => q > s.K).length,
      violationsAtEps: Array.from(truth.quotient).filter((q) => q > s.K).length,
      maxQuotient: Math.max(...gt.quotient),
      meanGradNorm: gt.gradNorm.reduce((a, b) => a + b, 0) / gt.batch,
      rows,
      ms: performance.now() - t0,
    };
  } finally {
    x.dispose();
    eps?.dispose();
    E.setRngState(saved);
  }
}
