// The sweep folder on disk, and what it says about each run:
//
//   <out>/sweep.json            the resolved spec (a spec file: `sweep.ts run --spec <out>/sweep.json` resumes)
//   <out>/sweep.lock            the live sweep process of a local run (pid, host)
//   <out>/runs/<name>/run.json  the run's setting, its exact argv and the shell command
//   <out>/runs/<name>/command.sh   that command, runnable by hand or by a Slurm task
//   <out>/runs/<name>/status.json  running | done | failed | interrupted, exit code, times, host
//   <out>/runs/<name>/stdout.log, stderr.log   every attempt's output, appended
//   <out>/runs/<name>/<files of the script>   (summary.json, metrics.jsonl, checkpoint, ...)
//
// A run is finished when the script's result file (summary.json) is there: every script writes
// it atomically as its last act, so a finished run is recognised even if the process that
// watched it was killed. A finished run's folder is never written again.
import fs from 'node:fs';
import os from 'node:os';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { expandGrid, pointArgs, valueText, type Point } from './grid.js';
import type { Backend, SweepSpec } from './spec.js';
import { writeJson } from '../training/run.js';
import { appendSafe, openAppendSafe, writeFileSafe } from '../training/files.js';

export interface Run {
  index: number;
  /** folder name: every grid key and value, e.g. reg-alp_seed-3 */
  name: string;
  /** absolute run folder */
  dir: string;
  point: Point;
  /** the full command: node, its flags, the script and every argument */
  argv: string[];
  /** argv as one shell-quoted line */
  command: string;
}

export type RunState = 'done' | 'failed' | 'interrupted' | 'running' | 'pending';

export interface RunStatus {
  state: 'running' | 'done' | 'failed' | 'interrupted';
  backend: Backend;
  attempt: number;
  started: string;
  ended?: string;
  seconds?: number;
  host: string;
  pid?: number;
  /** Slurm job and array task (jobid_task) */
  job?: string;
  code?: number | null;
  signal?: string | null;
  /** the last line the run wrote to stderr (failed runs) */
  error?: string;
}

export const runsDir = (out: string) => path.join(out, 'runs');
export const specFile = (out: string) => path.join(out, 'sweep.json');

/** Shell-quotes one word (single quotes unless it is plainly safe). */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_/.,:=+@%-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Folder-safe text of a value. */
const safe = (v: string) => v.replace(/[^A-Za-z0-9.+-]/g, '_');

export function runName(point: Point): string {
  const parts = Object.entries(point).map(([k, v]) => `${safe(k)}-${safe(valueText(v))}`);
  const name = parts.length ? parts.join('_') : 'run';
  // a folder name stays under the file system's 255 bytes: long ones keep a prefix and a hash
  return name.length <= 160
    ? name
    : `${name.slice(0, 140)}~${createHash('sha256').update(name).digest('hex').slice(0, 16)}`;
}

/** Throws unless `dir` is a direct child of `parent` (a run folder inside the sweep's runs/). */
export function checkInside(parent: string, dir: string): void {
  const rel = path.relative(parent, dir);
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel) || rel.includes(path.sep)) {
    throw new Error(`sweep: run folder ${dir} is not inside ${parent}`);
  }
}

/** Every run of the spec, in grid order, with its folder and command. */
export function planRuns(spec: SweepSpec): Run[] {
  const out = path.resolve(spec.cwd, spec.out);
  const points = expandGrid(spec.grid);
  const runs = points.map((point, index) => {
    const name = runName(point);
    const dir = path.join(runsDir(out), name);
    checkInside(runsDir(out), dir);
    const argv = [
      spec.node,
      '--import',
      'tsx',
      spec.script,
      ...spec.args,
      ...pointArgs(point),
      spec.outFlag,
      dir,
      ...(spec.resumeFlag ? [spec.resumeFlag] : []),
    ];
    return { index, name, dir, point, argv, command: argv.map(shellQuote).join(' ') };
  });
  const seen = new Map<string, Run>();
  for (const r of runs) {
    const other = seen.get(r.name);
    if (other)
      throw new Error(
        `sweep: grid points ${JSON.stringify(other.point)} and ${JSON.stringify(r.point)} map to the same folder ${r.name}`,
      );
    seen.set(r.name, r);
  }
  return runs;
}

/**
 * Writes run.json and command.sh for runs that have none; a run recorded with another command
 * is an error (its results would not be what the spec says), naming the run.
 */
export function recordRuns(spec: SweepSpec, runs: Run[]): void {
  for (const r of runs) {
    const file = path.join(r.dir, 'run.json');
    if (fs.existsSync(file)) {
      const old = JSON.parse(fs.readFileSync(file, 'utf8')) as { argv: string[] };
      // the node binary may move between invocations; the script and its arguments may not
      if (JSON.stringify(old.argv.slice(1)) !== JSON.stringify(r.argv.slice(1))) {
        throw new Error(
          `sweep: ${r.dir} was run with a different command:\n  was: ${old.argv.slice(1).join(' ')}\n  now: ${r.argv.slice(1).join(' ')}\n` +
            'use a new --out for a sweep with other fixed arguments',
        );
      }
      continue;
    }
    fs.mkdirSync(r.dir, { recursive: true });
    const sh = path.join(r.dir, 'command.sh');
    writeFileSafe(
      sh,
      `#!/usr/bin/env bash\n# run ${r.name} of the sweep in ${path.dirname(path.dirname(r.dir))} (written by experiments/sweep/main.ts)\ncd ${shellQuote(spec.cwd)} && exec ${r.command}\n`,
    );
    fs.chmodSync(sh, 0o755);
    writeJson(file, {
      name: r.name,
      index: r.index,
      setting: r.point,
      script: spec.script,
      args: spec.args,
      argv: r.argv,
      command: r.command,
      cwd: spec.cwd,
    });
  }
}

