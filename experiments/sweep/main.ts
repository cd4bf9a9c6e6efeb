// Sweeps: one experiment script over a grid of its options × seeds, run locally by a pool of
// worker processes or on Slurm as one array job, resumable, and aggregated into mean ± std
// tables and curves with spread bands. The pieces live in experiments/sweep/.
//
//   npx tsx experiments/sweep/main.ts run experiments/toy_wgan.ts --out out/sweeps/toy8 reg=alp,gp,lp,sn,none seed=0-4 -- --dataset 8gaussians --iters 300
//   npx tsx experiments/sweep/main.ts run --spec sweep.yaml            # the same, from a file
//   npx tsx experiments/sweep/main.ts status out/sweeps/toy8
//   npx tsx experiments/sweep/main.ts aggregate out/sweeps/toy8
import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { parseGridEntry, type Grid } from './grid.js';
import { planRuns, runState, specFile } from './layout.js';
import { defaultWorkers, runLocal, type SweepReport } from './local.js';
import { queued, readJobs, slurmReport, submitSlurm, waitSlurm } from './slurm.js';
import {
  checkScriptFlags,
  readSpecFile,
  resolveSpec,
  type Backend,
  type SlurmOptions,
  type SweepSpec,
} from './spec.js';
import { aggregate, readSweep, type AggregateOptions } from './aggregate.js';
import { runProgress } from './view.js';
import { intArg } from '../training/run.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

const SPEC_HELP = `
A sweep is a script, fixed arguments (after --, or single-valued grid entries), and a grid:
key=v1,v2 entries become --key v1 / --key v2 (integer ranges: seed=0-4; true/false: --key /
--no-key); the runs are the grid's Cartesian product, one folder each under <out>/runs/,
named after their values (reg-alp_seed-3), with the exact command in run.json and command.sh.

Spec files (--spec) are JSON or YAML with the same fields; flags override them:
  script: experiments/toy_wgan.ts
  out: out/sweeps/toy8
  args: [--dataset, 8gaussians, --iters, '300']
  grid: { reg: [alp, gp, lp, sn, none], seed: 0-4 }
  backend: local            # or slurm
  workers: 2
  slurm: { cpusPerTask: 2, mem: 4G, time: '01:00:00', gpus: 1, setup: ['module load nodejs'], env: { ALR_BACKEND: vulkan } }
<out>/sweep.json is such a file: 'sweep.ts run --spec <out>/sweep.json' resumes a sweep.

Resuming: rerunning a sweep skips finished runs (their result file, summary.json, is there),
reruns failed ones and continues interrupted ones from their checkpoints (--resume). A sweep
can be interrupted at any point (Ctrl-C, SIGTERM, SIGKILL, a lost Slurm task) without losing a
finished run.

Exit status: 0 all runs finished, 1 some failed (listed with their last stderr line), 130 interrupted.`;

