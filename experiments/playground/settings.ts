// What the user can change, its defaults, and how much of the session a change invalidates.
import { PROBE_RANGE, WGAN_ALP_DEFAULTS, type EpsDistribution } from '../../alr/index.js';
import { closestKey } from '../../engine/options.js';
import { TOY_DATASETS, type ToyDataset } from '../common/toy_data.js';

export const REGULARISERS = ['alp', 'gp', 'lp', 'sn', 'none'] as const;
export type Regulariser = (typeof REGULARISERS)[number];
export const REG_LABELS: Record<Regulariser, string> = {
  alp: 'ALP (adversarial Lipschitz penalty)',
  gp: 'GP (gradient penalty)',
  lp: 'LP (one-sided gradient penalty)',
  sn: 'SN (spectral norm)',
  none: 'none',
};

export const EPS_KINDS = ['uniform', 'logUniform', 'fixed'] as const;
export type EpsKind = (typeof EPS_KINDS)[number];

export interface Settings {
  dataset: ToyDataset;
  reg: Regulariser;
  /** penalty weight λ (ALP, GP, LP) */
  lambda: number;
  /** ALP search: probe distance ξ, power iterations k, P_ε, target K */
  xi: number;
  k: number;
  epsKind: EpsKind;
  /** ε range; `fixed` uses epsMax */
  epsMin: number;
  epsMax: number;
  K: number;
  lr: number;
  batch: number;
  nCritic: number;
  seed: number;
  /** hidden width of both toy MLPs */
  dim: number;
  /** views are refreshed every this many iterations */
  viewEvery: number;
}

/** λ a regulariser starts with: the paper's 100 for ALP, gan_toy.py's 0.1 for GP and LP (as experiments/toy_wgan.ts). */
export function defaultLambda(reg: Regulariser): number {
  return reg === 'alp' ? WGAN_ALP_DEFAULTS.lambda : reg === 'gp' || reg === 'lp' ? 0.1 : 0;
}

// The toy_wgan defaults (paper ALP settings, gan_toy.py's Adam), at a width and batch that a
// software adapter still trains at a few iterations per second.
export const DEFAULTS: Settings = {
  dataset: '8gaussians',
  reg: 'alp',
  lambda: defaultLambda('alp'),
  xi: WGAN_ALP_DEFAULTS.xi,
  k: WGAN_ALP_DEFAULTS.k,
  epsKind: WGAN_ALP_DEFAULTS.eps.kind,
  epsMin: WGAN_ALP_DEFAULTS.eps.min,
  epsMax: WGAN_ALP_DEFAULTS.eps.max,
  K: WGAN_ALP_DEFAULTS.K,
  lr: 1e-3,
  batch: 128,
  nCritic: 5,
  seed: 0,
  dim: 64,
  viewEvery: 10,
};

export function epsDistribution(s: Pick<Settings, 'epsKind' | 'epsMin' | 'epsMax'>): EpsDistribution {
  if (s.epsKind === 'fixed') return { kind: 'fixed', value: s.epsMax };
  return { kind: s.epsKind, min: s.epsMin, max: s.epsMax };
}

export function epsLabel(s: Pick<Settings, 'epsKind' | 'epsMin' | 'epsMax'>): string {
  if (s.epsKind === 'fixed') return `ε = ${s.epsMax}`;
  return `ε ~ ${s.epsKind === 'uniform' ? 'U' : 'logU'}[${s.epsMin}, ${s.epsMax}]`;
}

/**
 * What a change needs: 'live' takes effect at the next step; 'reset' restarts training (new data
 * stream, batch shapes or seed); 'rebuild' also makes new models (SN re-parametrises the critic).
 */
export type ChangeKind = 'live' | 'reset' | 'rebuild';

export function changeKind(prev: Settings, next: Settings): ChangeKind {
  if ((prev.reg === 'sn') !== (next.reg === 'sn') || prev.dim !== next.dim) return 'rebuild';
  if (prev.dataset !== next.dataset || prev.batch !== next.batch || prev.seed !== next.seed) return 'reset';
  return 'live';
}

