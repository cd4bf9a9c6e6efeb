/// <reference lib="dom" />
// window.playground: a small handle for scripts and the browser test to read the page's state
// and press its buttons without scraping the DOM.
import * as E from '../../engine/web.js';
import type { Runner } from './runner.js';
import type { Settings } from './settings.js';

export interface PlaygroundHook {
  /** 'starting' until the device is up, then 'running'; 'error' with `error` set when it cannot */
  phase: 'starting' | 'running' | 'error';
  error: string | null;
  adapter: string;
  state(): unknown;
  set(patch: Partial<Settings>): void;
  pause(): void;
  resume(): void;
  step(): void;
  reset(): void;
  probe(): Promise<unknown>;
  /** destroys the device, to see (and test) what the page says when a GPU goes away */
  loseDevice(): void;
}

declare global {
  interface Window {
    playground: PlaygroundHook;
  }
}

export function installHook(): PlaygroundHook {
  const hook: PlaygroundHook = {
    phase: 'starting',
    error: null,
    adapter: '',
    state: () => ({ phase: hook.phase, error: hook.error }),
    set: () => {},
    pause: () => {},
    resume: () => {},
    step: () => {},
    reset: () => {},
    probe: async () => null,
    loseDevice: () => E.device().destroy(),
  };
  window.playground = hook;
  return hook;
}

export function connectHook(hook: PlaygroundHook, runner: Runner, violationsText: () => string): void {
  hook.state = () => {
    const v = runner.lastView;
    let shown: { violations: number; pairs: number } | null = null;
    if (v)
      shown = {
        violations: Array.from(v.pairs.ratio).filter((q) => q > v.settings.K).length,
        pairs: v.pairs.ratio.length,
      };
    return {
      phase: hook.phase,
      error: hook.error ?? runner.fatalError,
      adapter: hook.adapter,
      iter: runner.session.iter,
      running: runner.running,
      busy: runner.busy,
      itPerSec: runner.itPerSec,
      views: runner.views,
      settings: runner.settings,
      used: runner.session.used,
      lastRow: runner.lastRow,
      rows: runner.recentRows,
      /** live changes: the iteration after which each took effect */
      events: runner.history.events,
      w1: runner.history.w1,
      gradNormInterp: runner.history.gradNormInterp,
      viewed: shown,
      violationsText: violationsText(),
      diverged: runner.diverged,
      probe: runner.probeReport,
      /** the engine's buffer pool: flat over a long run, or something leaks */
      memory: E.memoryStats(),
    };
  };
  hook.set = (p) => runner.change(p);
  hook.pause = () => runner.setRunning(false);
  hook.resume = () => runner.setRunning(true);
  hook.step = () => runner.step();
  hook.reset = () => runner.reset();
  hook.probe = () => runner.probe();
}
