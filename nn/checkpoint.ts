// Training checkpoints in safetensors: model parameters and buffers, optimiser state per parameter
// name (Adam/AdamW moments, SGD momentum buffers), and (as metadata) the step counter, each optimiser's step and the engine RNG state.
// Portable: encodeCheckpoint gives the bytes and restoreCheckpoint takes them (a browser can keep
// them in IndexedDB or offer a download); checkpoint_file.ts saves and loads files under Node.
// Restoring checks every name, shape, dtype, value and metadata entry before touching any state.
import { assign, getRngState, setRngState, tensor, type Checkpointable, type Tensor } from '../engine/web.js';
import { decodeSafetensors, encodeSafetensors, type StTensor } from './safetensors.js';
import type { Module } from './module.js';
import { bool, checkOptions, num, type Check, type OptionSpec } from '../engine/options.js';

export const CHECKPOINT_FORMAT = 'alr-webgpu-checkpoint/1';

export interface OptimizerEntry {
  optimizer: Checkpointable;
  /** names of the optimiser's parameters in the order it was built with */
  paramNames: string[];
}

export interface CheckpointParts {
  /** one module (names unprefixed) or several keyed by a prefix ('G' → 'G.linear.weight') */
  modules: Module | Record<string, Module>;
  /**
   * Optimisers (Adam, AdamW, SGD). A bare optimiser under key K is taken to be built from
   * modules[K].parameters() (or the single module's, key ignored); pass { optimizer, paramNames }
   * otherwise. Their state is stored as optim.K.<param>.<slot> (exp_avg, exp_avg_sq, momentum_buffer).
   */
  optimizers?: Record<string, Checkpointable | OptimizerEntry>;
}

export interface SaveOptions extends CheckpointParts {
  /** training step counter (stored as metadata 'step') */
  step?: number;
  /** save the engine RNG state (default true) */
  rng?: boolean;
  /** extra string metadata */
  metadata?: Record<string, string>;
  /** write even if a tensor holds NaN or ±Inf (default false: refuse, leaving the old file as it was) */
  allowNonFinite?: boolean;
}

export interface LoadOptions extends CheckpointParts {
  /** restore the engine RNG state if the file has one (default true) */
  rng?: boolean;
  /** false: ignore tensors the given modules/optimisers do not ask for (e.g. load only the models) */
  strict?: boolean;
  /** load even if a tensor holds NaN or ±Inf (default false: refuse; a diverged run's state is rarely wanted) */
  allowNonFinite?: boolean;
}

/** Metadata keys the checkpoint itself writes; the user's `metadata` may not use them. */
const isReserved = (key: string) =>
  key === 'format' || key === 'step' || key.startsWith('rng.') || key.startsWith('optim.');

const modulesCheck: Check = (v, key, where) => {
  const ok =
    v !== null &&
    typeof v === 'object' &&
    (typeof (v as Module).stateDict === 'function' ||
      Object.values(v).every((m) => m && typeof (m as Module).stateDict === 'function'));
  if (!ok) throw new Error(`${where}: option '${key}' must be a Module or an object of Modules`);
};
const optimizersCheck: Check = (v, key, where) => {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new Error(`${where}: option '${key}' must be an object of optimisers`);
  for (const [k, o] of Object.entries(v)) {
    const entry = o as Partial<OptimizerEntry> | null;
    const opt = entry && 'optimizer' in entry ? entry.optimizer : entry;
    if (
      !opt ||
      typeof (opt as Checkpointable).checkpointState !== 'function' ||
      typeof (opt as Checkpointable).restoreState !== 'function'
    ) {
      throw new Error(`${where}: optimizers.${k} must be an optimiser (Adam, AdamW, SGD) or { optimizer, paramNames }`);
    }
    if (entry && 'optimizer' in entry)
      checkOptions(`${where} (optimizers.${k})`, entry, {
        optimizer: () => {},
        paramNames: (p, n, w) => {
          if (!Array.isArray(p) || p.some((x) => typeof x !== 'string'))
            throw new Error(`${w}: ${n} must be an array of strings`);
        },
      });
  }
};
const metadataCheck: Check = (v, key, where) => {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new Error(`${where}: option '${key}' must be an object of strings`);
  for (const [k, s] of Object.entries(v)) {
    if (typeof s !== 'string')
      throw new Error(`${where}: metadata '${k}' must be a string, got ${typeof s} (JSON.stringify it)`);
    if (isReserved(k))
      throw new Error(
        `${where}: metadata key '${k}' is reserved for the checkpoint's own entries (format, step, rng.*, optim.*)`,
      );
  }
};
const PARTS_SPEC: OptionSpec = { modules: modulesCheck, optimizers: optimizersCheck };
const SAVE_SPEC: OptionSpec = {
  ...PARTS_SPEC,
  step: num({ int: true, min: 0 }),
  rng: bool,
  metadata: metadataCheck,
  allowNonFinite: bool,
};
const LOAD_SPEC: OptionSpec = { ...PARTS_SPEC, rng: bool, strict: bool, allowNonFinite: bool };

