// The Slurm backend: every unfinished run becomes one task of one `sbatch --array` job.
//
//   <out>/slurm/array-<k>.sh      the job script of submission k (resources per task, adapter)
//   <out>/slurm/array-<k>.tasks   task i runs the run folder on line i + 1
//   <out>/slurm/jobs.json         every submission: job id, script, its runs in task order
//   <out>/slurm/<job>_<task>.out  Slurm's log of each task (which node, GPU and adapter)
//
// A task runs task.ts, which records the run in its folder like the local backend does, so
// `sweep.ts status` and `aggregate` read both backends' sweeps the same way. Status comes from
// squeue while tasks are queued or running, and from sacct (or scontrol where accounting is off)
// for how tasks that left the queue without a status ended. Resubmitting skips finished runs and
// runs still in the queue, and resubmits failed and lost ones (which resume from checkpoints).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { recordRuns, runState, saveSpec, shellQuote, writeStatus, type Run } from './layout.js';
import type { SweepReport } from './local.js';
import type { SweepSpec } from './spec.js';
import { SweepView } from './view.js';
import { writeJson } from '../training/run.js';
import { writeFileSafe } from '../training/files.js';

export interface SlurmJob {
  jobId: string;
  script: string;
  /** run names in task order */
  runs: string[];
  submitted: string;
}

const slurmDir = (out: string) => path.join(out, 'slurm');
const jobsFile = (out: string) => path.join(slurmDir(out), 'jobs.json');
const TASK_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'task.ts');

/** Runs a Slurm client command; a missing one is an error that says how to sweep without Slurm. */
function slurmCommand(cmd: string, args: string[], allowFail = false): { ok: boolean; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(
      `sweep: '${cmd}' not found: the slurm backend needs Slurm's client commands (sbatch, squeue) on PATH, i.e. a cluster's ` +
        'login node; to run the sweep on this machine, use --backend local (the default)',
    );
  }
  const ok = !r.error && r.status === 0;
  if (!ok && !allowFail)
    throw new Error(`sweep: ${cmd} ${args.join(' ')} failed: ${(r.stderr || r.error?.message || '').trim()}`);
  return { ok, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export function readJobs(out: string): SlurmJob[] {
  try {
    return JSON.parse(fs.readFileSync(jobsFile(out), 'utf8')) as SlurmJob[];
  } catch {
    return [];
  }
}

/** The job script for `runs` (one array task each). */
export function arrayScript(spec: SweepSpec, runs: Run[], tasksFile: string): string {
  const out = path.resolve(spec.cwd, spec.out);
  const s = spec.slurm;
  const q = shellQuote;
  const lines = [
    '#!/bin/bash',
    `# Sweep ${out}: ${runs.length} run(s) of ${spec.script}, one array task per run (written by experiments/sweep/main.ts).`,
    `# Task i runs the folder on line i+1 of ${path.basename(tasksFile)}; each run's exact command is <run>/command.sh.`,
    `#SBATCH --job-name=sweep-${path.basename(out).replace(/[^A-Za-z0-9._-]/g, '_')}`,
    `#SBATCH --array=0-${runs.length - 1}${s.maxParallel > 0 ? `%${s.maxParallel}` : ''}`,
    `#SBATCH --output=${out}/slurm/%A_%a.out`,
    '#SBATCH --ntasks=1',
    `#SBATCH --cpus-per-task=${s.cpusPerTask}`,
    `#SBATCH --mem=${s.mem}`,
    ...(s.time ? [`#SBATCH --time=${s.time}`] : []),
    ...(s.partition ? [`#SBATCH --partition=${s.partition}`] : []),
    // one GPU (or N) per task; with ConstrainDevices=yes in cgroup.conf the task sees only those
    ...(s.gpus > 0 ? [`#SBATCH --gres=gpu:${s.gpus}`] : []),
    ...s.extra.map((e) => `#SBATCH ${e}`),
    'set -eu',
    `RUN="$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" ${q(tasksFile)})"`,
    ...s.setup,
    '# The adapter of this task. With --gres=gpu:N and device cgroups (ConstrainDevices=yes), the GPU',
    "# Slurm gave this task is the only one its Vulkan driver sees, so Dawn's default adapter is it.",
    '# ALR_ADAPTER (a name substring) / ALR_BACKEND, set per task below, choose among others; values',
    '# are double-quoted, so $SLURM_* and $CUDA_VISIBLE_DEVICES expand for each task.',
    ...Object.entries(s.env).map(([k, v]) => `export ${k}="${v.replace(/["\\`]/g, '\\$&')}"`),
    'echo "task ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} on $(hostname): $RUN; GPUs ${SLURM_JOB_GPUS:-none}, CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-unset}, ALR_BACKEND=${ALR_BACKEND:-default}, ALR_ADAPTER=${ALR_ADAPTER:-default}"',
    `cd ${q(spec.cwd)}`,
    `exec ${q(spec.node)} --import tsx ${q(TASK_SCRIPT)} "$RUN" "\${SLURM_ARRAY_JOB_ID}_\${SLURM_ARRAY_TASK_ID}"`,
    '',
  ];
  return lines.join('\n');
}

