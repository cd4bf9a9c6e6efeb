// What a sweep is: a script, fixed arguments, a grid over its options, and how to run it. Comes
// from command-line flags, a JSON or YAML file, or both (flags win); the resolved spec is saved
// as <out>/sweep.json, which is itself a spec file (rerunning it resumes the sweep).
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { spawnSync } from 'node:child_process';
import { closestKey } from '../../engine/options.js';
import { flagName, gridFromObject, type Grid } from './grid.js';

export const BACKENDS = ['local', 'slurm'] as const;
export type Backend = (typeof BACKENDS)[number];

export interface SlurmOptions {
  /** `#SBATCH --cpus-per-task` */
  cpusPerTask: number;
  /** `#SBATCH --mem` (e.g. 4G) */
  mem: string;
  /** `#SBATCH --time` (e.g. 01:00:00); '' = the partition's default */
  time: string;
  /** GPUs per array task (`#SBATCH --gres=gpu:N`); 0 = none */
  gpus: number;
  partition: string;
  /** at most this many array tasks at once (`--array=0-N%max`); 0 = no limit */
  maxParallel: number;
  /** more `#SBATCH` lines, e.g. `--account=abc` or `--constraint=a100` */
  extra: string[];
  /** shell lines run before each task's command, e.g. `module load nodejs` */
  setup: string[];
  /** environment of each task: NAME → value, double-quoted in bash so $SLURM_* expand per task */
  env: Record<string, string>;
}

export interface SweepSpec {
  /** the experiment script, relative to cwd (e.g. experiments/toy_wgan.ts) */
  script: string;
  /** the sweep's folder: sweep.json, runs/<name>/, aggregate/, slurm/ */
  out: string;
  /** arguments every run gets, before the grid's flags */
  args: string[];
  grid: Grid;
  /** the grid key whose values are replicates (averaged over by aggregate) */
  replicate: string;
  /** the file a finished run leaves in its folder */
  result: string;
  /** the flag a run gets to write into its folder */
  outFlag: string;
  /** the flag that continues a run from its checkpoint ('' = none: reruns start over) */
  resumeFlag: string;
  /** the Node.js binary the runs use */
  node: string;
  /** where runs start (the repository root) */
  cwd: string;
  backend: Backend;
  /** local: worker processes (0 = sized to the machine) */
  workers: number;
  slurm: SlurmOptions;
}

export const SLURM_DEFAULTS: SlurmOptions = {
  cpusPerTask: 2,
  mem: '4G',
  time: '',
  gpus: 0,
  partition: '',
  maxParallel: 0,
  extra: [],
  setup: [],
  env: {},
};

export function defaultSpec(): Omit<SweepSpec, 'script' | 'out'> {
  return {
    args: [],
    grid: {},
    replicate: 'seed',
    result: 'summary.json',
    outFlag: '--out',
    resumeFlag: '--resume',
    node: process.execPath,
    cwd: process.cwd(),
    backend: 'local',
    workers: 0,
    slurm: { ...SLURM_DEFAULTS },
  };
}

/** Reads a spec file (.json, .yaml or .yml); relative paths in it stay relative to cwd. */
export function readSpecFile(file: string): Partial<SweepSpec> {
  let text: string;
  try {
    const size = fs.statSync(file).size;
    if (size > 1 << 20) throw Object.assign(new Error(`${size} bytes; a spec is at most 1 MiB`), { code: undefined });
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`--spec ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = /\.ya?ml$/i.test(file) ? YAML.parse(text) : JSON.parse(text);
  } catch (e) {
    const first = (e as Error).message.split('\n')[0];
    throw new Error(
      `--spec ${file}: not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'} (${first.length > 200 ? `${first.slice(0, 200)}...` : first})`,
    );
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new Error(`--spec ${file}: expected a mapping (script, out, args, grid, ...)`);
  const obj = raw as Record<string, unknown>;
  const known = new Set([...Object.keys(defaultSpec()), 'script', 'out']);
  for (const k of Object.keys(obj))
    if (!known.has(k)) throw new Error(`--spec ${file}: unknown key '${k}' (known: ${[...known].join(', ')})`);
  const spec: Partial<SweepSpec> = { ...(obj as Partial<SweepSpec>) };
  if (obj.grid !== undefined) spec.grid = gridFromObject(obj.grid, `--spec ${file}`);
  if (obj.args !== undefined) {
    if (!Array.isArray(obj.args) || !obj.args.every((a) => typeof a === 'string' || typeof a === 'number'))
      throw new Error(`--spec ${file}: 'args' must be a list of strings`);
    spec.args = obj.args.map(String);
  }
  if (obj.slurm !== undefined) {
    if (obj.slurm === null || typeof obj.slurm !== 'object')
      throw new Error(`--spec ${file}: 'slurm' must be a mapping`);
    for (const k of Object.keys(obj.slurm))
      if (!(k in SLURM_DEFAULTS))
        throw new Error(`--spec ${file}: unknown slurm key '${k}' (known: ${Object.keys(SLURM_DEFAULTS).join(', ')})`);
  }
  return spec;
}

const FLAG = /^--[A-Za-z][A-Za-z0-9-]*$/;