function runCommand(): Command {
  return new Command('run')
    .description('run (or resume) a sweep: every grid point, locally or as a Slurm array job')
    .argument('[script]', 'the experiment script (e.g. experiments/toy_wgan.ts)')
    .argument('[grid...]', 'grid entries key=v1,v2,... (e.g. reg=alp,gp seed=0-4); fixed arguments go after --')
    .option('--spec <file>', "a JSON or YAML spec file (or a sweep folder's sweep.json)")
    .option('--out <dir>', 'the sweep folder (runs/, aggregate/, slurm/, sweep.json)')
    .option('--backend <name>', 'local (default): worker processes here | slurm: one sbatch --array job')
    .option('--workers <n>', 'local: runs at once (default: 2 on a software GPU, cores − 1 up to 8 on a GPU)', (v) =>
      intArg('--workers', v, 1),
    )
    .option('--replicate <key>', 'grid key of the replicates averaged over by aggregate (default seed)')
    .option('--result <file>', "file a finished run leaves in its folder (default summary.json; '' = exit status 0)")
    .option(
      '--resume-flag <flag>',
      "flag continuing a run from its checkpoint (default --resume; '' = rerun from scratch)",
    )
    .option('--node <path>', 'the node binary of the runs (default: this one; on a cluster maybe just node)')
    .option('--no-aggregate', 'do not aggregate when the sweep ends')
    .option('--cpus-per-task <n>', 'slurm: CPUs per array task (default 2)', (v) => intArg('--cpus-per-task', v, 1))
    .option('--mem <size>', 'slurm: memory per task (default 4G)')
    .option('--time <limit>', "slurm: time limit per task (e.g. 01:00:00; default: the partition's)")
    .option('--gpus <n>', 'slurm: GPUs per task (--gres=gpu:N; default 0)', (v) => intArg('--gpus', v, 0))
    .option('--partition <name>', 'slurm: partition')
    .option('--max-parallel <n>', 'slurm: at most n tasks at once (--array=...%n)', (v) =>
      intArg('--max-parallel', v, 1),
    )
    .option('--sbatch <line>', 'slurm: one more #SBATCH line, e.g. --sbatch=--account=abc (repeatable)', collect)
    .option(
      '--setup <line>',
      "slurm: a shell line each task runs first, e.g. 'module load nodejs' (repeatable)",
      collect,
    )
    .option('--task-env <NAME=VALUE>', 'slurm: environment of each task, bash-expanded per task (repeatable)', collect)
    .option('--adapter <name>', 'slurm: ALR_ADAPTER of each task (an adapter name substring)')
    .option('--dawn-backend <name>', 'slurm: ALR_BACKEND of each task (vulkan, metal, d3d12, ...)')
    .option('--wait', 'slurm: wait for the job (squeue), then report and aggregate', false)
    .option('--poll <s>', 'slurm: seconds between squeue polls (default 15)', (v) => intArg('--poll', v, 1), 15)
    .addHelpText('after', SPEC_HELP);
}

/** The spec from --spec, flags, positional arguments and what follows `--`. */
function specFrom(
  script: string | undefined,
  entries: string[],
  o: Record<string, unknown>,
  fixed: string[],
): SweepSpec {
  let base: Partial<SweepSpec> = {};
  if (o.spec) {
    const file = fs.statSync(o.spec as string, { throwIfNoEntry: false })?.isDirectory()
      ? specFile(o.spec as string)
      : (o.spec as string);
    base = readSpecFile(file);
  }
  const over: Partial<SweepSpec> = {};
  if (script !== undefined) {
    if (script.includes('=')) {
      entries = [script, ...entries]; // no script given: the first word is a grid entry
    } else over.script = script;
  }
  const grid: Grid = {};
  for (const e of entries) {
    const [k, v] = parseGridEntry(e);
    if (k in grid) throw new Error(`grid key '${k}' given twice`);
    grid[k] = v;
  }
  over.grid = grid;
  if (fixed.length) over.args = fixed;
  for (const k of ['out', 'backend', 'workers', 'replicate', 'result', 'node'] as const)
    if (o[k] !== undefined) (over as Record<string, unknown>)[k] = o[k];
  if (o.resumeFlag !== undefined) over.resumeFlag = o.resumeFlag as string;
  const slurm: Partial<SlurmOptions> = {};
  const map = {
    cpusPerTask: 'cpusPerTask',
    mem: 'mem',
    time: 'time',
    gpus: 'gpus',
    partition: 'partition',
    maxParallel: 'maxParallel',
    sbatch: 'extra',
    setup: 'setup',
  } as const;
  for (const [flag, key] of Object.entries(map))
    if (o[flag] !== undefined) (slurm as Record<string, unknown>)[key] = o[flag];
  const env: Record<string, string> = {};
  for (const kv of (o.taskEnv as string[] | undefined) ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`--task-env: expected NAME=VALUE, got '${kv}'`);
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  if (o.adapter) env.ALR_ADAPTER = o.adapter as string;
  if (o.dawnBackend) env.ALR_BACKEND = o.dawnBackend as string;
  if (Object.keys(env).length) slurm.env = env;
  over.slurm = slurm as SlurmOptions;
  return resolveSpec(base, over);
}