/** A problem with the settings in words, or null. Checked before anything is applied. */
export function invalid(s: Settings): string | null {
  const pos = (v: number) => Number.isFinite(v) && v > 0;
  const probe = (v: number) => Number.isFinite(v) && v >= PROBE_RANGE.min && v <= PROBE_RANGE.max;
  if (!(TOY_DATASETS as readonly string[]).includes(s.dataset))
    return `data set must be one of ${TOY_DATASETS.join(', ')}`;
  if (!(REGULARISERS as readonly string[]).includes(s.reg))
    return `regulariser must be one of ${REGULARISERS.join(', ')}`;
  if (!(EPS_KINDS as readonly string[]).includes(s.epsKind))
    return `ε distribution must be one of ${EPS_KINDS.join(', ')}`;
  if (pos(s.xi) && !probe(s.xi)) return `ξ must be in [${PROBE_RANGE.min}, ${PROBE_RANGE.max}]`;
  if ((s.epsKind !== 'fixed' && pos(s.epsMin) && !probe(s.epsMin)) || (pos(s.epsMax) && !probe(s.epsMax)))
    return `ε must be in [${PROBE_RANGE.min}, ${PROBE_RANGE.max}]`;
  if (!(Number.isFinite(s.lambda) && s.lambda >= 0)) return 'λ must be a number ≥ 0';
  if (!pos(s.xi)) return 'ξ must be > 0';
  if (!(Number.isInteger(s.k) && s.k >= 0 && s.k <= 20)) return 'k must be an integer from 0 to 20';
  if (s.epsKind !== 'fixed' && !(pos(s.epsMin) && pos(s.epsMax) && s.epsMin <= s.epsMax))
    return 'ε range needs 0 < min ≤ max';
  if (s.epsKind === 'fixed' && !pos(s.epsMax)) return 'ε must be > 0';
  if (!(Number.isFinite(s.K) && s.K >= 0)) return 'K must be ≥ 0';
  if (!(pos(s.lr) && s.lr <= 1)) return 'learning rate must be in (0, 1]';
  if (!(Number.isInteger(s.batch) && s.batch >= 2 && s.batch <= 4096))
    return 'batch size must be an integer from 2 to 4096';
  if (!(Number.isInteger(s.nCritic) && s.nCritic >= 1 && s.nCritic <= 50))
    return 'n_critic must be an integer from 1 to 50';
  if (!(Number.isInteger(s.seed) && s.seed >= 0)) return 'seed must be an integer ≥ 0';
  if (!(Number.isInteger(s.dim) && s.dim >= 4 && s.dim <= 1024)) return 'width must be an integer from 4 to 1024';
  if (!(Number.isInteger(s.viewEvery) && s.viewEvery >= 1)) return 'view refresh must be an integer ≥ 1';
  return null;
}

/**
 * Settings from an address's query (?reg=gp&lambda=1&dim=128 ...) over the defaults. Unknown
 * keys, non-numbers and invalid values are refused (the defaults are used) and reported in
 * `problems`, so an address never trains something other than what it says.
 */
export function settingsFromQuery(search: string): { settings: Settings; problems: string[] } {
  const q = new URLSearchParams(search);
  const s: Settings = { ...DEFAULTS };
  const problems: string[] = [];
  const known = Object.keys(DEFAULTS) as (keyof Settings)[];
  const pageKeys = new Set(['tune']); // read elsewhere (gpu.ts)
  for (const [key, v] of q) {
    if (pageKeys.has(key)) continue;
    if (!(known as string[]).includes(key)) {
      const near = closestKey(key, known);
      problems.push(`unknown setting '${key}'${near ? ` (did you mean '${near}'?)` : ''}`);
      continue;
    }
    const k = key as keyof Settings;
    if (typeof DEFAULTS[k] === 'number') {
      const n = Number(v);
      if (v.trim() === '' || !Number.isFinite(n)) {
        problems.push(`${key}=${v.slice(0, 40)} is not a number`);
        continue;
      }
      (s as unknown as Record<string, unknown>)[k] = n;
    } else (s as unknown as Record<string, unknown>)[k] = v;
  }
  if (q.has('reg') && !q.has('lambda') && (REGULARISERS as readonly string[]).includes(s.reg))
    s.lambda = defaultLambda(s.reg);
  const problem = invalid(s);
  if (problem) return { settings: { ...DEFAULTS }, problems: [...problems, `${problem}; using the defaults`] };
  return { settings: s, problems };
}
