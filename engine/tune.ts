// Kernel variant selection per adapter and shape class.
//
// Ops with several kernels (matmul, conv) call pick(). The first time a shape class is seen on an
// adapter with timestamp queries, every candidate variant is dispatched (they compute the same
// result, in the same summation order, so the output is identical whichever runs last) and timed
// on the GPU; when the times arrive the winner (the heuristic's choice unless another is clearly
// faster) is cached in memory and in a JSON file. Until then, and on adapters without timestamps,
// a heuristic decides: register-blocked kernels on CPU adapters (lavapipe, SwiftShader),
// workgroup-tiled kernels on real GPUs. On CPU adapters the candidates are the CPU kernels only:
// the workgroup-tiled ones pay a barrier per K step there and never won a shape class on lavapipe
// (117 classes of the tests, bench and experiments), while timing them cost a new step's first
// call seconds of compilation and slow runs. Forcing one (ALR_VARIANT) still works everywhere.
//
// Environment: ALR_VARIANT=<name> forces a variant for every op that has it;
// ALR_VARIANT_<OP>=<name> (e.g. ALR_VARIANT_MATMUL=tiled) forces one op.
// ALR_TUNE_CACHE=<file> moves the cache; ALR_TUNE=0 disables measuring.
import { config } from './config.js';
import { adapterName, deviceInfo, onDeviceRelease } from './device.js';
import { platform, type TuneCache } from './platform.js';
import { timestampsSupported } from './runtime.js';
import { capturing } from './capture.js';

// Timings on a software adapter share the cores with everything else on the machine (a second
// sweep worker, a test run): one taken while another process ran is inflated at random, and a
// wrong choice persists in the cache for every later run. So each variant keeps its fastest of
// three interleaved runs, and another variant replaces the heuristic's choice (the one measured
// best on this class of adapter) only when it is clearly faster.
const REPS = 3;
const MARGIN = 1.15;

/** Where measured choices persist: a file under Node, localStorage in a browser. */
export function cachePath(): string {
  return platform().tuneCache.describe();
}

let cache: TuneCache | null = null;
let cacheFrom = '';
const measuring = new Set<string>();
/** measurements started whose timings have not all arrived */
let pending = 0;
onDeviceRelease(() => {
  measuring.clear();
  pending = 0;
});

/** True while a shape class's variants are being timed (their timings arrive after a submit). */
export function tuningPending(): boolean {
  return pending > 0;
}

function load(): TuneCache {
  if (cache && cacheFrom === cachePath()) return cache;
  cacheFrom = cachePath();
  cache = platform().tuneCache.load();
  return cache;
}

function save(): void {
  platform().tuneCache.save(cache ?? {});
}

/** True on software adapters, where barrier-free register-blocked kernels win. */
export function isCpuAdapter(): boolean {
  const i = deviceInfo();
  const s = `${i.vendor} ${i.architecture} ${i.device} ${i.description}`.toLowerCase();
  return /llvmpipe|lavapipe|swiftshader|software|cpu/.test(s);
}

export function forcedVariant(op: string, variants: readonly string[]): string | null {
  const v = config.variantFor(op) ?? config.variant();
  if (!v) return null;
  if (!variants.includes(v)) {
    if (config.variantFor(op)) {
      throw new Error(`${op}: ALR_VARIANT_${op.toUpperCase()}=${v} is not one of ${variants.join(', ')}`);
    }
    return null; // a global choice this op does not have
  }
  return v;
}

/** A measured choice only holds among the variants it was measured against. */
const cacheKey = (op: string, classKey: string, names: readonly string[]) => `${op}[${names.join(',')}]:${classKey}`;

/** The variant a shape class currently uses (forced, measured, or the heuristic's). */
export function chosenVariant(op: string, classKey: string, variants: readonly string[], fallback: string): string {
  return forcedVariant(op, variants) ?? load()[adapterName()]?.[cacheKey(op, classKey, variants)] ?? fallback;
}

/**
 * Dispatches `op` with the best variant for this shape class. `launch(variant, onTime)` must
 * dispatch one complete computation of the op's output with that variant.
 */
export function pick(
  op: string,
  classKey: string,
  variants: readonly { name: string; cpu: boolean }[],
  launch: (variant: string, onTime?: (ns: number) => void) => void,
): string {
  const cpu = isCpuAdapter();
  const candidates = cpu && variants.some((v) => v.cpu) ? variants.filter((v) => v.cpu) : variants;
  const names = candidates.map((v) => v.name);
  const heuristic = (candidates.find((v) => v.cpu === cpu) ?? candidates[0]).name;
  const key = cacheKey(op, classKey, names);
  const adapter = adapterName();
  const every = variants.map((v) => v.name);
  const known = forcedVariant(op, every) ?? load()[adapter]?.[key];
  // a step being captured runs one variant: a replay must not time them all again
  if (known || !config.tune() || !timestampsSupported() || measuring.has(key) || names.length === 1 || capturing()) {
    const v = known ?? heuristic;
    launch(v);
    return v;
  }
  measuring.add(key);
  pending++;
  const times = new Map<string, number>();
  let reported = 0;
  const order = [...names.filter((n) => n !== heuristic), heuristic]; // the heuristic's result lands last
  for (let rep = 0; rep < REPS; rep++) {
    for (const name of order) {
      launch(name, (ns) => {
        times.set(name, Math.min(times.get(name) ?? Infinity, ns));
        if (++reported === REPS * names.length) {
          pending--;
          const [fastest, t] = [...times.entries()].sort((a, b) => a[1] - b[1])[0];
          const best = t * MARGIN < (times.get(heuristic) ?? Infinity) ? fastest : heuristic;
          const c = load();
          (c[adapter] ??= {})[key] = best;
          save();
        }
      });
    }
  }
  return heuristic;
}
