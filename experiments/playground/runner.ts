// Drives the session: the training loop (one iteration, then a turn of the event loop), a queue
// of user actions applied between iterations (so a change never lands mid-step), the views'
// snapshots every few iterations, and the history behind the curves.
import type { MonitorRow } from '../../alr/index.js';
import { runProbe, type ProbeReport } from './probe.js';
import { Session } from './session.js';
import { changeKind, defaultLambda, invalid, REG_LABELS, type Settings } from './settings.js';
import { Snapshots, type ViewData } from './snapshot.js';
import type { CurveData } from './views/curves.js';

export interface RunnerCallbacks {
  view(v: ViewData): void;
  /** a one-line note for the user (what a change did, why it was refused, divergence) */
  message(text: string, kind?: 'info' | 'warn'): void;
  settings(s: Settings): void;
  running(on: boolean): void;
  busy(on: boolean): void;
  probe(r: ProbeReport): void;
  probeProgress(text: string): void;
  /** training cannot go on (device lost, engine error) */
  fatal(message: string): void;
}

const RECENT = 50;

/** How a setting is named in messages and on the curves. */
const NAMES: Partial<Record<keyof Settings, string>> = {
  lambda: 'λ',
  xi: 'ξ',
  epsKind: 'ε',
  epsMin: 'ε min',
  epsMax: 'ε max',
  nCritic: 'n_critic',
  viewEvery: 'views every',
  dim: 'width',
};

const newHistory = (): CurveData => ({
  loss: { x: [], y: [] },
  wasserstein: { x: [], y: [] },
  gradNormInterp: { x: [], y: [] },
  w1: { x: [], y: [] },
  events: [],
  K: 1,
});

export class Runner {
  settings: Settings;
  session: Session;
  private snaps: Snapshots;
  running = true;
  busy = false;
  history = newHistory();
  lastView: ViewData | null = null;
  lastRow: MonitorRow | null = null;
  /** the last RECENT per-iteration rows (for scripts and the test) */
  recentRows: MonitorRow[] = [];
  probeReport: ProbeReport | null = null;
  diverged: string | null = null;
  fatalError: string | null = null;
  /** views taken since the start (the test waits on it) */
  views = 0;
  private tasks: (() => Promise<void>)[] = [];
  private wakeUp: (() => void) | null = null;
  private steps = 0;
  private viewInFlight = false;
  private generation = 0;
  private stamps: number[] = [];

  constructor(
    settings: Settings,
    private readonly cb: RunnerCallbacks,
  ) {
    this.settings = { ...settings };
    this.session = new Session(this.settings);
    this.snaps = new Snapshots(this.session);
  }

  /** Iterations per second over the last few dozen iterations of uninterrupted training. */
  get itPerSec(): number {
    const s = this.stamps;
    // the first few after a pause only fill the queue of in-flight steps: too fast to mean anything
    return s.length >= 10 ? ((s.length - 1) * 1000) / (s[s.length - 1] - s[0]) : NaN;
  }

  async loop(): Promise<void> {
    for (;;) {
      while (this.tasks.length) await this.tasks.shift()!();
      if (this.fatalError) return;
      if (!this.running && this.steps === 0) {
        this.stamps = [];
        await new Promise<void>((resolve) => (this.wakeUp = resolve));
        continue;
      }
      const s = this.session;
      const due = !this.viewInFlight && (this.steps > 0 || (s.iter + 1) % this.settings.viewEvery === 0);
      try {
        await s.iteration(due);
      } catch (e) {
        this.fail(e);
        return;
      }
      if (this.steps > 0) this.steps--;
      this.stamps.push(performance.now());
      if (this.stamps.length > 40) this.stamps.shift();
      if (due) this.refresh();
    }
  }

  private wake(): void {
    this.wakeUp?.();
    this.wakeUp = null;
  }

  private enqueue(task: () => Promise<void> | void): void {
    this.tasks.push(async () => {
      try {
        await task();
      } catch (e) {
        this.fail(e);
      }
    });
    this.wake();
  }

  private fail(e: unknown): void {
    this.stop(e instanceof Error ? e.message : String(e));
  }

  /** Ends training for good (an engine error, the device lost); the loop exits at its next turn. */
  stop(reason: string): void {
    if (this.fatalError) return;
    this.fatalError = reason;
    this.running = false;
    this.cb.running(false);
    this.cb.fatal(reason);
    this.wake();
  }

