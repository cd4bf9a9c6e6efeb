// The progress view of a whole sweep: one bar for the sweep (runs finished, ETA) and one per
// running run (its iteration, read from its metrics.jsonl), or plain log lines when stderr is not
// a terminal (a log file, CI, a Slurm job).
import fs from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';

/** A run's progress from its own files: last metrics row's step of config.json's options.iters. */
export function runProgress(dir: string): { step: number; total: number } | null {
  try {
    const total = Number(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).options?.iters);
    const lines = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trimEnd().split('\n');
    let step = 0;
    for (let i = lines.length - 1; i >= 0 && !step; i--) {
      try {
        step = Number(JSON.parse(lines[i]).step) || 0;
      } catch {
        /* torn last line */
      }
    }
    return Number.isFinite(total) && total > 0 ? { step: Math.min(step, total), total } : null;
  } catch {
    return null;
  }
}

const clock = (s: number) => {
  if (!Number.isFinite(s) || s < 0) return '--:--';
  const m = Math.floor(s / 60);
  return m >= 60
    ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`
    : `${m}:${String(Math.round(s % 60)).padStart(2, '0')}`;
};

export class SweepView {
  private multi: cliProgress.MultiBar | null = null;
  private top: cliProgress.SingleBar | null = null;
  private bars = new Map<string, cliProgress.SingleBar>();
  private active = new Map<string, { dir: string; started: number }>();
  private done = 0;
  private failed = 0;
  private finishedSeconds: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  private lastLine = 0;
  /** most runs seen running at once (Slurm decides that, not us) */
  private maxActive = 0;

  constructor(
    private total: number,
    private workers: number,
    private label: string,
    /** where runs go, for the first line (default: on N worker(s)) */
    private where = `on ${workers} worker(s)`,
    private tty = process.stderr.isTTY === true,
  ) {}

  start(skipped: number): void {
    this.done = skipped;
    this.log(
      `${this.label}: ${this.total} runs, ${skipped} finished before (skipped), ${this.total - skipped} to run ${this.where}`,
    );
    if (this.tty) {
      this.multi = new cliProgress.MultiBar(
        {
          format: '{name} [{bar}] {value}/{total} {info}',
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: false,
          autopadding: true,
        },
        cliProgress.Presets.shades_classic,
      );
      this.top = this.multi.create(this.total, this.done, { name: 'sweep', info: '' });
    }
    this.timer = setInterval(() => this.tick(), this.tty ? 1000 : 30_000);
    this.timer.unref();
  }

  runStarted(name: string, dir: string): void {
    this.active.set(name, { dir, started: Date.now() });
    this.maxActive = Math.max(this.maxActive, this.active.size);
    if (this.multi) this.bars.set(name, this.multi.create(1, 0, { name, info: 'starting' }));
    else this.log(`started ${name}`);
    this.tick();
  }

  runEnded(name: string, state: string, detail = ''): void {
    const a = this.active.get(name);
    this.active.delete(name);
    if (state === 'done') {
      this.done++;
      if (a) this.finishedSeconds.push((Date.now() - a.started) / 1000);
    } else if (state === 'failed') this.failed++;
    const bar = this.bars.get(name);
    if (bar) {
      this.multi?.remove(bar);
      this.bars.delete(name);
    }
    const secs = a ? ` after ${clock((Date.now() - a.started) / 1000)}` : '';
    this.log(`${state} ${name}${secs}${detail ? `: ${detail}` : ''}`);
    this.tick();
  }

  /** Seconds left: mean time of the runs finished here × runs left / workers. */
  private eta(): number {
    const left = this.total - this.done - this.failed;
    if (!this.finishedSeconds.length) return NaN;
    const mean = this.finishedSeconds.reduce((a, b) => a + b, 0) / this.finishedSeconds.length;
    return (left * mean) / Math.max(1, Math.min(Math.max(this.workers, this.maxActive), left || 1));
  }

  private tick(): void {
    const status = `${this.done}/${this.total} finished, ${this.active.size} running, ${this.failed} failed, ETA ${clock(this.eta())}`;
    if (this.top) {
      this.top.update(this.done, {
        info: `| ${this.active.size} running, ${this.failed} failed | ETA ${clock(this.eta())}`,
      });
      for (const [name, a] of this.active) {
        const p = runProgress(a.dir);
        const bar = this.bars.get(name);
        if (bar && p) {
          bar.setTotal(p.total);
          bar.update(p.step, { info: `| ${clock((Date.now() - a.started) / 1000)}` });
        }
      }
    } else if (Date.now() - this.lastLine > 25_000) {
      const running = [...this.active].map(([name, a]) => {
        const p = runProgress(a.dir);
        return p ? `${name} ${p.step}/${p.total}` : name;
      });
      this.log(`${status}${running.length ? ` (${running.join(', ')})` : ''}`);
    }
  }

  log(line: string): void {
    this.lastLine = Date.now();
    if (this.multi) this.multi.log(`${line}\n`);
    else console.error(`sweep: ${line}`);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.multi) {
      this.top?.update(this.done);
      this.multi.stop();
    }
  }
}
