// What a sweep is: a script, fixed arguments, a grid over its options, and how to run it. Comes
// from command-line flags, a JSON or YAML file, or both (flags win); the resolved spec is saved
// as <out>/sweep.json, which is itself a spec file (rerunning it resumes the sweep).
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { gridFromObject, type Grid } from './grid.js';

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
  cpusPerTask: 2, mem: '4G', time: '', gpus: 0, partition: '', maxParallel: 0, extra: [], setup: [], env: {},
};

export function defaultSpec(): Omit<SweepSpec, 'script' | 'out'> {
  return {
    args: [], grid: {}, replicate: 'seed', result: 'summary.json', outFlag: '--out', resumeFlag: '--resume',
    node: process.execPath, cwd: process.cwd(), backend: 'local', workers: 0, slurm: { ...SLURM_DEFAULTS },
  };
}

/** Reads a spec file (.json, .yaml or .yml); relative paths in it stay relative to cwd. */
export function readSpecFile(file: string): Partial<SweepSpec> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`--spec ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = /\.ya?ml$/i.test(file) ? YAML.parse(text) : JSON.parse(text);
  } catch (e) {
    throw new Error(`--spec ${file}: not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'} (${(e as Error).message.split('\n')[0]})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`--spec ${file}: expected a mapping (script, out, args, grid, ...)`);
  const obj = raw as Record<string, unknown>;
  const known = new Set([...Object.keys(defaultSpec()), 'script', 'out']);
  for (const k of Object.keys(obj)) if (!known.has(k)) throw new Error(`--spec ${file}: unknown key '${k}' (known: ${[...known].join(', ')})`);
  const spec: Partial<SweepSpec> = { ...(obj as Partial<SweepSpec>) };
  if (obj.grid !== undefined) spec.grid = gridFromObject(obj.grid, `--spec ${file}`);
  if (obj.args !== undefined) {
    if (!Array.isArray(obj.args) || !obj.args.every((a) => typeof a === 'string' || typeof a === 'number')) throw new Error(`--spec ${file}: 'args' must be a list of strings`);
    spec.args = obj.args.map(String);
  }
  if (obj.slurm !== undefined) {
    if (obj.slurm === null || typeof obj.slurm !== 'object') throw new Error(`--spec ${file}: 'slurm' must be a mapping`);
    for (const k of Object.keys(obj.slurm)) if (!(k in SLURM_DEFAULTS)) throw new Error(`--spec ${file}: unknown slurm key '${k}' (known: ${Object.keys(SLURM_DEFAULTS).join(', ')})`);
  }
  return spec;
}

/** Fills defaults under `base` (a file's spec) and `over` (flags), and checks the result. */
export function resolveSpec(base: Partial<SweepSpec>, over: Partial<SweepSpec>): SweepSpec {
  const d = defaultSpec();
  const spec = {
    ...d, ...base, ...over,
    grid: { ...(base.grid ?? {}), ...(over.grid ?? {}) },
    args: over.args?.length ? over.args : (base.args ?? []),
    slurm: { ...d.slurm, ...(base.slurm ?? {}), ...(over.slurm ?? {}) },
  } as SweepSpec;
  spec.slurm.env = { ...(base.slurm?.env ?? {}), ...(over.slurm?.env ?? {}) };
  if (!spec.script) throw new Error('sweep: no script given (e.g. sweep.ts run experiments/toy_wgan.ts ... or script: in --spec)');
  if (!spec.out) throw new Error('sweep: no output folder given (--out DIR or out: in --spec)');
  if (!fs.existsSync(path.resolve(spec.cwd, spec.script))) throw new Error(`sweep: script ${spec.script} not found (relative to ${spec.cwd})`);
  if (!BACKENDS.includes(spec.backend)) throw new Error(`--backend: expected one of ${BACKENDS.join(', ')}, got '${spec.backend}'`);
  if (!Number.isInteger(spec.workers) || spec.workers < 0) throw new Error(`--workers: expected an integer >= 0, got '${spec.workers}'`);
  for (const a of spec.args) {
    if (a === spec.outFlag || a.startsWith(`${spec.outFlag}=`)) throw new Error(`sweep: fixed arguments must not set ${spec.outFlag}: every run writes into its own folder under ${spec.out}/runs`);
  }
  if (spec.grid[spec.outFlag.replace(/^--/, '')]) throw new Error(`sweep: the grid must not set ${spec.outFlag}`);
  return spec;
}