  /** Takes a snapshot without waiting for it; the views draw when its readback lands. */
  private refresh(): void {
    this.viewInFlight = true;
    const gen = this.generation;
    this.snaps
      .take()
      .then((v) => {
        this.viewInFlight = false;
        if (gen !== this.generation) return; // a reset happened meanwhile
        this.record(v);
        this.lastView = v;
        this.views++;
        this.cb.view(v);
      })
      .catch((e) => {
        this.viewInFlight = false;
        this.fail(e);
      });
  }

  private record(v: ViewData): void {
    const h = this.history;
    for (const r of v.rows) {
      h.loss.x.push(r.step);
      h.loss.y.push(r.criticLoss);
      h.wasserstein.x.push(r.step);
      h.wasserstein.y.push(r.wasserstein);
    }
    h.gradNormInterp.x.push(v.iter);
    h.gradNormInterp.y.push(v.gradNormInterp);
    h.w1.x.push(v.iter);
    h.w1.y.push(v.w1);
    h.K = this.settings.K;
    if (v.rows.length) this.lastRow = v.rows[v.rows.length - 1];
    this.recentRows = [...this.recentRows, ...v.rows].slice(-RECENT);
    const bad = v.rows.find((r) => !Number.isFinite(r.wasserstein) || !Number.isFinite(r.criticLoss));
    if (bad && !this.diverged) {
      this.diverged = `training diverged at iteration ${bad.step} (the critic's loss is ${bad.criticLoss}); paused. Lower λ or the learning rate, then Reset.`;
      this.running = false;
      this.cb.running(false);
      this.cb.message(this.diverged, 'warn');
    }
  }

  /** Applies a change of settings between iterations; refuses invalid ones. */
  change(patch: Partial<Settings>): void {
    const prev = this.settings;
    const next = { ...prev, ...patch };
    let note = '';
    if (patch.reg && patch.reg !== prev.reg && patch.lambda === undefined) {
      next.lambda = defaultLambda(patch.reg);
      if (next.lambda > 0) note = ` (λ set to its default ${next.lambda})`;
    }
    const problem = invalid(next);
    if (problem) {
      this.cb.message(`Not applied: ${problem}.`, 'warn');
      this.cb.settings(prev);
      return;
    }
    const kind = changeKind(prev, next);
    const what = Object.keys(patch)
      .filter((k) => patch[k as keyof Settings] !== prev[k as keyof Settings])
      .map((k) =>
        k === 'reg' ? next.reg.toUpperCase() : `${NAMES[k as keyof Settings] ?? k}=${next[k as keyof Settings]}`,
      )
      .join(', ');
    if (!what) return;
    this.settings = next;
    this.cb.settings(next);
    this.enqueue(() => {
      if (kind === 'live') {
        Object.assign(this.session.settings, next);
        this.history.events.push({ iter: this.session.iter, text: what });
        this.cb.message(`${what}: in effect from iteration ${this.session.iter + 1}${note}.`);
      } else {
        this.restart();
        let why = `${what}: new models and data stream`;
        if ((prev.reg === 'sn') !== (next.reg === 'sn')) {
          why =
            next.reg === 'sn'
              ? 'SN re-parametrises every layer of the critic: models rebuilt'
              : `${REG_LABELS[next.reg]} needs a plain critic again: models rebuilt`;
        }
        this.cb.message(`${why}; training restarted${note}.`);
      }
    });
  }

  /** A fresh run with the current settings: new models, optimisers, data stream, curves. */
  private restart(): void {
    this.generation++;
    this.session.dispose();
    this.session = new Session({ ...this.settings });
    this.snaps = new Snapshots(this.session);
    this.history = newHistory();
    this.lastView = null;
    this.lastRow = null;
    this.recentRows = [];
    this.diverged = null;
    this.stamps = [];
  }

  reset(): void {
    this.enqueue(() => {
      this.restart();
      this.cb.message('Reset: training restarted with the current settings.');
    });
  }

  setRunning(on: boolean): void {
    if (this.fatalError) return;
    this.running = on;
    this.stamps = [];
    this.cb.running(on);
    this.wake();
  }

  /** One iteration while paused (its views refresh). */
  step(): void {
    if (this.running || this.fatalError) return;
    this.steps++;
    this.wake();
  }

  probe(): Promise<ProbeReport | null> {
    return new Promise((resolve) => {
      if (this.busy) return resolve(null);
      this.busy = true;
      this.cb.busy(true);
      this.enqueue(async () => {
        try {
          const s = this.session;
          this.stamps = [];
          const r = await runProbe(s.critic, s.G, { ...this.settings }, s.iter, (t) => this.cb.probeProgress(t));
          this.probeReport = r;
          this.cb.probe(r);
          resolve(r);
        } finally {
          this.busy = false;
          this.cb.busy(false);
          resolve(null);
        }
      });
    });
  }
}
