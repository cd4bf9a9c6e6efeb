// ALR's options in one place: what each option means, the defaults of each method (the paper's
// values; alr/README.md lists where each comes from), the named configurations, and the one
// validation every public entry point runs before it allocates anything.
import { shapeStr, Tensor } from '../engine/web.js';
import { any, bool, checkOptions, instance, type OptionSpec } from '../engine/options.js';
import { OUTPUT_DISTANCES, type OutputDistance } from './distance.js';

/** P_ε, the distribution of the perturbation size, drawn per sample. */
export type EpsDistribution =
  | { kind: 'uniform'; min: number; max: number } // the paper's choice (linear, not log)
  | { kind: 'logUniform'; min: number; max: number }
  | { kind: 'fixed'; value: number }; // VAT's single radius

export const uniformEps = (min: number, max: number): Extract<EpsDistribution, { kind: 'uniform' }> => ({
  kind: 'uniform',
  min,
  max,
});

export interface SearchOptions {
  /** ξ, the probe distance of each power-iteration step (absolute, not a finite-difference ε) */
  xi?: number;
  /** k, the number of power-iteration steps; 0 gives a random direction */
  k?: number;
  /** d_Y, the output metric */
  dY?: OutputDistance;
  /** P_ε */
  eps?: EpsDistribution;
  /** clip the probes x + ξr to [lo, hi] (null: no clipping) */
  searchClip?: readonly [number, number] | null;
  /** the starting direction r_0 (shape of x, normalised here); default U[-0.5, 0.5] */
  r0?: Tensor;
  /** ε per sample, [B]; default drawn from P_ε */
  epsValues?: Tensor;
  /**
   * Return every intermediate of the search (and of the penalty) in `trace`. Off by default;
   * when off nothing extra is computed, kept or read back.
   */
  trace?: boolean;
}

/**
 * How violations become a loss (per sample, then averaged over the batch):
 * - 'one-sided'   eq. 17, default: max(ratio - K, 0)²
 * - 'two-sided'   eq. 19: (ratio - K)²; pulls the quotient up to K as well
 * - 'abs+squared' eq. 20 (Progressive GAN code): alp + alp², alp = max(ratio - K, 0)
 * - 'linear'      semi-supervised / VAT form: max(ratio - K, 0) with K = 0 and f(x) fixed
 */
export type PenaltyForm = 'one-sided' | 'two-sided' | 'abs+squared' | 'linear';
export const PENALTY_FORMS: readonly PenaltyForm[] = ['one-sided', 'two-sided', 'abs+squared', 'linear'];

export interface PenaltyOptions extends SearchOptions {
  /** λ, the penalty weight */
  lambda?: number;
  /** K, the target Lipschitz constant (default 1; 0 for the 'linear' form) */
  K?: number;
  form?: PenaltyForm;
  /**
   * Clip x̂ = x + r_adv to [lo, hi] (WGAN on images: [-1, 1]). The search probes are clipped the
   * same way unless `searchClip` says otherwise (the semi-supervised code clips the search only).
   */
  clip?: readonly [number, number] | null;
  /** hold f(x) constant in the loss (default: true for 'linear', false otherwise: the WGAN form keeps it) */
  detachClean?: boolean;
  /** f(x) computed by the caller, with its graph (e.g. reused from the GAN loss's forward pass) */
  clean?: Tensor;
}

/** The search's defaults: ξ = 10, one power step, d_Y = |·|, ε ~ U[0.1, 10]. */
export const SEARCH_DEFAULTS = { xi: 10, k: 1, dY: 'abs' as OutputDistance, eps: uniformEps(0.1, 10) } as const;

/** The penalty's defaults (K follows the form: 0 for 'linear', else 1). */
export const PENALTY_DEFAULTS = {
  ...SEARCH_DEFAULTS,
  lambda: 1,
  form: 'one-sided' as PenaltyForm,
  clip: null,
} as const;

/** WGAN-ALP as the paper runs it on CIFAR-10: λ = 100, K = 1; pass clip: [-1, 1] for images in [-1, 1]. */
export const WGAN_ALP_DEFAULTS = { ...PENALTY_DEFAULTS, lambda: 100, K: 1 } as const satisfies PenaltyOptions;

/** Progressive GAN with ALP, eq. 20: λ = 0.1, ε ~ U[0.1, 100], alp + alp², no clipping. */
export const PROGRESSIVE_GAN_ALP = {
  ...WGAN_ALP_DEFAULTS,
  lambda: 0.1,
  eps: uniformEps(0.1, 100),
  form: 'abs+squared',
} as const satisfies PenaltyOptions;

