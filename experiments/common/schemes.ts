// EXTENSIONS beyond the paper: other ways to find the adversarial direction of ALR, selectable
// with `scheme`. Each returns a unit direction per sample, the ε it chose and (optionally) the
// difference quotient it found, and counts its critic passes (in batch units) so schemes can be
// compared at equal cost (see experiments/common/study.ts).
//
// - 'paper'        eq. 16: k power-iteration steps from a random r0 (search.ts).
// - 'warm'         k power-iteration steps from the previous step's direction (or input-gradient)
//                  per sample: "free adversarial training" applied to ALR. Over consecutive steps
//                  on the same points, k = 1 per step accumulates into a long power iteration.
// - 'multiRadius'  one search, then the quotient at M radii per sample (stratified over P_ε) in
//                  one batched forward; keeps the worst.
// - 'ascent'       projected gradient ascent on the quotient itself on the sphere of radius ε:
//                  the first step is a power step probed at ξ = ε, later ones move along the
//                  tangent gradient by an angle-like step η; keeps the best iterate.
import {
  add,
  concat,
  detach,
  div,
  exp,
  ge,
  grad,
  keep,
  maximum,
  mul,
  noGrad,
  normalizePerSample,
  randUniform,
  requireGrad,
  rsub,
  shapeStr,
  slice,
  sub,
  sum,
  tidy,
  where,
  type Tensor,
} from '../../engine/web.js';
import { auxiliaryPass, criticOutput, type Critic } from '../../alr/index.js';
import { inputDistance, NORM_FLOOR, outputDistance } from '../../alr/index.js';
import {
  adversarialDirection,
  checkPenaltyKeys,
  checkSearchKeys,
  clipTo,
  perSampleColumn,
  resolveSearch,
  sampleEps,
  SEARCH_DEFAULTS,
  type EpsDistribution,
  type SearchOptions,
  type SearchResult,
} from '../../alr/index.js';
import { adversarialLipschitzPenalty, type AlpResult, type PenaltyOptions } from '../../alr/index.js';
import { any } from '../../engine/options.js';

export type SearchScheme = 'paper' | 'warm' | 'multiRadius' | 'ascent';
export const SEARCH_SCHEMES: readonly SearchScheme[] = ['paper', 'warm', 'multiRadius', 'ascent'];

/**
 * Per-sample state of the warm start, carried across steps by the caller. `source`:
 * 'direction' reuses the last adversarial direction; 'gradient' reuses an input-gradient the
 * caller stores with update() (e.g. ∇_x of the critic loss from the previous backward: per sample
 * a multiple of ∇_x f(x), available at almost no cost). The state is per batch position: it only
 * means "per sample" when the same points come back in the same order.
 */
export class WarmStart {
  private prev: Tensor | null = null;
  constructor(readonly source: 'direction' | 'gradient' = 'direction') {}

  /** The stored start for a batch like x, or undefined (first step, or the batch shape changed). */
  start(x: Tensor): Tensor | undefined {
    return this.prev && this.prev.shape.join() === x.shape.join() ? this.prev : undefined;
  }

  get hasState(): boolean {
    return this.prev !== null;
  }

  /** Stores the new start (normalised per sample); the caller's tensors are not kept. */
  set(t: Tensor): void {
    const next = keep(tidy(() => noGrad(() => normalizePerSample(detach(t), NORM_FLOOR))));
    this.prev?.dispose();
    this.prev = next;
  }

  /** After a search: stores the direction ('direction') and/or the input-gradient ('gradient'). */
  update(direction: Tensor | null, inputGrad?: Tensor | null): void {
    if (this.source === 'direction' && direction) this.set(direction);
    if (this.source === 'gradient' && inputGrad) this.set(inputGrad);
  }

  dispose(): void {
    this.prev?.dispose();
    this.prev = null;
  }
}

export interface SchemeOptions extends SearchOptions {
  /** default 'paper' */
  scheme?: SearchScheme;
  /** 'warm': the carried state (required); the scheme updates it when source = 'direction' */
  warm?: WarmStart;
  /** 'multiRadius': how many radii per sample (default 3) */
  radii?: number;
  /** 'ascent': gradient steps (default: k, at least 1) */
  ascentSteps?: number;
  /** 'ascent': step after the first, along the unit tangent gradient (default 0.5) */
  ascentStep?: number;
  /** clip x̂ = x + ε r to [lo, hi] (d_X is then the actual distance) */
  clip?: readonly [number, number] | null;
  /** evaluate the quotient at the chosen x̂ (one forward; default true) */
  evaluate?: boolean;
}