/** Validates loadCheckpoint's options (also before a file is read). */
export function checkLoadOptions(opts: LoadOptions): void {
  checkParts('loadCheckpoint', opts, LOAD_SPEC);
}

function checkParts(where: string, opts: CheckpointParts, spec: OptionSpec): void {
  if (!opts || typeof opts !== 'object') throw new Error(`${where}: options { modules, optimizers, ... } are required`);
  checkOptions(where, opts, spec);
  if (opts.modules === undefined) throw new Error(`${where}: option 'modules' is required`);
}

/** Names the tensors holding NaN or ±Inf, with counts: '' when every value is finite. */
export function nonFiniteReport(tensors: Iterable<[string, ArrayLike<number>]>): string {
  const bad: string[] = [];
  for (const [name, data] of tensors) {
    let n = 0;
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) n++;
    if (n) bad.push(`${name} (${n} of ${data.length})`);
  }
  return bad.join(', ');
}

/** A metadata value that must be an integer in [min, max]; names the file and key otherwise. */
function metaInt(
  metadata: Record<string, string>,
  key: string,
  problems: string[],
  max = Number.MAX_SAFE_INTEGER,
): number {
  const raw = metadata[key];
  const v = Number(raw);
  if (raw === undefined || raw.trim() === '' || !Number.isInteger(v) || v < 0 || v > max) {
    problems.push(
      `metadata '${key}' must be an integer in [0, ${max}], got ${raw === undefined ? 'nothing' : JSON.stringify(raw)}`,
    );
    return 0;
  }
  return v;
}

function moduleEntries(parts: CheckpointParts): [string, Tensor][] {
  const m = parts.modules;
  if (isModule(m)) return [...m.stateDict()];
  const out: [string, Tensor][] = [];
  for (const [k, mod] of Object.entries(m)) for (const [n, t] of mod.stateDict()) out.push([`${k}.${n}`, t]);
  return out;
}

function isModule(m: Module | Record<string, Module>): m is Module {
  return typeof (m as Module).stateDict === 'function';
}

function optimizerEntries(parts: CheckpointParts): [string, OptimizerEntry][] {
  return Object.entries(parts.optimizers ?? {}).map(([k, o]) => {
    if ('optimizer' in o) return [k, o];
    const m = isModule(parts.modules) ? parts.modules : parts.modules[k];
    if (!m)
      throw new Error(
        `checkpoint: optimizer '${k}' has no module '${k}' to name its parameters; pass { optimizer, paramNames }`,
      );
    return [k, { optimizer: o, paramNames: m.namedParameters().map(([n]) => n) }];
  });
}

const slotName = (key: string, param: string, slot: string) => `optim.${key}.${param}.${slot}`;

/**
 * Modules, optimiser state, step and RNG state as safetensors bytes. Refuses non-finite values
 * unless `allowNonFinite`; `path` names the destination in errors, and `previous` (whether a
 * checkpoint is already there) what the error says was kept.
 */
export async function encodeCheckpoint(
  opts: SaveOptions,
  path = 'checkpoint',
  previous?: boolean,
): Promise<Uint8Array> {
  checkParts('saveCheckpoint', opts, SAVE_SPEC);
  const entries: [string, Tensor][] = moduleEntries(opts);
  const metadata: Record<string, string> = { format: CHECKPOINT_FORMAT, ...opts.metadata };
  if (opts.step !== undefined) metadata.step = String(opts.step);
  if (opts.rng ?? true) {
    const s = getRngState();
    metadata['rng.seed'] = String(s.seed);
    metadata['rng.counter'] = String(s.counter);
  }
  for (const [k, { optimizer, paramNames }] of optimizerEntries(opts)) {
    const st = optimizer.checkpointState();
    for (const [slot, ts] of Object.entries(st.slots)) {
      if (ts.length !== paramNames.length) {
        throw new Error(
          `saveCheckpoint: optimizer '${k}' has ${ts.length} parameters but ${paramNames.length} names were given`,
        );
      }
      paramNames.forEach((p, i) => entries.push([slotName(k, p, slot), ts[i]]));
    }
    metadata[`optim.${k}.step`] = String(st.step);
  }
  const seen = new Set<string>();
  const out: [string, StTensor][] = [];
  for (const [name, t] of entries) {
    if (seen.has(name)) throw new Error(`saveCheckpoint: duplicate tensor name '${name}'`);
    seen.add(name);
    if (t.dtype !== 'f32') throw new Error(`saveCheckpoint: '${name}' is ${t.dtype}; only f32 tensors are saved`);
    out.push([name, { dtype: 'F32', shape: [...t.shape], data: await t.toFloat32() }]);
  }
  const bad = opts.allowNonFinite ? '' : nonFiniteReport(out.map(([n, t]) => [n, t.data]));
  if (bad) {
    throw new Error(
      `saveCheckpoint: ${path}${opts.step !== undefined ? ` (step ${opts.step})` : ''}: not written, non-finite values in ${bad}; ` +
        (previous === undefined
          ? 'a previous checkpoint there, if any, is untouched'
          : previous
            ? 'the previous checkpoint is untouched'
            : 'there was no previous checkpoint'),
    );
  }
  return encodeSafetensors(out, metadata);
}

