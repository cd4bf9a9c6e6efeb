// The local backend: a pool of worker processes on this machine, one run per process.
//
// Each run is its own process group (detached), so the sweep decides how its runs end: on
// Ctrl-C / SIGTERM it stops starting runs, sends SIGTERM to the running ones (a second Ctrl-C:
// SIGKILL), records them as interrupted and exits 130. If the sweep itself is killed (SIGKILL),
// its runs keep going as orphans; the next invocation finds them through status.json (pid,
// checked against /proc), stops them and resumes them from their checkpoints, so two processes
// never write one run folder. Finished runs are recognised by their result file and skipped.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  acquireLock,
  isDone,
  lastErrorLine,
  recordRuns,
  runProcessAlive,
  runState,
  saveSpec,
  startAttempt,
  writeStatus,
  type Run,
  type RunStatus,
} from './layout.js';
import type { SweepSpec } from './spec.js';
import { SweepView } from './view.js';
import { openAppendSafe } from '../training/files.js';

export interface SweepReport {
  total: number;
  skipped: number;
  done: string[];
  failed: { name: string; error: string; log: string }[];
  interrupted: string[];
}

/**
 * Worker count for this machine when --workers is not given.
 *
 * Software GPU (lavapipe, SwiftShader): the driver already spreads every dispatch over all cores,
 * so one run keeps the CPU busy during its kernels; a second run fills the gaps, while the first
 * one spends its time in JavaScript (building the graph, encoding dispatches, reading back). Past
 * two, runs only contend for the same cores and caches (each also holds ~0.3-0.5 GB), so: 2 (1 on
 * a single core).
 *
 * Real GPU: these models are small, so a run is bound by its host thread (one core each, encoding
 * dispatches), not by the GPU, which time-slices between processes. One run per core, leaving one
 * core for the driver and the sweep, at most 8 (beyond that context switches on the GPU cost more
 * than they overlap).
 */
export function defaultWorkers(spec: SweepSpec): { workers: number; why: string } {
  const cpus = os.availableParallelism();
  const probe = path.join(path.dirname(fileURLToPath(import.meta.url)), 'probe.ts');
  const r = spawnSync(spec.node, ['--import', 'tsx', probe], { cwd: spec.cwd, encoding: 'utf8', timeout: 120_000 });
  let info: { adapter: string; software: boolean } | null = null;
  try {
    info = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '');
  } catch {
    /* no adapter */
  }
  if (!info)
    return {
      workers: 1,
      why: `no adapter found (${(r.stderr ?? '').trim().split('\n').at(-1) ?? 'probe failed'}): 1 worker`,
    };
  if (info.software)
    return {
      workers: Math.min(2, cpus),
      why: `software adapter ${info.adapter} on ${cpus} cores: ${Math.min(2, cpus)} workers`,
    };
  const n = Math.max(1, Math.min(cpus - 1, 8));
  return { workers: n, why: `GPU adapter ${info.adapter}, ${cpus} cores: ${n} workers` };
}

/** Runs every unfinished run of `runs`, `workers` at a time; resolves when all have ended. */
export async function runLocal(spec: SweepSpec, runs: Run[], workers: number, view?: SweepView): Promise<SweepReport> {
  const out = path.resolve(spec.cwd, spec.out);
  fs.mkdirSync(out, { recursive: true });
  const release = acquireLock(out);
  try {
    recordRuns(spec, runs); // first: a conflicting command is an error before sweep.json changes
    saveSpec(spec);
    stopOrphans(spec, runs);
    const todo = runs.filter((r) => runState(spec, r.dir).state !== 'done');
    const report: SweepReport = {
      total: runs.length,
      skipped: runs.length - todo.length,
      done: [],
      failed: [],
      interrupted: [],
    };
    const v = view ?? new SweepView(runs.length, workers, `sweep ${spec.out}`);
    v.start(report.skipped);
    try {
      await pool(spec, todo, workers, v, report);
    } finally {
      v.stop();
    }
    return report;
  } finally {
    release();
  }
}