/** The search's own options of a scheme's options (adversarialDirection refuses the others). */
function searchOnly(o: SchemeOptions): SearchOptions {
  const { xi, k, dY, eps, searchClip, r0, epsValues, trace } = o;
  return { xi, k, dY, eps, searchClip, r0, epsValues, trace };
}

/** Critic passes over the batch (a pass over M·B rows counts M). */
export interface PassCount {
  forward: number;
  backward: number;
}

export interface SchemeResult extends SearchResult {
  scheme: SearchScheme;
  /** the difference quotient at x̂ per sample, [B] (null when evaluate = false) */
  quotient: Tensor | null;
  /** passes this call made, including f(x) when it was not given and the evaluation */
  passes: PassCount;
}

function checkSchemeOptions(caller: string, x: Tensor, o: SchemeOptions): void {
  checkSearchKeys(caller, o, {
    scheme: any,
    warm: any,
    radii: any,
    ascentSteps: any,
    ascentStep: any,
    clip: any,
    evaluate: any,
    clean: any,
  });
  resolveSearch(caller, x, o);
  const scheme = o.scheme ?? 'paper';
  if (!SEARCH_SCHEMES.includes(scheme))
    throw new Error(`${caller}: unknown scheme '${scheme}'; expected one of ${SEARCH_SCHEMES.join(', ')}`);
  if (scheme === 'warm' && !o.warm) throw new Error(`${caller}: scheme 'warm' needs a WarmStart state in 'warm'`);
  if (o.radii !== undefined && !(Number.isInteger(o.radii) && o.radii >= 1))
    throw new Error(`${caller}: radii must be an integer >= 1, got ${o.radii}`);
  if (o.ascentSteps !== undefined && !(Number.isInteger(o.ascentSteps) && o.ascentSteps >= 1)) {
    throw new Error(`${caller}: ascentSteps must be an integer >= 1, got ${o.ascentSteps}`);
  }
  if (o.ascentStep !== undefined && !(o.ascentStep > 0 && Number.isFinite(o.ascentStep))) {
    throw new Error(`${caller}: ascentStep must be a finite number > 0, got ${o.ascentStep}`);
  }
}

/** d_Y(y, f(x̂)) / d_X(x, x̂) per sample with x̂ = clip(x + ε r) (auxiliary pass, no gradient). */
export function quotientAt(
  critic: Critic,
  x: Tensor,
  y: Tensor,
  r: Tensor,
  eps: Tensor,
  o: Pick<SchemeOptions, 'dY' | 'clip'> = {},
): Tensor {
  return tidy(() =>
    noGrad(() => {
      const xHat = clipTo(add(x, mul(r, perSampleColumn(eps, r))), o.clip);
      const yHat = auxiliaryPass(critic, () => criticOutput(critic, xHat, 'quotientAt'));
      return div(outputDistance(o.dY ?? SEARCH_DEFAULTS.dY, y, yHat), inputDistance(x, xHat));
    }),
  );
}

/** M ε per sample, [M·B] (radius-major): stratified over P_ε (M equal-probability bins). */
export function stratifiedEps(dist: EpsDistribution, batch: number, m: number): Tensor {
  return tidy(() =>
    noGrad(() => {
      if (dist.kind === 'fixed' || m === 1) return sampleEps(dist, batch * m);
      const parts: Tensor[] = [];
      for (let j = 0; j < m; j++) {
        const u = randUniform([batch], j / m, (j + 1) / m);
        if (dist.kind === 'uniform') parts.push(add(mul(u, dist.max - dist.min), dist.min));
        else {
          const [a, b] = [Math.log(dist.min), Math.log(dist.max)];
          parts.push(exp(add(mul(u, b - a), a)));
        }
      }
      return concat(parts, 0);
    }),
  );
}

/** The options without undefined-valued keys (so spreading them over defaults keeps the defaults). */
function definedOnly<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Repeats x M times along the batch axis, [M·B, ...]. */
export function repeatBatch(x: Tensor, m: number): Tensor {
  return m === 1 ? x : concat(Array(m).fill(x), 0);
}