function printReport(spec: SweepSpec, r: SweepReport, backend: Backend): void {
  const fresh = r.done.length;
  console.log(
    `sweep ${spec.out} (${backend}): ${r.skipped + fresh}/${r.total} finished (${r.skipped} before, ${fresh} now), ` +
      `${r.failed.length} failed, ${r.interrupted.length} interrupted`,
  );
  for (const f of r.failed) console.log(`  failed ${f.name}: ${f.error} (log: ${f.log})`);
  if (r.failed.length || r.interrupted.length)
    console.log('  rerun the same command to retry failed runs and resume interrupted ones');
}

async function aggregateAndPrint(dir: string, o: AggregateOptions = {}): Promise<void> {
  const a = await aggregate(dir, o);
  console.log(fs.readFileSync(a.table, 'utf8'));
  console.log(
    `table: ${a.table}\njson: ${a.json}${a.curves.length ? `\ncurves: ${path.dirname(a.curves[0])}/curves_*.png (${a.curves.length})` : ''}`,
  );
}

async function run(
  script: string | undefined,
  entries: string[],
  o: Record<string, unknown>,
  fixed: string[],
): Promise<void> {
  const spec = specFrom(script, entries, o, fixed);
  const runs = planRuns(spec);
  const warning = checkScriptFlags(spec);
  if (warning) console.error(warning);
  const out = path.resolve(spec.cwd, spec.out);
  if (spec.backend === 'slurm') {
    const s = submitSlurm(spec, runs);
    if (s.job)
      console.log(
        `sweep: submitted Slurm job ${s.job.jobId}: ${s.job.runs.length} array task(s) (${s.job.script}); ${s.skipped} finished run(s) skipped, ${s.inQueue} still queued from before`,
      );
    else console.log(`sweep: nothing to submit: ${s.skipped} run(s) finished, ${s.inQueue} still queued`);
    if (!o.wait) {
      console.log(
        `sweep: 'sweep.ts status ${spec.out}' shows progress; 'sweep.ts run --spec ${specFile(spec.out)} --wait' waits and aggregates`,
      );
      return;
    }
    const r = await waitSlurm(spec, runs, o.poll as number);
    printReport(spec, { ...r, skipped: 0 }, 'slurm');
    if (r.done.length && o.aggregate !== false) await aggregateAndPrint(out);
    if (r.failed.length) process.exitCode = 1;
    return;
  }
  let workers = spec.workers;
  if (!workers) {
    const d = defaultWorkers(spec);
    workers = d.workers;
    console.error(`sweep: ${d.why} (--workers to change)`);
  }
  const r = await runLocal(spec, runs, workers);
  printReport(spec, r, 'local');
  if (r.interrupted.length) {
    process.exitCode = 130;
    return;
  }
  if (r.skipped + r.done.length && o.aggregate !== false) await aggregateAndPrint(out);
  if (r.failed.length) process.exitCode = 1;
}

