// One validation mechanism for every public options object: known keys only (with the valid
// keys and a "did you mean" in the message), and each value's type and range checked. Callers
// from plain JavaScript get the same errors as TypeScript callers get type errors.

/** Checks one value; throws with a message naming `where` and `key`. */
export type Check = (value: unknown, key: string, where: string) => void;

/** The keys an options object may have, each with its check (undefined values are always allowed). */
export type OptionSpec = Readonly<Record<string, Check>>;

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v == null) return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return typeof v === 'object' ? `an object (${(v as object).constructor?.name ?? 'Object'})` : typeof v;
}

/** Edits (insert, delete, substitute, swap two neighbours) between a and b. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The known key closest to `key` (case, underscores and small typos), or undefined. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[_-]/g, '');
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = norm(k) === norm(key) ? 0 : editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) (best = k), (bestD = d);
  }
  return bestD <= Math.max(1, Math.floor(key.length / 3)) ? best : undefined;
}

/**
 * Validates an options object against `spec`: a non-object, an unknown key or a bad value throws
 * `where: ...`. Returns the object (an empty one for undefined) so a call can read from it.
 */
export function checkOptions<T extends object>(where: string, opts: T | undefined | null, spec: OptionSpec): T {
  if (opts === undefined || opts === null) return {} as T;
  if (typeof opts !== 'object' || Array.isArray(opts)) {
    throw new Error(`${where}: options must be an object, got ${describe(opts)}`);
  }
  const known = Object.keys(spec).filter((k) => !(spec[k] as { unsupported?: true }).unsupported);
  for (const key of Object.keys(opts)) {
    const check = Object.hasOwn(spec, key) ? spec[key] : undefined;
    if (!check) {
      const near = closestKey(key, Object.keys(spec)); // unsupported keys too: their message says why
      throw new Error(
        `${where}: unknown option '${key}'${near ? ` (did you mean '${near}'?)` : ''}; ` +
          (known.length ? `valid options: ${known.join(', ')}` : 'it takes no options'),
      );
    }
    const v = (opts as Record<string, unknown>)[key];
    if (v !== undefined) check(v, key, where);
  }
  return opts;
}

const fail = (where: string, key: string, v: unknown, expected: string): never => {
  throw new Error(`${where}: option '${key}' must be ${expected}, got ${describe(v)}`);
};

export interface NumRange {
  /** v >= min */
  min?: number;
  /** v <= max */
  max?: number;
  /** v > gt */
  gt?: number;
  /** v < lt */
  lt?: number;
  /** an integer */
  int?: boolean;
}

function rangeText(r: NumRange): string {
  const parts: string[] = [];
  if (r.gt !== undefined) parts.push(`> ${r.gt}`);
  if (r.min !== undefined) parts.push(`>= ${r.min}`);
  if (r.lt !== undefined) parts.push(`< ${r.lt}`);
  if (r.max !== undefined) parts.push(`<= ${r.max}`);
  return `${r.int ? 'an integer' : 'a finite number'}${parts.length ? ` ${parts.join(' and ')}` : ''}`;
}

/** True when `v` is a finite number within `r`. */
export function inRange(v: unknown, r: NumRange = {}): v is number {
  if (typeof v !== 'number' || !Number.isFinite(v)) return false;
  if (r.int && !Number.isInteger(v)) return false;
  if (r.min !== undefined && !(v >= r.min)) return false;
  if (r.max !== undefined && !(v <= r.max)) return false;
  if (r.gt !== undefined && !(v > r.gt)) return false;
  if (r.lt !== undefined && !(v < r.lt)) return false;
  return true;
}

/** A finite number (NaN and ±Infinity refused) within the range. */
export const num =
  (r: NumRange = {}): Check =>
  (v, key, where) => {
    if (!inRange(v, r)) fail(where, key, v, rangeText(r));
  };

/** Throws unless `v` is a finite number within `r`; for positional arguments. */
export function checkNumber(where: string, name: string, v: unknown, r: NumRange = {}): number {
  if (!inRange(v, r)) fail(where, name, v, rangeText(r));
  return v as number;
}

export const bool: Check = (v, key, where) => {
  if (typeof v !== 'boolean') fail(where, key, v, 'true or false');
};

export const str: Check = (v, key, where) => {
  if (typeof v !== 'string') fail(where, key, v, 'a string');
};

export const func: Check = (v, key, where) => {
  if (typeof v !== 'function') fail(where, key, v, 'a function');
};

/** One of the listed values. */
export const oneOf =
  (values: readonly unknown[]): Check =>
  (v, key, where) => {
    if (!values.includes(v)) fail(where, key, v, `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`);
  };

/** An instance of a class (e.g. Tensor). */
export const instance =
  (cls: abstract new (...a: never[]) => unknown, name = cls.name): Check =>
  (v, key, where) => {
    if (!(v instanceof cls)) fail(where, key, v, `a ${name}`);
  };

/** An array whose every element passes `each` (and of length `length` when given). */
export const arrayOf =
  (each: Check, length?: number): Check =>
  (v, key, where) => {
    if (!Array.isArray(v) || (length !== undefined && v.length !== length)) {
      fail(where, key, v, length === undefined ? 'an array' : `an array of ${length}`);
    }
    (v as unknown[]).forEach((x, i) => each(x, `${key}[${i}]`, where));
  };

/** null, or a value that passes `check`. */
export const nullable =
  (check: Check): Check =>
  (v, key, where) => {
    if (v !== null) check(v, key, where);
  };

/** Any of the checks passes (the message lists what each expects). */
export const either =
  (...checks: Check[]): Check =>
  (v, key, where) => {
    const errors: string[] = [];
    for (const c of checks) {
      try {
        c(v, key, where);
        return;
      } catch (e) {
        errors.push((e as Error).message.replace(/^.*must be (.*), got .*$/s, '$1'));
      }
    }
    fail(where, key, v, errors.join(', or '));
  };

/** A nested options object with its own spec. */
export const object =
  (spec: OptionSpec): Check =>
  (v, key, where) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, key, v, 'an object');
    checkOptions(`${where} (option '${key}')`, v as object, spec);
  };

/**
 * An option PyTorch (or a reference) has that this code does not implement: only `accepted` (its
 * default there, e.g. false) is allowed, anything else throws naming it and `why`. Left out of
 * the "valid options" list.
 */
export const unsupported = (why: string, accepted: readonly unknown[] = [false]): Check =>
  Object.assign(
    ((v, key, where) => {
      if (!accepted.includes(v))
        throw new Error(`${where}: option '${key}' is not supported (${why}), got ${describe(v)}`);
    }) as Check,
    { unsupported: true as const },
  );

/** Accepts anything: for options whose value another check already covers. */
export const any: Check = () => {};