/** Per sample: the index (0..M-1) and value of the largest of M candidates laid out [M·B]. */
function bestOf(q: Tensor, batch: number, m: number): { best: Tensor; masks: Tensor[] } {
  const rows = Array.from({ length: m }, (_, j) => slice(q, 0, j * batch, (j + 1) * batch));
  let best = rows[0];
  for (let j = 1; j < m; j++) best = maximum(best, rows[j]);
  // first index attaining the max: mask_j = (q_j >= best) and no earlier mask
  const masks: Tensor[] = [];
  let taken: Tensor | null = null;
  for (let j = 0; j < m; j++) {
    let mk = ge(rows[j], best);
    if (taken) mk = mul(mk, rsub(taken, 1));
    masks.push(mk);
    taken = taken ? add(taken, mk) : mk;
  }
  return { best, masks };
}

/**
 * One adversarial search with the chosen scheme. `clean` is f(x) if the caller has it (else it is
 * computed and counted). Only input gradients are taken; nothing here carries a θ-graph.
 */
export function schemeSearch(
  critic: Critic,
  x: Tensor,
  options: SchemeOptions & { clean?: Tensor } = {},
): SchemeResult {
  const caller = 'schemeSearch';
  const opts = definedOnly(options);
  checkSchemeOptions(caller, x, opts);
  const scheme = opts.scheme ?? 'paper';
  const { xi, k, dY, eps: epsDist } = { ...SEARCH_DEFAULTS, ...opts };
  const evaluate = opts.evaluate ?? true;
  const B = x.shape[0];
  const passes: PassCount = { forward: opts.clean ? 0 : 1, backward: 0 };
  return tidy(() => {
    const x0 = detach(x);
    const y = opts.clean
      ? detach(opts.clean)
      : noGrad(() => auxiliaryPass(critic, () => criticOutput(critic, x0, caller)));
    const finish = (s: SearchResult, quotient: Tensor | null): SchemeResult => {
      let q = quotient;
      if (!q && evaluate) {
        q = quotientAt(critic, x0, y, s.direction, s.eps, { dY, clip: opts.clip });
        passes.forward += 1;
      }
      return { ...s, scheme, quotient: q, passes };
    };

    if (scheme === 'paper' || scheme === 'warm') {
      const r0 = scheme === 'warm' ? (opts.warm!.start(x0) ?? opts.r0) : opts.r0;
      const s = adversarialDirection(critic, x0, { ...searchOnly(opts), clean: y, r0 });
      passes.forward += k;
      passes.backward += k;
      if (scheme === 'warm' && opts.warm!.source === 'direction') opts.warm!.update(s.direction);
      return finish(s, null);
    }

    if (scheme === 'multiRadius') {
      const m = opts.radii ?? 3;
      const s = adversarialDirection(critic, x0, { ...searchOnly(opts), clean: y });
      passes.forward += k;
      passes.backward += k;
      const epsAll = opts.epsValues ? repeatBatch(detach(opts.epsValues), m) : stratifiedEps(epsDist, B, m);
      const qAll = quotientAt(critic, repeatBatch(x0, m), repeatBatch(y, m), repeatBatch(s.direction, m), epsAll, {
        dY,
        clip: opts.clip,
      });
      passes.forward += m;
      const { best, masks } = noGrad(() => bestOf(qAll, B, m));
      const e = noGrad(() => {
        let acc: Tensor | null = null;
        masks.forEach((mk, j) => {
          const term = mul(mk, slice(epsAll, 0, j * B, (j + 1) * B));
          acc = acc ? add(acc, term) : term;
        });
        return acc!;
      });
      const rAdv = noGrad(() => mul(s.direction, perSampleColumn(e, s.direction)));
      return finish({ ...s, eps: e, rAdv }, best);
    }

    // 'ascent': maximise q(r) = d_Y(y, f(x + ε r)) / d_X on the unit sphere, keep the best iterate
    const steps = opts.ascentSteps ?? Math.max(1, k);
    const eta = opts.ascentStep ?? 0.5;
    const e = opts.epsValues ? detach(opts.epsValues) : sampleEps(epsDist, B);
    const eCol = perSampleColumn(e, x0);
    let r = noGrad(() => normalizePerSample(opts.r0 ?? randUniform(x0.shape, -0.5, 0.5), NORM_FLOOR));
    let bestQ: Tensor | null = null;
    let bestR = r;
    let lastGrad: Tensor | null = null;
    for (let step = 0; step < steps; step++) {
      const out = tidy(() => {
        const rLeaf = requireGrad(detach(r));
        const xHat = clipTo(add(x0, mul(rLeaf, eCol)), opts.clip);
        const yHat = auxiliaryPass(critic, () => criticOutput(critic, xHat, caller));
        const q = div(
          outputDistance(dY, y, yHat),
          noGrad(() => inputDistance(x0, xHat)),
        );
        const [g] = grad(sum(q), [rLeaf]);
        const qd = detach(q);
        const next = noGrad(() => {
          const gUnit = normalizePerSample(g, NORM_FLOOR);
          if (step === 0) return gUnit; // a power step probed at ξ = ε
          const radial = sum(mul(g, r), [...Array(r.rank).keys()].slice(1));
          const tangent = normalizePerSample(sub(g, mul(r, perSampleColumn(radial, r))), NORM_FLOOR);
          return normalizePerSample(add(r, mul(tangent, eta)), NORM_FLOOR);
        });
        return { qd, next, g };
      });
      passes.forward += 1;
      passes.backward += 1;
      // out.qd is the quotient at the current r (before this step's move)
      [bestQ, bestR] = noGrad(() => {
        if (!bestQ) return [out.qd, r];
        const better = ge(out.qd, bestQ);
        return [maximum(out.qd, bestQ), where(perSampleColumn(better, r), r, bestR)];
      });
      r = out.next;
      lastGrad = out.g;
    }
    // the final iterate: its quotient is the evaluation every scheme pays for
    const qLast = quotientAt(critic, x0, y, r, e, { dY, clip: opts.clip });
    passes.forward += 1;
    const better = noGrad(() => ge(qLast, bestQ!));
    const direction = noGrad(() => where(perSampleColumn(better, r), r, bestR));
    const quotient = noGrad(() => maximum(qLast, bestQ!));
    const rAdv = noGrad(() => mul(direction, eCol));
    return { direction, eps: e, rAdv, searchGrad: lastGrad, scheme, quotient, passes };
  });
}

