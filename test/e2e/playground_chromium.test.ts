// The ALR playground (experiments/playground) in a real browser: the site is built with Vite
// into a temporary folder, served over http://127.0.0.1, and driven in Debian's headless
// Chromium (SwiftShader's WebGPU adapter) through its controls and window.playground. It must get
// an adapter, train (sample W1 falls), show the violation count, take a switch to GP and a new λ
// without a reload (checked in the loss the critic step used), run the probe, and log no errors.
// Screenshots go to out/test/playground/.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build, createLogger } from 'vite';
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveStatic } from './playground_server.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
const SHOTS = path.resolve('out/test/playground');
/** iterations of the default run (8gaussians, ALP) before W1 is compared with its start */
const TRAIN_ITERS = 250;

interface Row {
  step: number;
  wasserstein: number;
  criticLoss: number;
  penaltyLoss?: number;
  penaltyRaw?: number;
  violations?: number;
}
interface State {
  phase: string;
  error: string | null;
  adapter: string;
  iter: number;
  running: boolean;
  busy: boolean;
  itPerSec: number;
  views: number;
  settings: { reg: string; lambda: number };
  used: { reg: string; lambda: number | null } | null;
  lastRow: Row | null;
  rows: Row[];
  events: { iter: number; text: string }[];
  w1: { x: number[]; y: number[] };
  viewed: { violations: number; pairs: number } | null;
  violationsText: string;
  diverged: string | null;
  probe: {
    rows: { name: string; cost: number; detectionRate: number; cosGrad: number }[];
    trueViolations: number;
  } | null;
}

/** penaltyLoss / penaltyRaw of the rows after iteration `after` that have a penalty: the λ the loss used. */
function lambdasUsed(s: State, after: number): number[] {
  return s.rows.filter((r) => r.step > after && r.penaltyRaw! > 1e-9).map((r) => r.penaltyLoss! / r.penaltyRaw!);
}

const state = (page: Page) => page.evaluate('window.playground.state()') as Promise<State>;