/** Semi-supervised ALR, the paper's best: msd on logits, K = 0, f(x) fixed, ε ~ U[1, 10], search clamped only. */
export const SEMI_SUPERVISED_ALR = {
  ...PENALTY_DEFAULTS,
  lambda: 1,
  K: 0,
  eps: uniformEps(1, 10),
  dY: 'msd',
  form: 'linear',
  searchClip: [-1, 1],
} as const satisfies PenaltyOptions;

/** The VAT baseline as the ALR code runs it: KL between softmaxes, one radius ε = 8, d_X Euclidean. */
export const VAT_BASELINE = {
  ...SEMI_SUPERVISED_ALR,
  eps: { kind: 'fixed', value: 8 },
  dY: 'kl',
} as const satisfies PenaltyOptions;

/** Search options with every default filled in. */
export interface ResolvedSearch {
  xi: number;
  k: number;
  dY: OutputDistance;
  eps: EpsDistribution;
  searchClip: readonly [number, number] | null;
  r0?: Tensor;
  epsValues?: Tensor;
  trace: boolean;
}

/** Penalty options with every default filled in (the search clip resolved against `clip`). */
export interface ResolvedPenalty extends ResolvedSearch {
  lambda: number;
  K: number;
  form: PenaltyForm;
  clip: readonly [number, number] | null;
  detachClean: boolean;
  clean?: Tensor;
}

type Batch = Pick<Tensor, 'shape' | 'rank'>;

/**
 * The sane range of ξ and of every ε: outside it the probe x + ξr (or x + εr) either does not
 * move a float32 input of order 1 or moves it so far that every quotient is ~0, which switches
 * the penalty off without a word (e.g. --xi 1e38).
 */
export const PROBE_RANGE = { min: 1e-6, max: 1e6 } as const;

// the values' ranges are checked below, with messages naming the option
const SEARCH_SPEC: OptionSpec = {
  xi: any,
  k: any,
  dY: any,
  eps: any,
  searchClip: any,
  r0: instance(Tensor),
  epsValues: instance(Tensor),
  trace: bool,
};
const PENALTY_SPEC: OptionSpec = {
  ...SEARCH_SPEC,
  lambda: any,
  K: any,
  form: any,
  clip: any,
  detachClean: bool,
  clean: instance(Tensor),
};

/** Throws for a key that is not a search option (plus `extra`'s keys), naming the valid ones. */
export function checkSearchKeys(caller: string, o: object | undefined, extra: OptionSpec = {}): void {
  checkOptions(caller, o, { ...SEARCH_SPEC, ...extra });
}