/**
 * The adversarial Lipschitz penalty with a search scheme: the scheme picks (r, ε), then the
 * ordinary penalty (penalty.ts) is taken at x̂ = x + ε r. 'paper' is exactly
 * adversarialLipschitzPenalty. 'multiRadius' and 'ascent' evaluate their candidates in extra
 * auxiliary forwards (counted in `passes`).
 */
export function schemePenalty(
  critic: Critic,
  x: Tensor,
  options: PenaltyOptions & SchemeOptions = {},
): AlpResult & { passes: PassCount; scheme: SearchScheme } {
  const opts = definedOnly(options);
  checkPenaltyKeys('schemePenalty', opts, {
    scheme: any,
    warm: any,
    radii: any,
    ascentSteps: any,
    ascentStep: any,
    evaluate: any,
  });
  const scheme = opts.scheme ?? 'paper';
  const k = opts.k ?? SEARCH_DEFAULTS.k;
  if (scheme === 'paper') {
    const { scheme: _s, warm: _w, radii: _r, ascentSteps: _a, ascentStep: _as, evaluate: _e, ...penaltyOpts } = opts;
    const res = adversarialLipschitzPenalty(critic, x, penaltyOpts);
    return { ...res, passes: { forward: (opts.clean ? 1 : 2) + k, backward: k }, scheme };
  }
  if (x.rank < 1) throw new Error(`schemePenalty: x must have a batch axis, got ${shapeStr(x.shape)}`);
  const searchClip = opts.searchClip === undefined ? opts.clip : opts.searchClip;
  const x0 = detach(x);
  // f(x) once, shared by the search (detached) and the loss (with its θ-graph)
  const clean = opts.clean ?? auxiliaryPass(critic, () => criticOutput(critic, x0, 'schemePenalty'));
  const { lambda: _l, K: _K, form: _f, detachClean: _d, clean: _c, ...schemeOpts } = opts;
  const s = schemeSearch(critic, x0, { ...schemeOpts, searchClip, evaluate: false, clean: detach(clean) });
  const {
    scheme: _s2,
    warm: _w2,
    radii: _r2,
    ascentSteps: _a2,
    ascentStep: _as2,
    evaluate: _e2,
    ...penaltyOnly
  } = opts;
  const res = adversarialLipschitzPenalty(critic, x0, {
    ...penaltyOnly,
    clean,
    k: 0,
    r0: s.direction,
    epsValues: s.eps,
  });
  const passes = { forward: (opts.clean ? 0 : 1) + s.passes.forward + 1, backward: s.passes.backward };
  return { ...res, searchGrad: s.searchGrad, passes, scheme };
}