/** Polls the page's state until `done` holds (short polls: one long evaluate would hit the DevTools timeout). */
async function waitFor(
  page: Page,
  what: string,
  done: (s: State) => boolean,
  timeoutMs: number,
  errorExpected = false,
): Promise<State> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await state(page);
    if (s.error && !errorExpected) throw new Error(`page error while waiting for ${what}: ${s.error}`);
    if (done(s)) return s;
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs / 1000} s waiting for ${what}; state: ${JSON.stringify({ ...s, w1: s.w1?.y.slice(-5), probe: !!s.probe })}`,
      );
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// Debian's Chromium is installed by .ci/setup-system.sh; without it (another OS) there is no
// browser to drive, and puppeteer-core may not download one.
describe.runIf(CHROMIUM)('ALR playground in headless Chromium', () => {
  let site: { url: string; close(): Promise<void> };
  const buildWarnings: string[] = [];

  beforeAll(async () => {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'alr-playground-'));
    const logger = createLogger('warn');
    logger.warn = (msg) => void buildWarnings.push(msg);
    await build({
      configFile: path.resolve('experiments/playground/vite.config.ts'),
      logLevel: 'warn',
      customLogger: logger,
      build: { outDir, emptyOutDir: true },
    });
    site = await serveStatic(outDir);
    fs.mkdirSync(SHOTS, { recursive: true });
  }, 120_000);
  afterAll(() => site?.close());

  it('builds with nothing of Node reachable from the page', () => {
    // Vite replaces a Node built-in with an empty shim and warns; the page would then fail at run time
    expect(buildWarnings.filter((w) => /externalized for browser|node:/.test(w))).toEqual([]);
  });

  it('says so on the page when the browser offers no WebGPU adapter', async () => {
    const { CHROMIUM_FLAGS } = await import('../../bench/chromium.js');
    const puppeteer = (await import('puppeteer-core')).default;
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'alr-chromium-'));
    // without --enable-unsafe-webgpu, Linux Chromium has navigator.gpu but no adapter
    const args = [...CHROMIUM_FLAGS.filter((f) => f !== '--enable-unsafe-webgpu'), `--user-data-dir=${profile}`];
    const browser = await puppeteer.launch({ executablePath: CHROMIUM!, headless: true, args });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(site.url);
      const s = await waitFor(page, 'the no-adapter message', (x) => x.phase !== 'starting', 30_000, true);
      expect(s.phase).toBe('error');
      expect(s.error).toMatch(/no adapter/);
      expect(await page.$eval('#banner', (e) => !(e as HTMLElement).hidden && e.textContent)).toBe(s.error);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);

  it("trains on the page's adapter, takes control changes live, probes, with no console errors", async () => {
    const { launchChromium } = await import('../../bench/chromium.js');
    const browser = await launchChromium(CHROMIUM!);
    const t0 = performance.now();
    const log = (what: string) =>
      console.log(`playground: ${what} at ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    try {
      const page = await browser.newPage();
      await page.setViewport({ width: 1440, height: 1200 });
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(site.url);

      // an adapter, then a default run (8gaussians, ALP with the paper's settings)
      const first = await waitFor(
        page,
        'the device and the first view',
        (s) => s.phase === 'running' && s.views >= 1,
        90_000,
      );
      expect(first.adapter).not.toBe('');
      expect(await page.$eval('#adapter', (e) => e.textContent)).toBe(first.adapter);
      log(`adapter '${first.adapter}', first view`);
      const trained = await waitFor(
        page,
        `${TRAIN_ITERS} iterations`,
        (s) => s.w1.x.length > 0 && s.w1.x[s.w1.x.length - 1] >= TRAIN_ITERS,
        180_000,
      );
      log(`${trained.iter} iterations, ${trained.itPerSec.toFixed(2)} it/s`);
      const w1 = trained.w1.y;
      const late = w1.slice(-3).reduce((a, b) => a + b, 0) / 3;
      console.log(
        `playground: sample W1 ${w1[0].toFixed(3)} at iteration ${trained.w1.x[0]} -> ${late.toFixed(3)} (mean of the last 3 views, to iteration ${trained.w1.x[w1.length - 1]})`,
      );
      expect(late).toBeLessThan(0.8 * w1[0]);
      expect(trained.diverged).toBeNull();

      // the violation count, on the page and in the training rows
      expect(trained.viewed!.pairs).toBe(2 * 128);
      expect(trained.violationsText).toMatch(new RegExp(`^${trained.viewed!.violations} / 256 pairs violate`));
      // the page keeps training and refreshing between the snapshot and this read: same form, not the same count
      expect(await page.$eval('#violations', (e) => e.textContent)).toMatch(
        /^\d+ \/ 256 pairs violate \(ratio > K = 1\)$/,
      );
      expect(trained.lastRow!.violations).toBeGreaterThanOrEqual(0);
      expect(trained.lastRow!.violations).toBeLessThanOrEqual(256);
      expect(trained.used).toMatchObject({ reg: 'alp', lambda: 100 });
      const alpLambdas = lambdasUsed(trained, 0);
      expect(alpLambdas.length).toBeGreaterThan(0);
      for (const l of alpLambdas) expect(l).toBeCloseTo(100, 2);

      // the probe on the ALP critic, through its button
      await page.click('#probe');
      const probed = await waitFor(page, 'the probe', (s) => s.probe !== null && !s.busy, 120_000);
      log('probe done');
      const rows = probed.probe!.rows;
      expect(rows.map((r) => r.name)).toEqual(
        expect.arrayContaining([
          'paper k=0 (random direction)',
          'paper k=1',
          'paper k=5',
          'ascent s=1',
          'multiRadius k=0 M=3',
        ]),
      );
      for (const r of rows) {
        expect(r.cost).toBeGreaterThan(0);
        expect(Number.isFinite(r.cosGrad)).toBe(true);
      }
      expect(await page.$$eval('#probe-out tbody tr', (trs) => trs.length)).toBe(rows.length);
      await page.screenshot({ path: path.join(SHOTS, 'playground_alp.png'), fullPage: true });

      // GP through the regulariser menu: λ becomes GP's default, and the critic step uses it
      const before = (await state(page)).iter;
      await page.select('#c-reg', 'gp');
      const changedAt = (s: State, text: string) => s.events.find((e) => e.text === text)?.iter ?? Infinity;
      const gp = await waitFor(page, 'GP steps', (s) => (s.lastRow?.step ?? 0) >= changedAt(s, 'GP') + 12, 60_000);
      expect(gp.used).toMatchObject({ reg: 'gp', lambda: 0.1 });
      expect(gp.settings).toMatchObject({ reg: 'gp', lambda: 0.1 });
      expect(await page.$eval('#c-lambda', (e) => (e as HTMLInputElement).value)).toBe('0.1');
      expect(gp.lastRow!.violations).toBeUndefined(); // GP's rows carry no ALP monitors
      const gpLambdas = lambdasUsed(gp, changedAt(gp, 'GP'));
      expect(gpLambdas.length).toBeGreaterThan(5);
      for (const l of gpLambdas) expect(l).toBeCloseTo(0.1, 4);
      expect(gp.iter).toBeGreaterThan(before); // no restart: the run went on
      log('GP in effect');

      // a new λ typed into its field
      await page.click('#c-lambda', { clickCount: 3 });
      await page.keyboard.type('0.5');
      await page.keyboard.press('Enter');
      const lam = await waitFor(
        page,
        'λ = 0.5 steps',
        (s) => (s.lastRow?.step ?? 0) >= changedAt(s, 'λ=0.5') + 12,
        60_000,
      );
      expect(lam.used).toMatchObject({ reg: 'gp', lambda: 0.5 });
      const newLambdas = lambdasUsed(lam, changedAt(lam, 'λ=0.5'));
      expect(newLambdas.length).toBeGreaterThan(5);
      for (const l of newLambdas) expect(l).toBeCloseTo(0.5, 4);
      expect(await page.$eval('#message', (e) => e.textContent)).toMatch(/λ=0\.5: in effect/);
      log('λ = 0.5 in effect');

      await page.screenshot({ path: path.join(SHOTS, 'playground.png'), fullPage: true });
      expect(errors).toEqual([]);

      // a lost device: a message on the page, training stopped
      await page.evaluate('window.playground.loseDevice()');
      const lost = await waitFor(page, 'the device-lost state', (s) => s.phase === 'error' && !s.running, 30_000, true);
      expect(lost.error).toMatch(/GPU device was lost/);
      expect(await page.$eval('#banner', (e) => !(e as HTMLElement).hidden && e.textContent)).toMatch(
        /GPU device was lost .*reload the page/,
      );
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 420_000);
});