/** Our tasks in the queue: run name → Slurm state (PENDING, RUNNING, ...). */
export function queued(out: string): Map<string, string> {
  const jobs = readJobs(out);
  const result = new Map<string, string>();
  if (!jobs.length) return result;
  const r = slurmCommand('squeue', ['-h', '-r', '-u', os.userInfo().username, '-o', '%i|%T'], true);
  if (!r.ok) throw new Error(`sweep: squeue failed: ${r.stderr.trim()}`);
  const byJob = new Map(jobs.map((j) => [j.jobId, j]));
  for (const line of r.stdout.split('\n')) {
    const [id, state] = line.trim().split('|');
    const m = /^(\d+)_(\d+)$/.exec(id ?? '');
    const job = m && byJob.get(m[1]);
    if (job) result.set(job.runs[Number(m[2])], state);
  }
  return result;
}

/** How tasks that left the queue ended (sacct; scontrol while slurmctld remembers them). */
function endedStates(job: SlurmJob): Map<number, string> {
  const states = new Map<number, string>();
  const acct = slurmCommand('sacct', ['-n', '-P', '-X', '-j', job.jobId, '-o', 'JobID,State,ExitCode'], true);
  if (acct.ok) {
    for (const line of acct.stdout.split('\n')) {
      const [id, state, exit] = line.split('|');
      const m = /^\d+_(\d+)$/.exec(id ?? '');
      if (m) states.set(Number(m[1]), `${state} (exit ${exit})`);
    }
    return states;
  }
  const ctl = slurmCommand('scontrol', ['-o', 'show', 'job', job.jobId], true); // accounting storage off
  for (const line of ctl.stdout.split('\n')) {
    const task = /ArrayTaskId=(\d+)/.exec(line)?.[1];
    const state = /JobState=(\S+)/.exec(line)?.[1];
    if (task && state) states.set(Number(task), `${state} (exit ${/ExitCode=(\S+)/.exec(line)?.[1] ?? '?'})`);
  }
  return states;
}

/** Runs that are not finished, not failed and not in the queue but say 'running' or nothing: lost. */
function reconcile(spec: SweepSpec, runs: Run[], inQueue: Map<string, string>): void {
  const out = path.resolve(spec.cwd, spec.out);
  const jobs = readJobs(out);
  for (const r of runs) {
    const { state, status } = runState(spec, r.dir);
    if (inQueue.has(r.name) || (state !== 'running' && state !== 'pending')) continue;
    const job = [...jobs].reverse().find((j) => j.runs.includes(r.name));
    if (!job) continue; // never submitted
    const how = endedStates(job).get(job.runs.indexOf(r.name)) ?? 'left the queue';
    writeStatus(r.dir, {
      state: 'interrupted',
      backend: 'slurm',
      attempt: status?.attempt ?? 0,
      started: status?.started ?? '',
      host: status?.host ?? '',
      job: `${job.jobId}_${job.runs.indexOf(r.name)}`,
      ended: new Date().toISOString(),
      error: `the task ended without a status: ${how}`,
    });
  }
}

export interface SubmitResult {
  job: SlurmJob | null;
  skipped: number;
  inQueue: number;
}

