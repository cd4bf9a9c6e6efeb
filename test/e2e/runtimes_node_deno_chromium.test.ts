// The engine on three WebGPU implementations. The portable suite (bench/conformance/suite.ts) runs
// under Node here (Dawn/Tint), and bundled for the browser platform under Deno (wgpu/naga) and in
// headless Chromium (Dawn on SwiftShader). The bundle itself is a test: esbuild fails on any
// Node built-in reachable from the portable entry points.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { build, type Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as E from '../../engine/index.js';
import { runPortableSuite, type SuiteReport } from '../../bench/conformance/suite.js';

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'alr-portable-'));
const DENO = path.resolve('node_modules/.bin/deno');
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));

async function bundle(entry: string, outfile: string): Promise<Metafile> {
  const r = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outfile,
    metafile: true,
    logLevel: 'silent',
  });
  return r.metafile!;
}

/** The report's failures, one line each, for assertion messages. */
const failures = (r: SuiteReport) =>
  r.results
    .filter((x) => !x.ok)
    .map((x) => `${x.group} / ${x.name}: ${x.detail}`)
    .join('\n');

function expectAllPassed(r: SuiteReport, minChecks: number): void {
  expect(r.failed, failures(r)).toBe(0);
  expect(r.passed).toBeGreaterThanOrEqual(minChecks);
}

// every fixture case and optimiser run, the five named checks, and per variant (at least
// register and tiled) a validation pass, plus the bit-identity check: what every runtime must run
const fixture = (f: string) => JSON.parse(fs.readFileSync(`bench/conformance/fixtures/${f}.json`, 'utf8'));
const MIN_CHECKS =
  ['elementwise', 'reduce', 'shape', 'matmul', 'conv', 'norm'].reduce((n, f) => n + fixture(f).cases.length, 0) +
  fixture('optim').runs.length +
  5 +
  3;

describe('portable suite', () => {
  it('under Node (Dawn): every check passes', async () => {
    const r = await runPortableSuite();
    await E.releaseDevice();
    expectAllPassed(r, MIN_CHECKS);
  }, 600_000);

  it('bundles for the browser with no Node built-in or Dawn reachable', async () => {
    const meta = await bundle('test/e2e/portable/library_entry.ts', path.join(out, 'library.js'));
    const inputs = Object.keys(meta.inputs);
    expect(inputs.filter((f) => /^node:|node_modules\/webgpu\/|platform_node/.test(f))).toEqual([]);
    expect(inputs.some((f) => f.startsWith('engine/'))).toBe(true);
    const bytes = fs.statSync(path.join(out, 'library.js')).size;
    console.log(`browser bundle of engine + nn + alr: ${(bytes / 1024).toFixed(0)} KiB unminified`);
    // and a module that does reach Node fails the same build
    fs.writeFileSync(path.join(out, 'bad.ts'), `export * from '${path.resolve('engine/index.ts')}';\n`);
    await expect(bundle(path.join(out, 'bad.ts'), path.join(out, 'bad.js'))).rejects.toThrow(/node:|Could not resolve/);
  }, 120_000);
});

describe.runIf(fs.existsSync(DENO))('portable suite under Deno (wgpu / naga)', () => {
  it('every check passes on the Deno adapter', async () => {
    await bundle('test/e2e/portable/deno_main.ts', path.join(out, 'deno.js'));
    const r = spawnSync(DENO, ['run', '--no-prompt', path.join(out, 'deno.js')], {
      encoding: 'utf8',
      timeout: 600_000,
      env: { ...process.env, NO_COLOR: '1' },
    });
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!) as SuiteReport;
    console.log(
      `Deno: ${report.passed} passed, ${report.failed} failed on ${report.adapter} (variants ${report.variants.join(', ')}) in ${report.seconds.toFixed(1)} s`,
    );
    expectAllPassed(report, MIN_CHECKS);
  }, 600_000);
});

// Debian's Chromium is installed by .ci/setup-system.sh; without it (another OS) there is no
// browser to drive, and puppeteer-core may not download one.
describe.runIf(CHROMIUM)('portable suite in headless Chromium (Dawn / SwiftShader)', () => {
  let server: http.Server;
  let url = '';
  beforeAll(async () => {
    await bundle('test/e2e/portable/browser_main.ts', path.join(out, 'suite.js'));
    fs.writeFileSync(
      path.join(out, 'index.html'),
      '<!doctype html><title>alr-webgpu portable suite</title><pre id="status">loading</pre><script type="module" src="suite.js"></script>',
    );
    server = http.createServer((req, res) => {
      if (req.url === '/favicon.ico') return res.writeHead(204).end();
      const file = path.join(out, path.basename(req.url === '/' ? 'index.html' : req.url!.split('?')[0]));
      if (!fs.existsSync(file)) return res.writeHead(404).end();
      res
        .writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/html' })
        .end(fs.readFileSync(file));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('every check passes on the browser adapter, with no console errors', async () => {
    const { launchChromium } = await import('../../bench/chromium.js');
    const browser = await launchChromium(CHROMIUM!);
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(url);
      // short polls: one long waitForFunction call would hit the DevTools protocol's timeout
      const deadline = Date.now() + 500_000;
      while (!(await page.evaluate('!!(window.__report || window.__error)')) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 1000));
      const report = (await page.evaluate('window.__report')) as SuiteReport | undefined;
      const error = await page.evaluate('window.__error');
      expect(
        report ?? error,
        `no report after 500 s; page status: ${await page.evaluate('document.getElementById("status").textContent')}`,
      ).toBeDefined();
      await page.screenshot({ path: path.join(out, 'chromium.png') });
      expect(error).toBeUndefined();
      console.log(
        `Chromium: ${report!.passed} passed, ${report!.failed} failed on ${report!.adapter} (variants ${report!.variants.join(', ')}) in ${report!.seconds.toFixed(1)} s`,
      );
      expectAllPassed(report!, MIN_CHECKS);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 600_000);
});