/**
 * The spec's values that reach paths or command lines: the result file must stay inside each run
 * folder (a `result` of ../../etc/hostname would mark every run finished without running it),
 * flags must be flags, and the string fields must be strings.
 */
function checkPaths(spec: SweepSpec): void {
  for (const k of ['script', 'out', 'result', 'outFlag', 'resumeFlag', 'replicate', 'node', 'cwd'] as const) {
    if (typeof spec[k] !== 'string')
      throw new Error(`sweep: '${k}' must be a string, got ${JSON.stringify(spec[k])?.slice(0, 100)}`);
    if (spec[k].includes('\0')) throw new Error(`sweep: '${k}' contains a NUL character`);
  }
  const r = spec.result;
  if (r && (path.isAbsolute(r) || r.split(/[\\/]/).some((p) => p === '..' || p === '') || r.length > 200)) {
    throw new Error(
      `sweep: result '${r.slice(0, 200)}' must be a file name inside each run folder (no '..', not absolute)`,
    );
  }
  if (!FLAG.test(spec.outFlag))
    throw new Error(`sweep: outFlag must be a flag such as --out, got '${spec.outFlag.slice(0, 100)}'`);
  if (spec.resumeFlag && !FLAG.test(spec.resumeFlag))
    throw new Error(`sweep: resumeFlag must be a flag such as --resume or '', got '${spec.resumeFlag.slice(0, 100)}'`);
  if (spec.replicate && !/^[A-Za-z][A-Za-z0-9-]*$/.test(spec.replicate))
    throw new Error(`sweep: replicate must be a grid key, got '${spec.replicate.slice(0, 100)}'`);
}

/**
 * Checks the grid's keys and the fixed arguments' flags against the script's own options (from
 * its --help) before anything is launched, so a misspelt key fails once, here, and not in every
 * run (or every task of a Slurm array). Returns a warning when the script's help could not be
 * read (the check is then skipped).
 */
export function checkScriptFlags(spec: SweepSpec): string | null {
  const r = spawnSync(spec.node, ['--import', 'tsx', spec.script, '--help'], {
    cwd: spec.cwd,
    encoding: 'utf8',
    timeout: 120_000,
  });
  const flags = new Set((r.stdout ?? '').match(/--[A-Za-z0-9][A-Za-z0-9-]*/g) ?? []);
  if (r.status !== 0 || !flags.size)
    return `sweep: could not read ${spec.script} --help (${r.error?.message ?? `exit ${r.status}`}); grid keys not checked`;
  const known = [...flags];
  const problems: string[] = [];
  const check = (flag: string, what: string) => {
    const positive = flag.replace(/^--no-/, '--');
    if (flags.has(flag) || flags.has(positive) || flags.has(`--no-${positive.slice(2)}`)) return;
    const near = closestKey(flag, known);
    problems.push(`${what} ${flag} is not an option of ${spec.script}${near ? ` (did you mean ${near}?)` : ''}`);
  };
  for (const key of Object.keys(spec.grid)) check(flagName(key), `grid key '${key}':`);
  for (const a of spec.args) if (/^--[A-Za-z]/.test(a)) check(a.split('=')[0], 'fixed argument');
  for (const f of [spec.outFlag, spec.resumeFlag]) if (f) check(f, 'flag');
  if (problems.length) throw new Error(`sweep: ${problems.join('; ')}`);
  return null;
}

/** Fills defaults under `base` (a file's spec) and `over` (flags), and checks the result. */
export function resolveSpec(base: Partial<SweepSpec>, over: Partial<SweepSpec>): SweepSpec {
  const d = defaultSpec();
  const spec = {
    ...d,
    ...base,
    ...over,
    grid: { ...(base.grid ?? {}), ...(over.grid ?? {}) },
    args: over.args?.length ? over.args : (base.args ?? []),
    slurm: { ...d.slurm, ...(base.slurm ?? {}), ...(over.slurm ?? {}) },
  } as SweepSpec;
  spec.slurm.env = { ...(base.slurm?.env ?? {}), ...(over.slurm?.env ?? {}) };
  if (!spec.script)
    throw new Error('sweep: no script given (e.g. sweep.ts run experiments/toy_wgan.ts ... or script: in --spec)');
  if (!spec.out) throw new Error('sweep: no output folder given (--out DIR or out: in --spec)');
  if (!fs.existsSync(path.resolve(spec.cwd, spec.script)))
    throw new Error(`sweep: script ${spec.script} not found (relative to ${spec.cwd})`);
  if (!BACKENDS.includes(spec.backend))
    throw new Error(`--backend: expected one of ${BACKENDS.join(', ')}, got '${spec.backend}'`);
  if (!Number.isInteger(spec.workers) || spec.workers < 0)
    throw new Error(`--workers: expected an integer >= 0, got '${spec.workers}'`);
  for (const a of spec.args) {
    if (a === spec.outFlag || a.startsWith(`${spec.outFlag}=`))
      throw new Error(
        `sweep: fixed arguments must not set ${spec.outFlag}: every run writes into its own folder under ${spec.out}/runs`,
      );
  }
  if (spec.grid[spec.outFlag.replace(/^--/, '')]) throw new Error(`sweep: the grid must not set ${spec.outFlag}`);
  checkPaths(spec);
  return spec;
}