/** Submits one array job for every run that is neither finished nor in the queue. */
export function submitSlurm(spec: SweepSpec, runs: Run[]): SubmitResult {
  slurmCommand('sbatch', ['--version']); // a clear error before anything is written
  const out = path.resolve(spec.cwd, spec.out);
  recordRuns(spec, runs); // first: a conflicting command is an error before sweep.json changes
  saveSpec(spec);
  const inQueue = queued(out);
  reconcile(spec, runs, inQueue);
  const todo = runs.filter((r) => !inQueue.has(r.name) && runState(spec, r.dir).state !== 'done');
  const skipped = runs.filter((r) => runState(spec, r.dir).state === 'done').length;
  if (!todo.length) return { job: null, skipped, inQueue: inQueue.size };
  fs.mkdirSync(slurmDir(out), { recursive: true });
  const jobs = readJobs(out);
  const k = jobs.length;
  const tasksFile = path.join(slurmDir(out), `array-${k}.tasks`);
  const script = path.join(slurmDir(out), `array-${k}.sh`);
  writeFileSafe(tasksFile, todo.map((r) => r.dir).join('\n') + '\n');
  writeFileSafe(script, arrayScript(spec, todo, tasksFile));
  const r = slurmCommand('sbatch', ['--parsable', script]);
  const jobId = r.stdout.trim().split(';')[0];
  if (!/^\d+$/.test(jobId)) throw new Error(`sweep: sbatch printed '${r.stdout.trim()}', expected a job id`);
  const job: SlurmJob = { jobId, script, runs: todo.map((t) => t.name), submitted: new Date().toISOString() };
  writeJson(jobsFile(out), [...jobs, job]);
  return { job, skipped, inQueue: inQueue.size };
}

/** Polls squeue until none of this sweep's tasks is queued, then reports what the run folders say. */
export async function waitSlurm(
  spec: SweepSpec,
  runs: Run[],
  pollSeconds: number,
  timeoutSeconds = Infinity,
): Promise<SweepReport> {
  const out = path.resolve(spec.cwd, spec.out);
  const initial = new Map(runs.map((r) => [r.name, runState(spec, r.dir).state]));
  const view = new SweepView(
    runs.length,
    Math.max(1, spec.slurm.maxParallel),
    `slurm sweep ${spec.out}`,
    'as Slurm array tasks',
  );
  view.start([...initial.values()].filter((s) => s === 'done').length);
  const last = new Map<string, string>(); // run → queued | running (what the previous poll saw)
  const t0 = Date.now();
  let interrupted = false;
  const onSignal = () => (interrupted = true);
  process.once('SIGINT', onSignal);
  try {
    for (;;) {
      const q = queued(out);
      for (const r of runs) {
        const was = last.get(r.name);
        const now = q.get(r.name) === 'RUNNING' ? 'running' : q.has(r.name) ? 'queued' : undefined;
        if (now === 'running' && was !== 'running') view.runStarted(r.name, r.dir);
        if (now) last.set(r.name, now);
        else if (was) {
          // left the queue since the last poll: what its folder says
          last.delete(r.name);
          if (was !== 'running') view.runStarted(r.name, r.dir);
          const { state, status } = runState(spec, r.dir);
          view.runEnded(r.name, state === 'running' || state === 'pending' ? 'lost' : state, status?.error ?? '');
        }
      }
      if (!q.size) break;
      if (interrupted) {
        view.log(
          `stopped waiting; the job keeps running (scancel ${readJobs(out)
            .map((j) => j.jobId)
            .join(' ')} stops it); rerun or use 'sweep.ts status ${spec.out}'`,
        );
        break;
      }
      if ((Date.now() - t0) / 1000 > timeoutSeconds)
        throw new Error(`sweep: tasks still queued after ${timeoutSeconds} s`);
      await new Promise((res) => setTimeout(res, pollSeconds * 1000));
    }
  } finally {
    process.off('SIGINT', onSignal);
    view.stop();
  }
  if (!interrupted) reconcile(spec, runs, new Map());
  return slurmReport(spec, runs, interrupted ? queued(out) : new Map());
}

export function slurmReport(spec: SweepSpec, runs: Run[], inQueue: Map<string, string>): SweepReport {
  const report: SweepReport = { total: runs.length, skipped: 0, done: [], failed: [], interrupted: [] };
  for (const r of runs) {
    const { state, status } = runState(spec, r.dir);
    if (state === 'done') report.done.push(r.name);
    else if (inQueue.has(r.name)) continue;
    else if (state === 'failed')
      report.failed.push({ name: r.name, error: status?.error ?? '', log: path.join(r.dir, 'stderr.log') });
    else if (state !== 'pending') report.interrupted.push(r.name);
  }
  return report;
}