/** Throws for a key that is not a penalty option (plus `extra`'s keys), naming the valid ones. */
export function checkPenaltyKeys(caller: string, o: object | undefined, extra: OptionSpec = {}): void {
  checkOptions(caller, o, { ...PENALTY_SPEC, ...extra });
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const inProbeRange = (v: unknown) => finite(v) && v >= PROBE_RANGE.min && v <= PROBE_RANGE.max;

/** Fills in the search defaults and throws a clear error, prefixed by `caller`, for a bad setting. */
export function resolveSearch(caller: string, x: Batch, o: SearchOptions): ResolvedSearch {
  if (o === undefined || o === null) o = {};
  const r: ResolvedSearch = {
    xi: o.xi ?? SEARCH_DEFAULTS.xi,
    k: o.k ?? SEARCH_DEFAULTS.k,
    dY: o.dY ?? SEARCH_DEFAULTS.dY,
    eps: o.eps ?? SEARCH_DEFAULTS.eps,
    searchClip: o.searchClip ?? null,
    r0: o.r0,
    epsValues: o.epsValues,
    trace: o.trace ?? false,
  };
  if (!Number.isInteger(r.k) || r.k < 0)
    throw new Error(`${caller}: k (power iterations) must be an integer >= 0, got ${r.k}`);
  if (r.k > 1000) throw new Error(`${caller}: k (power iterations) must be at most 1000, got ${r.k}`);
  if (!(finite(r.xi) && r.xi > 0)) throw new Error(`${caller}: xi must be a finite number > 0, got ${r.xi}`);
  if (!inProbeRange(r.xi))
    throw new Error(
      `${caller}: xi ${r.xi} is outside [${PROBE_RANGE.min}, ${PROBE_RANGE.max}]: a float32 probe x + ξr would not move or every quotient would be ~0`,
    );
  if (typeof r.trace !== 'boolean') throw new Error(`${caller}: trace must be true or false, got ${String(r.trace)}`);
  if (!OUTPUT_DISTANCES.includes(r.dY))
    throw new Error(`${caller}: unknown dY '${r.dY}'; expected one of ${OUTPUT_DISTANCES.join(', ')}`);
  checkEps(caller, r.eps);
  checkClip(caller, 'searchClip', r.searchClip);
  if (x.rank < 1 || x.shape[0] === 0)
    throw new Error(`${caller}: x must have a non-empty batch axis, got ${shapeStr(x.shape)}`);
  if (r.r0 && r.r0.shape.join() !== x.shape.join()) {
    throw new Error(`${caller}: r0 has shape ${shapeStr(r.r0.shape)}, x has ${shapeStr(x.shape)}`);
  }
  if (r.epsValues && r.epsValues.shape.join() !== String(x.shape[0])) {
    throw new Error(
      `${caller}: epsValues must have shape [${x.shape[0]}] (one per sample), got ${shapeStr(r.epsValues.shape)}`,
    );
  }
  return r;
}

/** Fills in the penalty defaults (`defaults` first, then the options) and validates everything once. */
export function resolvePenalty(
  caller: string,
  x: Batch,
  o: PenaltyOptions,
  defaults: PenaltyOptions = PENALTY_DEFAULTS,
): ResolvedPenalty {
  if (o === undefined || o === null) o = {};
  if (typeof o !== 'object' || Array.isArray(o)) throw new Error(`${caller}: options must be an object`);
  // undefined values take the defaults (as when the key is absent)
  const given = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as PenaltyOptions;
  const m: PenaltyOptions = { ...defaults, ...given };
  const form = m.form ?? PENALTY_DEFAULTS.form;
  if (!PENALTY_FORMS.includes(form))
    throw new Error(`${caller}: unknown form '${form}'; expected one of ${PENALTY_FORMS.join(', ')}`);
  const lambda = m.lambda ?? PENALTY_DEFAULTS.lambda;
  if (!(finite(lambda) && lambda >= 0))
    throw new Error(`${caller}: lambda must be a finite number >= 0, got ${lambda}`);
  const K = m.K ?? (form === 'linear' ? 0 : 1);
  if (!(finite(K) && K >= 0)) throw new Error(`${caller}: K must be a finite number >= 0, got ${K}`);
  const clip = m.clip ?? null;
  checkClip(caller, 'clip', clip);
  const search = resolveSearch(caller, x, {
    xi: m.xi,
    k: m.k,
    dY: m.dY,
    eps: m.eps,
    r0: m.r0,
    epsValues: m.epsValues,
    trace: m.trace,
    searchClip: m.searchClip === undefined ? clip : m.searchClip,
  });
  if (m.detachClean !== undefined && typeof m.detachClean !== 'boolean')
    throw new Error(`${caller}: detachClean must be true or false, got ${String(m.detachClean)}`);
  return { ...search, lambda, K, form, clip, detachClean: m.detachClean ?? form === 'linear', clean: m.clean };
}

function checkEps(caller: string, eps: EpsDistribution): void {
  if (!eps || typeof eps !== 'object')
    throw new Error(
      `${caller}: eps must be { kind: 'uniform' | 'logUniform', min, max } or { kind: 'fixed', value }, got ${JSON.stringify(eps)}`,
    );
  const range = (name: string, v: number) => {
    if (!inProbeRange(v))
      throw new Error(
        `${caller}: eps.${name} ${v} is outside [${PROBE_RANGE.min}, ${PROBE_RANGE.max}]: a float32 probe x + εr would not move or every quotient would be ~0`,
      );
  };
  if (eps.kind === 'fixed') {
    checkOptions(`${caller} (option 'eps')`, eps, { kind: any, value: any });
    if (!(finite(eps.value) && eps.value > 0)) throw new Error(`${caller}: eps.value must be > 0, got ${eps.value}`);
    range('value', eps.value);
  } else if (eps.kind === 'uniform' || eps.kind === 'logUniform') {
    checkOptions(`${caller} (option 'eps')`, eps, { kind: any, min: any, max: any });
    if (!(typeof eps.min === 'number' && eps.min > 0))
      throw new Error(`${caller}: eps.min must be > 0, got ${eps.min}`);
    if (!(finite(eps.max) && eps.min <= eps.max)) {
      throw new Error(`${caller}: eps range [${eps.min}, ${eps.max}] is empty (eps.min must be <= eps.max)`);
    }
    range('min', eps.min);
    range('max', eps.max);
  } else {
    throw new Error(
      `${caller}: unknown eps kind '${(eps as { kind: string }).kind}'; expected uniform, logUniform or fixed`,
    );
  }
}

export function checkClip(caller: string, name: string, c: readonly [number, number] | null | undefined): void {
  if (
    c !== null &&
    c !== undefined &&
    !(Array.isArray(c) && c.length === 2 && finite(c[0]) && finite(c[1]) && c[0] < c[1])
  )
    throw new Error(`${caller}: ${name} must be [lo, hi] with lo < hi, got ${JSON.stringify(c)}`);
}