function status(dir: string): void {
  const spec = readSweep(dir);
  const runs = planRuns(spec);
  let inQueue = new Map<string, string>();
  try {
    if (readJobs(spec.out).length) inQueue = queued(spec.out);
  } catch (e) {
    console.log(
      `(no queue information: ${(e as Error).message.split(':').slice(0, 2).join(':')}; states below are the run folders')`,
    );
  }
  const counts: Record<string, number> = {};
  const lines: string[] = [];
  for (const r of runs) {
    const { state, status: st } = runState(spec, r.dir);
    const shown = inQueue.get(r.name)?.toLowerCase() ?? state;
    counts[shown] = (counts[shown] ?? 0) + 1;
    if (shown === 'failed' || shown === 'interrupted') lines.push(`  ${shown} ${r.name}: ${st?.error ?? ''}`);
    if (shown === 'running') {
      const p = runProgress(r.dir);
      lines.push(
        `  running ${r.name}${st?.host ? ` on ${st.host}` : ''}${st?.job ? ` (job ${st.job})` : ''}${p ? `: ${p.step}/${p.total}` : ''}`,
      );
    }
  }
  console.log(
    `sweep ${spec.out}: ${runs.length} runs: ${Object.entries(counts)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ')}`,
  );
  for (const l of lines) console.log(l);
  if (inQueue.size)
    console.log(
      `  Slurm jobs: ${readJobs(spec.out)
        .map((j) => j.jobId)
        .join(', ')}`,
    );
  if (readJobs(spec.out).length && !inQueue.size) {
    const r = slurmReport(spec, runs, inQueue);
    if (r.failed.length || r.interrupted.length) console.log(`  resubmit: sweep.ts run --spec ${specFile(spec.out)}`);
  }
}

export function sweepCli(): Command {
  const cli = new Command('sweep')
    .description(
      'seeds × settings of an experiment script, run locally or as a Slurm job array, aggregated with error bars',
    )
    .showHelpAfterError()
    .addHelpText(
      'after',
      `
Examples:
  sweep.ts run experiments/toy_wgan.ts --out out/sweeps/toy8 reg=alp,gp,lp,sn,none seed=0-4 -- --dataset 8gaussians --iters 200
  sweep.ts run --spec sweep.yaml               (JSON or YAML: script, out, args, grid, backend, workers, slurm)
  sweep.ts run --spec out/sweeps/toy8 --backend slurm --gpus 1 --wait
  sweep.ts status out/sweeps/toy8
  sweep.ts aggregate out/sweeps/toy8 --metrics w1,modesCovered
'sweep.ts run --help' explains grids, spec files, resuming and exit statuses.`,
    )
    .addCommand(runCommand(), { isDefault: true })
    .addCommand(
      new Command('status').description('what each run of a sweep is doing').argument('<dir>', 'the sweep folder'),
    )
    .addCommand(
      new Command('aggregate')
        .description(
          'per setting: mean ± std (n) of every final metric (summary.md, aggregate.json) and curves with ±std bands',
        )
        .argument('<dir>', 'the sweep folder')
        .option(
          '--metrics <list>',
          'table and curve columns, comma-separated (default: all final metrics but bookkeeping)',
        )
        .option('--no-curves', 'no charts')
        .option(
          '--compare <key=value>',
          'Welch t-tests of every other setting against this one (e.g. reg=gp; with several varying keys, within each value of the others)',
        ),
    );
  return cli;
}

/** Runs the CLI on `argv` (process.argv); anything after the first `--` is the fixed arguments. */
export async function sweepMain(argv: string[]): Promise<void> {
  const dash = argv.indexOf('--', 2);
  const fixed = dash < 0 ? [] : argv.slice(dash + 1);
  const cli = sweepCli();
  let action: Promise<void> = Promise.resolve();
  const [runCmd, statusCmd, aggCmd] = cli.commands;
  // the actions only start the work (block bodies: commander must not hold the promise, or a
  // failure would also surface as an unhandled rejection with a stack trace); it is awaited here
  runCmd.action((script, entries, o) => {
    action = run(script, entries, o, fixed);
  });
  statusCmd.action((dir) => {
    action = (async () => status(dir))();
  });
  aggCmd.action((dir, o: { metrics?: string; curves: boolean; compare?: string }) => {
    const metrics = o.metrics
      ?.split(',')
      .map((m) => m.trim())
      .filter(Boolean);
    action = aggregateAndPrint(dir, { metrics, curves: o.curves, compare: o.compare });
  });
  try {
    cli.parse(dash < 0 ? argv : argv.slice(0, dash));
    await action;
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    console.error(msg.length > 2000 ? `${msg.slice(0, 2000)}... (${msg.length} characters)` : msg);
    process.exitCode = 1;
  }
}

await sweepMain(process.argv);
