// The playground's training iteration in headless Chromium (SwiftShader on this machine): the
// page's own Session with its default settings, without the views, per kernel variant; the
// browser-side counterpart of bench/step_profile.ts.
//
//   npx tsx bench/playground_step.ts [--variants default,subgroup,register] [--iters 10]
//       [--rounds 5] [--profile]   the per-kernel GPU time of the first variant (timestamp queries)
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { launchChromium } from './chromium.js';
import { benchArgs, intFlag } from './cli.js';

const USAGE =
  'usage: npx tsx bench/playground_step.ts [--variants default,register,subgroup,subgroup-uniform,tiled] [--iters 10] [--rounds 5] [--profile]';
const args = benchArgs(USAGE, {
  variants: { type: 'string', default: 'default' },
  iters: { type: 'string', default: '10' },
  rounds: { type: 'string', default: '5' },
  profile: { type: 'boolean', default: false },
});
const iters = intFlag('iters', args.iters);
const rounds = intFlag('rounds', args.rounds);
const VARIANTS = ['default', 'register', 'subgroup', 'subgroup-uniform', 'tiled'];
for (const v of args.variants.split(','))
  if (!VARIANTS.includes(v)) {
    console.error(`--variants: '${v}' is not one of ${VARIANTS.join(', ')}`);
    process.exit(1);
  }
const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
if (!chromium) {
  console.error('playground_step: no Chromium at /usr/bin/chromium (bash .ci/setup.sh installs it)');
  process.exit(1);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alr-playground-step-'));
await build({
  entryPoints: [path.join(import.meta.dirname, 'playground_step_page.ts')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  outfile: path.join(dir, 'page.js'),
  logLevel: 'error',
});
fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><script type="module" src="page.js"></script>');
const server = http.createServer((req, res) => {
  const file = (req.url ?? '/').split('?')[0] === '/page.js' ? 'page.js' : 'index.html';
  res.writeHead(200, { 'content-type': file === 'page.js' ? 'text/javascript' : 'text/html' });
  res.end(fs.readFileSync(path.join(dir, file)));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as { port: number };
const browser = await launchChromium(chromium);
try {
  const page = await browser.newPage();
  const query = new URLSearchParams({
    variants: args.variants,
    iters: String(iters),
    rounds: String(rounds),
    profile: args.profile ? '1' : '0',
  });
  await page.goto(`http://127.0.0.1:${port}/?${query}`);
  await page.waitForFunction(() => window.__done === true, { timeout: 0, polling: 500 });
  const lines = await page.evaluate(() => window.__lines ?? []);
  console.log(lines.join('\n'));
  if (lines.some((l) => l.startsWith('error:'))) process.exitCode = 1;
} finally {
  await browser.close();
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