/** Saves the spec as <out>/sweep.json (paths absolute, so it resumes from any folder). */
export function saveSpec(spec: SweepSpec): void {
  const out = path.resolve(spec.cwd, spec.out);
  fs.mkdirSync(out, { recursive: true });
  const { script, out: _relative, ...rest } = spec;
  writeJson(specFile(out), { script, out, ...rest });
}

export function readStatus(dir: string): RunStatus | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'status.json'), 'utf8')) as RunStatus;
  } catch {
    return null; // none yet (or torn by a kill: the run is then rerun)
  }
}

export function writeStatus(dir: string, s: RunStatus): void {
  writeJson(path.join(dir, 'status.json'), s);
}

/** Finished: the result file is there ('' = no result file: the last exit status was 0). */
export function isDone(spec: Pick<SweepSpec, 'result'>, dir: string): boolean {
  if (!spec.result) return readStatus(dir)?.state === 'done';
  const file = path.resolve(dir, spec.result);
  if (path.relative(dir, file).startsWith('..'))
    throw new Error(`sweep: result ${spec.result} is outside the run folder ${dir}`);
  return fs.existsSync(file);
}

/** What the files say; `running` may be stale (a killed watcher): backends check pid or queue. */
export function runState(spec: Pick<SweepSpec, 'result'>, dir: string): { state: RunState; status: RunStatus | null } {
  const status = readStatus(dir);
  if (isDone(spec, dir)) return { state: 'done', status };
  // exit 0 without the result file counts as a failure
  return { state: status?.state === 'done' ? 'failed' : (status?.state ?? 'pending'), status };
}

/** Appends an attempt header to both logs; returns stderr.log's size before it (the attempt's start). */
export function startAttempt(dir: string, attempt: number, backend: Backend, command: string): number {
  const err = path.join(dir, 'stderr.log');
  const offset = fs.existsSync(err) ? fs.statSync(err).size : 0;
  const header = `=== attempt ${attempt} (${backend}) ${new Date().toISOString()} on ${os.hostname()}: ${command}\n`;
  for (const f of ['stdout.log', 'stderr.log']) {
    const file = path.join(dir, f);
    const fd = openAppendSafe(file);
    try {
      appendSafe(fd, file, header);
    } finally {
      fs.closeSync(fd);
    }
  }
  return offset;
}

/** The last non-empty stderr line after `offset` (default: of the last attempt): a failed run's one-line reason. */
export function lastErrorLine(dir: string, offset?: number): string {
  const file = path.join(dir, 'stderr.log');
  if (!fs.existsSync(file)) return '';
  let text = fs
    .readFileSync(file)
    .subarray(offset ?? 0)
    .toString('utf8');
  if (offset === undefined) text = text.slice(Math.max(0, text.lastIndexOf('=== attempt ')));
  // an uncaught exception ends in a stack and Node's version line: its 'XxxError: ...' line says more
  const all = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('=== attempt'));
  // commander ends an unknown option with a hint line: keep the error it belongs to
  // ("error: unknown option '--lamda' (Did you mean --lambda?)"), not the hint alone
  const last = all.at(-1) ?? '';
  if (/^\(Did you mean .*\)$/.test(last) && all.length > 1) return `${all.at(-2)} ${last}`;
  if (!/^Node\.js v\d/.test(last)) return last; // the script's own one-line error
  const lines = all.slice(0, -1).filter((l) => !/^at /.test(l));
  return lines.filter((l) => /^[A-Z]\w*Error\b.*:/.test(l)).at(-1) ?? lines.at(-1) ?? '';
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A live process started for `dir` (checked through /proc where there is one, against pid reuse). */
export function runProcessAlive(status: RunStatus, dir: string): boolean {
  if (!status.pid || status.host !== os.hostname() || !pidAlive(status.pid)) return false;
  try {
    return fs.readFileSync(`/proc/${status.pid}/cmdline`, 'utf8').includes(dir);
  } catch {
    return !fs.existsSync('/proc/self'); // no /proc: trust the pid
  }
}

/** One sweep process per folder: a lock file naming it; a dead owner's lock is taken over. */
export function acquireLock(out: string): () => void {
  const file = path.join(out, 'sweep.lock');
  const mine = JSON.stringify({ pid: process.pid, host: os.hostname(), started: new Date().toISOString() });
  for (let tries = 0; tries < 2; tries++) {
    try {
      fs.writeFileSync(file, mine, { flag: 'wx' });
      return () => {
        try {
          if (fs.readFileSync(file, 'utf8') === mine) fs.unlinkSync(file);
        } catch {
          /* already gone */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner: { pid: number; host: string } | null = null;
      try {
        owner = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch {
        /* torn: stale */
      }
      if (owner && owner.pid !== process.pid && owner.host === os.hostname() && pidAlive(owner.pid)) {
        throw new Error(
          `sweep: another sweep process (pid ${owner.pid}) is running in ${out}; wait for it or stop it first`,
        );
      }
      fs.rmSync(file, { force: true }); // its owner is gone (killed): take over
    }
  }
  throw new Error(`sweep: could not take the lock ${file}`);
}