/**
 * Loads decoded checkpoint contents (decodeSafetensors, readSafetensors) into existing modules
 * and optimisers. Every missing, unexpected or mismatched (shape, dtype) tensor, non-finite value
 * and invalid metadata entry is listed in one error naming `path`, and nothing is changed in
 * that case. Returns the step counter (or null), the user's metadata (as saved with `metadata`)
 * and, apart, the checkpoint's own entries (format, step, rng.*, optim.*.step).
 */
export function restoreCheckpoint(
  contents: { tensors: Map<string, StTensor>; metadata: Record<string, string> },
  opts: LoadOptions,
  path = 'checkpoint',
): { step: number | null; metadata: Record<string, string>; internal: Record<string, string> } {
  checkParts('loadCheckpoint', opts, LOAD_SPEC);
  const { tensors, metadata } = contents;
  const want = new Map<string, readonly number[]>();
  for (const [n, t] of moduleEntries(opts)) want.set(n, t.shape);
  const optim = optimizerEntries(opts);
  for (const [k, { paramNames, optimizer }] of optim) {
    for (const [slot, ts] of Object.entries(optimizer.checkpointState().slots)) {
      paramNames.forEach((p, i) => want.set(slotName(k, p, slot), ts[i].shape));
    }
  }
  const problems: string[] = [];
  for (const [n, shape] of want) {
    const t = tensors.get(n);
    if (!t) problems.push(`missing: ${n} [${shape.join(', ')}]`);
    else if (t.dtype !== 'F32') problems.push(`dtype mismatch: ${n} expects F32, file has ${t.dtype}`);
    else if (t.shape.join() !== shape.join())
      problems.push(`shape mismatch: ${n} expects [${shape.join(', ')}], file has [${t.shape.join(', ')}]`);
  }
  if (opts.strict ?? true) {
    const unexpected = [...tensors.keys()].filter((n) => !want.has(n));
    for (const n of unexpected) problems.push(`unexpected: ${n}`);
  }
  const optimSteps = optim.map(([k]) => metaInt(metadata, `optim.${k}.step`, problems));
  const step = metadata.step !== undefined ? metaInt(metadata, 'step', problems) : null;
  const restoreRng =
    (opts.rng ?? true) && (metadata['rng.seed'] !== undefined || metadata['rng.counter'] !== undefined);
  const rng = restoreRng
    ? {
        seed: metaInt(metadata, 'rng.seed', problems, 2 ** 32 - 1),
        counter: metaInt(metadata, 'rng.counter', problems),
      }
    : null;
  if (!problems.length && !opts.allowNonFinite) {
    const bad = nonFiniteReport([...want.keys()].map((n) => [n, tensors.get(n)!.data]));
    if (bad) problems.push(`non-finite values in ${bad} (pass allowNonFinite to load them anyway)`);
  }
  if (problems.length) {
    const hint = problems.some((p) => p.startsWith('unexpected'))
      ? ' (to load only some of the file, pass strict: false)'
      : '';
    throw new Error(`loadCheckpoint: ${path}: ${problems.length} problem(s)${hint}:\n  ${problems.join('\n  ')}`);
  }

  for (const [n, t] of moduleEntries(opts)) {
    const src = tensor(tensors.get(n)!.data, t.shape);
    assign(t, src);
    src.dispose();
  }
  optim.forEach(([k, { optimizer, paramNames }], i) => {
    const slots: Record<string, Float32Array[]> = {};
    for (const slot of Object.keys(optimizer.checkpointState().slots)) {
      slots[slot] = paramNames.map((p) => tensors.get(slotName(k, p, slot))!.data as Float32Array);
    }
    optimizer.restoreState(optimSteps[i], slots);
  });
  if (rng) setRngState(rng);
  const user: Record<string, string> = {};
  const internal: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) (isReserved(k) ? internal : user)[k] = v;
  return { step, metadata: user, internal };
}

/** Loads checkpoint bytes (from encodeCheckpoint) into existing modules and optimisers. */
export function loadCheckpointBytes(
  bytes: Uint8Array,
  opts: LoadOptions,
  source = 'checkpoint',
): { step: number | null; metadata: Record<string, string>; internal: Record<string, string> } {
  checkLoadOptions(opts); // before the bytes are decoded
  return restoreCheckpoint(decodeSafetensors(bytes, source), opts, source);
}
