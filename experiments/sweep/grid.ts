// A sweep's grid: `key=v1,v2,...` entries (integer ranges `0-4` expand), the points of their
// Cartesian product, and the command-line flags of one point.
export type Value = string | number | boolean;
/** Option name → the values it takes, in the order given (the first key varies slowest). */
export type Grid = Record<string, Value[]>;
export type Point = Record<string, Value>;

const RANGE = /^(-?\d+)-(-?\d+)$/;

/** `0-4` → 0,1,2,3,4; anything else is one value (numbers stay as written, e.g. `1e-4`). */
export function parseValues(key: string, text: string): Value[] {
  const out: Value[] = [];
  for (const part of text.split(',').map((s) => s.trim())) {
    if (!part) throw new Error(`grid '${key}': empty value in '${text}'`);
    const r = RANGE.exec(part);
    if (r) {
      const [a, b] = [Number(r[1]), Number(r[2])];
      if (b < a) throw new Error(`grid '${key}': range '${part}' ends before it starts`);
      if (b - a > 10_000) throw new Error(`grid '${key}': range '${part}' has more than 10000 values`);
      for (let v = a; v <= b; v++) out.push(v);
    } else out.push(part);
  }
  return out;
}

/** One `key=v1,v2` command-line entry. */
export function parseGridEntry(entry: string): [string, Value[]] {
  const eq = entry.indexOf('=');
  if (eq <= 0) throw new Error(`grid entry '${entry}': expected key=value[,value...] (e.g. reg=alp,gp or seed=0-4)`);
  const key = checkKey(entry.slice(0, eq));
  return [key, parseValues(key, entry.slice(eq + 1))];
}

/** A grid from a spec file: each value a list, a scalar, or a string with commas / ranges. */
export function gridFromObject(obj: unknown, where: string): Grid {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
    throw new Error(`${where}: 'grid' must be a mapping of option → values`);
  const grid: Grid = {};
  for (const [k, raw] of Object.entries(obj)) {
    const key = checkKey(k);
    const items = Array.isArray(raw) ? raw : [raw];
    grid[key] = items.flatMap((v): Value[] => {
      if (typeof v === 'string') return parseValues(key, v);
      if (typeof v === 'number' || typeof v === 'boolean') return [v];
      throw new Error(`${where}: grid '${key}': values must be strings, numbers or booleans, got ${JSON.stringify(v)}`);
    });
    if (!grid[key].length) throw new Error(`${where}: grid '${key}' has no values`);
  }
  return grid;
}

function checkKey(key: string): string {
  if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(key))
    throw new Error(`grid key '${key}': expected an option name such as reg, lambda or eps-min`);
  return key;
}

/** The Cartesian product, first key slowest, last key fastest. */
export function expandGrid(grid: Grid): Point[] {
  let points: Point[] = [{}];
  for (const [key, values] of Object.entries(grid)) {
    if (new Set(values.map(String)).size !== values.length)
      throw new Error(`grid '${key}': a value is listed twice (${values.join(',')})`);
    points = points.flatMap((p) => values.map((v) => ({ ...p, [key]: v })));
  }
  return points;
}

/** `epsMin` or `eps-min` → `--eps-min`. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** The flags of one point: `--key value`; booleans as `--key` / `--no-key`. */
export function pointArgs(point: Point): string[] {
  return Object.entries(point).flatMap(([k, v]) => {
    if (v === true || v === 'true') return [flagName(k)];
    if (v === false || v === 'false') return [`--no-${flagName(k).slice(2)}`];
    return [flagName(k), String(v)];
  });
}

/** A value as it reads in a name or a table (numbers from text compared as numbers elsewhere). */
export function valueText(v: Value): string {
  return String(v);
}

/** Numeric-looking text → number (for sorting and JSON); other values unchanged. */
export function typed(v: Value): Value {
  return typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
}
