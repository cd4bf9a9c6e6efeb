// The WGAN-GP toy distributions (gan_toy.py) and a ring, generated on the host from a seeded HostRng.
import { HostRng } from '../../engine/web.js'; // portable: the playground bundles this file

export type ToyDataset = '8gaussians' | '25gaussians' | 'swissroll' | 'ring';
export const TOY_DATASETS: ToyDataset[] = ['8gaussians', '25gaussians', 'swissroll', 'ring'];

export interface ToySampler {
  /** `batch` points as [x0, y0, x1, y1, ...] */
  sample(batch: number): Float32Array;
  /** mode centres (Gaussian mixtures only) and the per-mode std after scaling */
  modes?: { centers: [number, number][]; std: number };
  state(): { rng: number; pos: number };
  setState(s: { rng: number; pos: number }): void;
}

/** A saved sampler state, checked before it is used: garbage must not resume another data stream. */
function checkState(name: string, st: unknown, posMax: number): { rng: number; pos: number } {
  const s = st as { rng?: unknown; pos?: unknown } | null;
  const bad = (why: string) =>
    new Error(`toySampler(${name}).setState: ${why}, got ${JSON.stringify(st)?.slice(0, 200)}`);
  if (!s || typeof s !== 'object' || Array.isArray(s)) throw bad('expected { rng, pos }');
  const extra = Object.keys(s).filter((k) => k !== 'rng' && k !== 'pos');
  if (extra.length) throw bad(`unknown key(s) ${extra.join(', ')} (expected rng, pos)`);
  if (!(Number.isInteger(s.rng) && (s.rng as number) >= 0 && (s.rng as number) <= 0xffffffff))
    throw bad('rng must be an integer in [0, 2^32)');
  if (!(Number.isInteger(s.pos) && (s.pos as number) >= 0 && (s.pos as number) <= posMax))
    throw bad(`pos must be an integer in [0, ${posMax}]`);
  return s as { rng: number; pos: number };
}

export function toySampler(name: ToyDataset, seed: number): ToySampler {
  if (!TOY_DATASETS.includes(name))
    throw new Error(`toySampler: unknown data set '${String(name)}'; expected one of ${TOY_DATASETS.join(', ')}`);
  const rng = new HostRng(seed);
  if (name === '8gaussians') {
    const d = Math.SQRT1_2;
    const raw: [number, number][] = [
      [1, 0],
      [-1, 0],
      [0, 1],
      [0, -1],
      [d, d],
      [d, -d],
      [-d, d],
      [-d, -d],
    ];
    const centers = raw.map(([x, y]) => [(2 * x) / 1.414, (2 * y) / 1.414] as [number, number]);
    return {
      modes: { centers, std: 0.02 / 1.414 },
      sample(batch) {
        const out = new Float32Array(2 * batch);
        for (let i = 0; i < batch; i++) {
          const c = centers[rng.int(8)];
          out[2 * i] = c[0] + (rng.normal() * 0.02) / 1.414;
          out[2 * i + 1] = c[1] + (rng.normal() * 0.02) / 1.414;
        }
        return out;
      },
      state: () => ({ rng: rng.state(), pos: 0 }),
      setState: (st) => rng.setState(checkState(name, st, 0).rng),
    };
  }
  if (name === '25gaussians') {
    // a fixed set of 100000 points, shuffled once, then iterated in order forever
    const pts: [number, number][] = [];
    for (let r = 0; r < 4000; r++) {
      for (let x = -2; x <= 2; x++) {
        for (let y = -2; y <= 2; y++) pts.push([2 * x + rng.normal() * 0.05, 2 * y + rng.normal() * 0.05]);
      }
    }
    rng.shuffle(pts);
    const data = pts.map(([x, y]) => [x / 2.828, y / 2.828]);
    const centers: [number, number][] = [];
    for (let x = -2; x <= 2; x++) for (let y = -2; y <= 2; y++) centers.push([(2 * x) / 2.828, (2 * y) / 2.828]);
    let pos = 0;
    return {
      modes: { centers, std: 0.05 / 2.828 },
      sample(batch) {
        const out = new Float32Array(2 * batch);
        for (let i = 0; i < batch; i++) {
          if (pos >= data.length) pos = 0;
          out[2 * i] = data[pos][0];
          out[2 * i + 1] = data[pos][1];
          pos++;
        }
        return out;
      },
      state: () => ({ rng: rng.state(), pos }),
      setState: (st) => {
        const c = checkState(name, st, data.length);
        rng.setState(c.rng);
        pos = c.pos;
      },
    };
  }
  if (name === 'ring') {
    // not in gan_toy.py: a continuous circle (no modes to count), radius 1.5, radial noise std 0.05
    return {
      sample(batch) {
        const out = new Float32Array(2 * batch);
        for (let i = 0; i < batch; i++) {
          const t = 2 * Math.PI * rng.next();
          const r = 1.5 + 0.05 * rng.normal();
          out[2 * i] = r * Math.cos(t);
          out[2 * i + 1] = r * Math.sin(t);
        }
        return out;
      },
      state: () => ({ rng: rng.state(), pos: 0 }),
      setState: (st) => rng.setState(checkState(name, st, 0).rng),
    };
  }
  // swissroll: sklearn make_swiss_roll(noise=0.25), columns [0, 2], / 7.5
  return {
    sample(batch) {
      const out = new Float32Array(2 * batch);
      for (let i = 0; i < batch; i++) {
        const t = 1.5 * Math.PI * (1 + 2 * rng.next());
        out[2 * i] = (t * Math.cos(t) + 0.25 * rng.normal()) / 7.5;
        out[2 * i + 1] = (t * Math.sin(t) + 0.25 * rng.normal()) / 7.5;
      }
      return out;
    },
    state: () => ({ rng: rng.state(), pos: 0 }),
    setState: (st) => rng.setState(checkState(name, st, 0).rng),
  };
}