/** Runs left running by a sweep that was killed: stop them (they resume from their checkpoints). */
function stopOrphans(spec: SweepSpec, runs: Run[]): void {
  for (const r of runs) {
    const { state, status } = runState(spec, r.dir);
    if (!status || status.state !== 'running') continue;
    if (runProcessAlive(status, r.dir)) {
      console.error(`sweep: ${r.name}: stopping pid ${status.pid}, left running by a sweep that was killed`);
      killGroup(status.pid!, 'SIGTERM');
      const t0 = Date.now();
      while (runProcessAlive(status, r.dir) && Date.now() - t0 < 10_000) spawnSync('sleep', ['0.1']);
      if (runProcessAlive(status, r.dir)) killGroup(status.pid!, 'SIGKILL');
    }
    // an orphan may have finished on its own before it was stopped: its status says so then
    const ended = new Date().toISOString();
    if (state === 'done' || isDone(spec, r.dir))
      writeStatus(r.dir, { ...status, state: 'done', ended: status.ended ?? ended });
    else writeStatus(r.dir, { ...status, state: 'interrupted', ended });
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal); // the run's process group (it was started detached)
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* gone */
    }
  }
}

function pool(spec: SweepSpec, todo: Run[], workers: number, view: SweepView, report: SweepReport): Promise<void> {
  return new Promise((resolve) => {
    const queue = [...todo];
    const active = new Map<string, ChildProcess>();
    let stopping = 0; // signals received

    const onSignal = (sig: NodeJS.Signals) => {
      stopping++;
      view.log(
        stopping === 1
          ? `${sig}: stopping ${active.size} run(s) (SIGTERM; again to kill); finished runs are kept, rerun the same command to resume`
          : `${sig}: killing ${active.size} run(s)`,
      );
      for (const child of active.values()) killGroup(child.pid!, stopping === 1 ? 'SIGTERM' : 'SIGKILL');
      if (!active.size) finish();
    };
    const finish = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    const next = () => {
      while (!stopping && active.size < workers && queue.length) launch(queue.shift()!);
      if (!active.size && (stopping || !queue.length)) finish();
    };

    const launch = (run: Run) => {
      const prev = runState(spec, run.dir).status;
      const attempt = (prev?.attempt ?? 0) + 1;
      const offset = startAttempt(run.dir, attempt, 'local', run.command);
      const outFd = openAppendSafe(path.join(run.dir, 'stdout.log'));
      const errFd = openAppendSafe(path.join(run.dir, 'stderr.log'));
      const started = Date.now();
      const status: RunStatus = {
        state: 'running',
        backend: 'local',
        attempt,
        started: new Date(started).toISOString(),
        host: os.hostname(),
      };
      const child = spawn(run.argv[0], run.argv.slice(1), {
        cwd: spec.cwd,
        stdio: ['ignore', outFd, errFd],
        detached: true,
      });
      fs.closeSync(outFd);
      fs.closeSync(errFd);
      let spawnError = '';
      child.on('error', (e) => (spawnError = `could not start ${run.argv[0]}: ${e.message}`));
      if (child.pid) {
        active.set(run.name, child);
        status.pid = child.pid;
        writeStatus(run.dir, status);
        view.runStarted(run.name, run.dir);
      }
      child.on('close', (code, signal) => {
        active.delete(run.name);
        const ended = { ended: new Date().toISOString(), seconds: (Date.now() - started) / 1000, code, signal };
        if (isDone(spec, run.dir)) {
          // the result file is the mark (as on the next invocation), whatever the exit status
          writeStatus(run.dir, { ...status, ...ended, state: 'done' });
          report.done.push(run.name);
          view.runEnded(run.name, 'done');
        } else if (stopping && !spawnError) {
          writeStatus(run.dir, { ...status, ...ended, state: 'interrupted' });
          report.interrupted.push(run.name);
          view.runEnded(run.name, 'interrupted');
        } else {
          const error =
            spawnError ||
            (code === 0
              ? `exited 0 without writing ${spec.result}`
              : lastErrorLine(run.dir, offset) || `exit ${code ?? signal}`);
          writeStatus(run.dir, { ...status, ...ended, state: 'failed', error });
          report.failed.push({ name: run.name, error, log: path.join(run.dir, 'stderr.log') });
          view.runEnded(run.name, 'failed', error);
        }
        next();
      });
      if (!child.pid) return; // 'error' then 'close' follow
    };

    next();
  });
}
