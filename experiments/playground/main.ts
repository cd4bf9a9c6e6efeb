/// <reference lib="dom" />
// The page: gets the device, starts the runner, draws each snapshot into the views, keeps the
// status line current, and wires the controls and window.playground to the runner.
import { Controls } from './controls.js';
import { GpuUnavailable, startGpu } from './gpu.js';
import { connectHook, installHook } from './hook.js';
import { Runner } from './runner.js';
import { epsLabel, settingsFromQuery, type Settings } from './settings.js';
import { FRAME, GRID, type ViewData } from './snapshot.js';
import { drawCurves } from './views/curves.js';
import { drawGradMap } from './views/gradmap.js';
import { drawHistogram } from './views/histogram.js';
import { drawPairs } from './views/pairs.js';
import { renderProbe } from './views/probe_table.js';
import { drawSamples } from './views/samples.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** Settings from the address (?reg=gp&lambda=1&dim=128 ...), over the defaults; problems shown in the banner. */
function settingsFromUrl(): Settings {
  const { settings, problems } = settingsFromQuery(location.search);
  if (problems.length) banner(`Address: ${problems.join('; ')}.`, 'warn');
  return settings;
}

function banner(text: string, kind: 'error' | 'warn' | 'info'): void {
  const b = $('banner');
  b.textContent = text;
  b.className = kind;
  b.hidden = false;
}

const hook = installHook();
const message = $('message');
const status = $('status');
const violationsEl = $('violations');

function drawView(v: ViewData, runner: Runner): void {
  const K = v.settings.K;
  drawSamples($('v-samples'), { real: v.real, fake: v.fake, field: v.field, n: GRID, frame: FRAME });
  drawGradMap($('v-grad'), { gradNorm: v.gradNorm, n: GRID, frame: FRAME, K, real: v.real });
  if (v.pairs.ratio.length) {
    const batch = v.pairs.ratio.length / 2;
    drawPairs($('v-pairs'), { ...v.pairs, K, frame: FRAME, batch });
    drawHistogram($('v-hist'), { ratio: v.pairs.ratio, K });
    const n = v.pairs.ratio.filter((q) => q > K).length;
    violationsEl.textContent = `${n} / ${v.pairs.ratio.length} pairs violate (ratio > K = ${K})`;
    $('pairs-note').textContent = v.pairs.fromTraining
      ? `From the critic step's own search: k = ${v.settings.k}, ξ = ${v.settings.xi}, ${epsLabel(v.settings)}.`
      : `${v.settings.reg.toUpperCase()} does not search; the same search (k = ${v.settings.k}, ξ = ${v.settings.xi}, ${epsLabel(v.settings)}) runs here as a probe.`;
  }
  drawCurves($('v-curves'), runner.history);
  $('w1').textContent = Number.isFinite(v.w1) ? v.w1.toFixed(3) : '–';
}

function updateStatus(runner: Runner): void {
  const r = runner.lastRow;
  const parts = [
    `iteration ${runner.session.iter}`,
    runner.fatalError
      ? 'stopped'
      : runner.running
        ? `${Number.isFinite(runner.itPerSec) ? runner.itPerSec.toFixed(1) : '…'} it/s`
        : runner.busy
          ? 'probing'
          : 'paused',
    `${runner.settings.reg.toUpperCase()}${runner.session.used?.lambda != null ? ` λ=${runner.session.used.lambda}` : ''}`,
  ];
  if (r?.violations !== undefined) parts.push(`training violations ${r.violations} / ${2 * runner.settings.batch}`);
  status.textContent = parts.join(' · ');
}

async function start(): Promise<void> {
  let adapter: string;
  let stopTraining = (_why: string) => {};
  try {
    ({ adapter } = await startGpu((text) => {
      banner(text, 'error');
      hook.phase = 'error';
      hook.error = text;
      stopTraining(text);
    }));
  } catch (e) {
    const text = e instanceof GpuUnavailable ? e.message : `Could not start WebGPU: ${(e as Error).message}`;
    banner(text, 'error');
    status.textContent = 'no WebGPU';
    hook.phase = 'error';
    hook.error = text;
    return;
  }
  hook.adapter = adapter;
  $('adapter').textContent = adapter;

  let controls: Controls | null = null;
  const runner: Runner = new Runner(settingsFromUrl(), {
    view: (v) => drawView(v, runner),
    message: (text, kind = 'info') => {
      message.textContent = text;
      message.className = kind;
    },
    settings: (s) => controls?.show(s),
    running: (on) => controls?.showRunning(on),
    busy: (on) => {
      controls?.setBusy(on);
      $('probe-out').classList.toggle('busy', on);
      if (!on) $('probe-progress').textContent = '';
    },
    probe: (report) => renderProbe($('probe-out'), report),
    probeProgress: (t) => ($('probe-progress').textContent = t),
    fatal: (text) => {
      if (hook.phase === 'error') return; // the device-lost banner says it better
      banner(`Training stopped: ${text}`, 'error');
      hook.error = text;
    },
  });
  stopTraining = (why) => runner.stop(why);
  controls = new Controls($('controls'), runner.settings, {
    change: (p) => runner.change(p),
    pause: () => runner.setRunning(!runner.running),
    step: () => runner.step(),
    reset: () => runner.reset(),
    probe: () => void runner.probe(),
  });
  controls.showRunning(true);
  connectHook(hook, runner, () => violationsEl.textContent ?? '');
  hook.phase = 'running';
  setInterval(() => updateStatus(runner), 500);
  // a resize redraws the last picture at the new size
  window.addEventListener('resize', () => runner.lastView && drawView(runner.lastView, runner));
  await runner.loop();
}

void start();
