// One run as a Slurm array task: `task.ts RUN_DIR JOB` runs RUN_DIR/command.sh with its output
// appended to stdout.log / stderr.log, and records the attempt in status.json (running, then done
// or failed with the last stderr line), exactly as the local backend does for its workers. A task
// Slurm stops (time limit, scancel: SIGTERM to every process of the job) is recorded as
// interrupted; one killed outright stays 'running' and the sweep reconciles it with the queue.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDone, lastErrorLine, readStatus, startAttempt, writeStatus, type RunStatus } from './layout.js';
import type { SweepSpec } from './spec.js';
import { openAppendSafe } from '../training/files.js';

const [dir, job] = process.argv.slice(2);
if (!dir || !fs.existsSync(path.join(dir, 'command.sh'))) {
  console.error(`sweep task: expected a run folder with command.sh, got '${dir ?? ''}'`);
  process.exit(2);
}
const spec = JSON.parse(fs.readFileSync(path.join(dir, '..', '..', 'sweep.json'), 'utf8')) as SweepSpec;
const run = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as { command: string };
if (isDone(spec, dir)) {
  console.error(`sweep task: ${dir} is finished already; nothing to do`);
  process.exit(0);
}
const attempt = (readStatus(dir)?.attempt ?? 0) + 1;
const offset = startAttempt(dir, attempt, 'slurm', run.command);
const started = Date.now();
const status: RunStatus = {
  state: 'running',
  backend: 'slurm',
  attempt,
  started: new Date(started).toISOString(),
  host: os.hostname(),
  job,
};
const out = openAppendSafe(path.join(dir, 'stdout.log'));
const err = openAppendSafe(path.join(dir, 'stderr.log'));
const child = spawn('bash', [path.join(dir, 'command.sh')], { stdio: ['ignore', out, err] });
writeStatus(dir, { ...status, pid: child.pid });
let stopped = '';
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    stopped = sig;
    child.kill(sig);
  });
}
child.on('close', (code, signal) => {
  const ended = { ended: new Date().toISOString(), seconds: (Date.now() - started) / 1000, code, signal };
  if (isDone(spec, dir)) writeStatus(dir, { ...status, ...ended, state: 'done' });
  else if (stopped)
    writeStatus(dir, {
      ...status,
      ...ended,
      state: 'interrupted',
      error: `stopped by ${stopped} (Slurm time limit or scancel?)`,
    });
  else {
    const error =
      code === 0 ? `exited 0 without writing ${spec.result}` : lastErrorLine(dir, offset) || `exit ${code ?? signal}`;
    writeStatus(dir, { ...status, ...ended, state: 'failed', error });
  }
  process.exit(isDone(spec, dir) ? 0 : code || 1);
});
