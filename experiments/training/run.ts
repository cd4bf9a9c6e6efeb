// What every experiment script shares: standard flags, one output folder, JSON Lines metrics,
// a progress bar with ETA, and device start/stop around the body.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Command } from 'commander';
import type CliProgress from 'cli-progress';
import { appendSafe, openAppendSafe, writeFileSafe } from './files.js';
import { PROBE_RANGE } from '../../alr/options.js';
import { adapterName, cacheStats, initDevice, memoryStats, releaseDevice } from '../../engine/index.js';

// commander and cli-progress are optional peer dependencies of alr-webgpu/training, loaded on
// first use: a script that only logs metrics or runs the WGAN loop needs neither.
const require = createRequire(import.meta.url);
const commander = (): typeof import('commander') => require('commander');
let cliProgress: typeof CliProgress | null | undefined;
/** cli-progress, or null where it is not installed (Progress then logs lines). */
function loadCliProgress(): typeof CliProgress | null {
  if (cliProgress === undefined) {
    try {
      cliProgress = require('cli-progress') as typeof CliProgress;
    } catch {
      cliProgress = null;
    }
  }
  return cliProgress;
}
const invalid = (message: string): Error => new (commander().InvalidArgumentError)(message);

export interface CommonOptions {
  seed: number;
  out: string;
  quick: boolean;
  progress: boolean;
}

/** A commander program with --seed, --out, --quick and --no-progress already defined. */
export function program(name: string, description: string, defaultOut: string): Command {
  return new (commander().Command)(name)
    .description(description)
    .option('--seed <n>', 'random seed (fixes every draw)', (v) => intArg('--seed', v, 0), 0)
    .option('--out <dir>', 'output folder (metrics, pictures, checkpoints)', (v) => outArg('--out', v), defaultOut)
    .option('--quick', 'a CI-sized run (minutes to seconds)', false)
    .option('--no-progress', 'no progress bar (logs only)');
}

// Parsers throw InvalidArgumentError: commander turns it into one line naming the option
// ("error: option '--iters <n>' argument 'x' is invalid. ...") and exits 1, with no stack trace.

export function outArg(flag: string, v: string): string {
  if (!v.trim()) throw invalid(`${flag}: expected a folder path, got '${v}'`);
  return v;
}

export function intArg(flag: string, v: string, min = -Infinity): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < min)
    throw invalid(`${flag}: expected an integer >= ${min}, got '${v}'`);
  return n;
}

/** A finite number, within `range` when given (e.g. PROBE_ARG for ξ and ε, { min: 0 } for lr and λ). */
export function numArg(flag: string, v: string, range: { min?: number; max?: number } = {}): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw invalid(`${flag}: expected a number, got '${v}'`);
  const { min = -Infinity, max = Infinity } = range;
  if (n < min || n > max) {
    throw invalid(`${flag}: expected a number ${max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`}, got '${v}'`);
  }
  return n;
}

/** ξ and ε: outside this range a float32 probe stops moving or the penalty reads ~0 (alr/options.ts). */
export const PROBE_ARG = { min: PROBE_RANGE.min, max: PROBE_RANGE.max };
export const NONNEG_ARG = { min: 0 };

/**
 * Appends one JSON object per line; safe to reopen on resume. A torn last line (a kill while
 * writing) is dropped; any other unreadable line is an error naming the file and line.
 */
export class Metrics {
  private fd: number;
  constructor(
    readonly file: string,
    resumeFromStep?: number,
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (resumeFromStep !== undefined && fs.existsSync(file)) {
      // drop lines written after the checkpoint we resume from (parsed first: nothing is lost on an error)
      const kept = Metrics.read(file).filter((r) => (r.step ?? 0) <= resumeFromStep);
      writeFileSafe(file, kept.map((r) => JSON.stringify(r) + '\n').join(''));
    } else {
      writeFileSafe(file, ''); // replaces a planted link rather than truncating its target
    }
    this.fd = openAppendSafe(file);
  }
  write(row: Record<string, unknown>): void {
    appendSafe(this.fd, this.file, JSON.stringify(row) + '\n');
  }
  close(): void {
    fs.closeSync(this.fd);
  }
  static read(file: string): Record<string, number>[] {
    if (fs.lstatSync(file).isSymbolicLink())
      throw new Error(`${file}: is a symbolic link; metrics files are never read or written through links`);
    const text = fs.readFileSync(file, 'utf8');
    const lines = text.split('\n');
    const rows: Record<string, number>[] = [];
    lines.forEach((line, i) => {
      if (!line) return;
      try {
        rows.push(JSON.parse(line));
      } catch (e) {
        const torn = i === lines.length - 1; // no newline after it: the writer was interrupted
        if (!torn) throw new Error(`${file}:${i + 1}: not a JSON line (${(e as Error).message})`);
      }
    });
    return rows;
  }
}

/** A progress bar with ETA (or plain log lines when disabled or not a terminal). */
export class Progress {
  private bar: CliProgress.SingleBar | null = null;
  private lastLog = 0;
  constructor(
    private total: number,
    private enabled: boolean,
    private label = '',
  ) {
    const cliProgress = enabled && process.stderr.isTTY ? loadCliProgress() : null;
    if (cliProgress) {
      this.bar = new cliProgress.SingleBar(
        {
          format: `${label} [{bar}] {value}/{total} | ETA {eta_formatted} | {status}`,
          stream: process.stderr,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, 0, { status: '' });
    }
  }
  update(step: number, status = ''): void {
    if (this.bar) this.bar.update(step, { status });
    else if (this.enabled && Date.now() - this.lastLog > 10_000) {
      this.lastLog = Date.now();
      console.error(`${this.label} ${step}/${this.total} ${status}`);
    }
  }
  stop(): void {
    this.bar?.stop();
  }
}

/** Starts the device, runs the body, and always releases the device so Node can exit. */
export async function main(body: () => Promise<void>): Promise<void> {
  try {
    await initDevice();
    console.error(`adapter: ${adapterName()}`);
    await body();
  } catch (e) {
    console.error((e as Error).message);
    process.exitCode = 1;
  } finally {
    await releaseDevice().catch(() => undefined);
  }
}

/** Creates an output folder; `flag` names the option it came from in the error. */
export function ensureDir(dir: string, flag = '--out'): string {
  if (!dir.trim()) throw new Error(`${flag}: expected a folder path, got '${dir}'`);
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`${flag} ${dir}: cannot create or write the output folder (${err.code ?? err.message})`);
  }
  return dir;
}

export function writeJson(file: string, value: unknown): void {
  writeFileSafe(file, JSON.stringify(value, null, 2));
}

/** Host and GPU memory for a metrics row: process RSS, bytes the buffer pool owns, cached bind groups. */
export function memoryFields(): { rssMB: number; gpuMB: number; bindGroups: number } {
  const mb = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
  return {
    rssMB: mb(process.memoryUsage().rss),
    gpuMB: mb(memoryStats().bytesAllocated),
    bindGroups: cacheStats().bindGroups,
  };
}

/** Writes `<dir>/config.json`: the run's full options, the command line, the adapter and the time. */
export function writeConfig(dir: string, options: object): void {
  writeJson(path.join(dir, 'config.json'), {
    options,
    argv: process.argv.slice(1),
    adapter: adapterName(),
    started: new Date().toISOString(),
  });
}
