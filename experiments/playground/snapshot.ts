// The data behind the live views, taken every few iterations. All GPU work is enqueued at once
// and read back asynchronously, so training goes on while the readback is in flight. The views'
// random draws use their own seed and put the training RNG back, so how often the page looks
// does not change the run.
import * as E from '../../engine/web.js';
import {
  adversarialLipschitzPenalty,
  auxiliaryPass,
  gradNormAtInterpolates,
  type MonitorRow,
} from '../../alr/index.js';
import { toySampler, type ToySampler } from '../common/toy_data.js';
import { exactW1 } from '../common/toy_metrics.js';
import type { Session } from './session.js';
import { epsDistribution, type Settings } from './settings.js';
import type { Frame } from './views/plot.js';

export const FRAME: Frame = { xMin: -3, xMax: 3, yMin: -3, yMax: 3 };
/** grid resolution of the contour and ‖∇D‖ maps: one batched forward + backward of GRID² points */
export const GRID = 64;
/** samples drawn for the picture; the first W1_POINTS of each go into the exact W1 */
const SHOWN = 512;
const W1_POINTS = 256;

export interface ViewData {
  iter: number;
  settings: Settings;
  real: Float32Array;
  fake: Float32Array;
  /** critic values and ‖∇_x D‖ on the GRID×GRID lattice over FRAME, row 0 at the top */
  field: Float32Array;
  gradNorm: Float32Array;
  /** the current batch's adversarial pairs x → x̂ and their quotients |D(x) − D(x̂)| / ‖x − x̂‖ */
  pairs: { x: Float32Array; xHat: Float32Array; ratio: Float32Array; fromTraining: boolean };
  /** mean ‖∇_x D‖ at random real/fake interpolates */
  gradNormInterp: number;
  /** exact W1 between W1_POINTS generated and data samples */
  w1: number;
  /** the per-iteration training scalars since the previous snapshot */
  rows: MonitorRow[];
}

/** The lattice points, row-major with row 0 at y = yMax. */
function gridPoints(): Float32Array {
  const pts = new Float32Array(2 * GRID * GRID);
  for (let i = 0; i < GRID; i++) {
    for (let j = 0; j < GRID; j++) {
      pts[2 * (i * GRID + j)] = FRAME.xMin + ((FRAME.xMax - FRAME.xMin) * j) / (GRID - 1);
      pts[2 * (i * GRID + j) + 1] = FRAME.yMax - ((FRAME.yMax - FRAME.yMin) * i) / (GRID - 1);
    }
  }
  return pts;
}

const LATTICE = gridPoints();

/** Per session: its own data stream for the pictures (the training stream is left alone). */
export class Snapshots {
  private readonly sampler: ToySampler;
  private count = 0;

  constructor(private readonly session: Session) {
    this.sampler = toySampler(session.settings.dataset, session.settings.seed + 1000);
  }

  /**
   * Enqueues the views' GPU work for the session's current state and returns the readback. The
   * batch is the one session.iteration(true) captured (null: the views skip the pairs).
   */
  take(): Promise<ViewData> {
    const s = this.session;
    const settings = { ...s.settings };
    const iter = s.iter;
    const batch = s.takeBatch();
    const saved = E.getRngState();
    E.manualSeed((settings.seed * 7919 + 104_729 + this.count++) >>> 0);
    const real = this.sampler.sample(SHOWN);
    let out: Record<string, E.Tensor>;
    let fromTraining = false;
    try {
      out = E.tidy(() => {
        const fake = E.noGrad(() => s.G.forward(E.randNormal([SHOWN, 2])));
        // one pass over the lattice gives both maps: D on the grid and its input gradient
        const leaf = E.requireGrad(E.tensor(LATTICE, [GRID * GRID, 2]));
        const y = auxiliaryPass(s.critic, () => s.critic.forward(leaf));
        const [g] = E.grad(E.sum(y), [leaf]);
        const gradNorm = E.noGrad(() => E.sqrt(E.sum(E.square(g), [1])));
        const r = E.tensor(real.subarray(0, 2 * W1_POINTS), [W1_POINTS, 2]);
        const gi = gradNormAtInterpolates(s.critic, r, E.slice(fake, 0, 0, W1_POINTS));
        const res: Record<string, E.Tensor> = { fake, field: E.detach(y), gradNorm, gi };
        if (batch) {
          res.x = batch.x;
          if (batch.xHat && batch.ratio) {
            fromTraining = true;
            res.xHat = batch.xHat;
            res.ratio = batch.ratio;
          } else {
            // not an ALP run: the same search, with the page's ALP settings, as a probe only
            const p = adversarialLipschitzPenalty(s.critic, batch.x, {
              lambda: 1,
              xi: settings.xi,
              k: settings.k,
              K: settings.K,
              eps: epsDistribution(settings),
            });
            res.xHat = E.detach(p.xHat);
            res.ratio = p.ratio;
          }
        }
        return res;
      });
    } finally {
      E.setRngState(saved);
    }
    const rowsP = s.flushRows();
    const names = Object.keys(out);
    return Promise.all([rowsP, ...names.map((n) => out[n].toFloat32())]).then(([rows, ...arrays]) => {
      E.dispose(out);
      if (batch) E.dispose(batch);
      const a = Object.fromEntries(names.map((n, i) => [n, arrays[i]])) as Record<string, Float32Array>;
      const empty = new Float32Array(0);
      return {
        iter,
        settings,
        real,
        fake: a.fake,
        field: a.field,
        gradNorm: a.gradNorm,
        pairs: { x: a.x ?? empty, xHat: a.xHat ?? empty, ratio: a.ratio ?? empty, fromTraining },
        gradNormInterp: a.gi[0],
        w1: finite(a.fake) ? exactW1(real.subarray(0, 2 * W1_POINTS), a.fake.subarray(0, 2 * W1_POINTS)) : NaN,
        rows,
      };
    });
  }
}

function finite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}
