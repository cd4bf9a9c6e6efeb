// The published package, as a user gets it: `npm pack` (which builds dist/), install the tarball
// into a fresh project, train with plain `node` (no tsx), and type-check a TypeScript consumer
// against the shipped declarations.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = process.cwd();
const npm = (args: string[], cwd: string) => spawnSync('npm', args, { cwd, encoding: 'utf8', timeout: 300_000 });

describe('npm package', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alr-pkg-'));
  const app = path.join(work, 'app');
  let tarball = '';

  it('packs: dist/ with declarations for every entry point, no sources, tests or experiments', () => {
    const r = npm(['pack', '--json', '--pack-destination', work], repo);
    expect(r.status, r.stderr).toBe(0);
    const [info] = JSON.parse(r.stdout.slice(r.stdout.indexOf('[')));
    tarball = path.join(work, info.filename);
    const files: string[] = info.files.map((f: { path: string }) => f.path);
    for (const entry of ['engine/index', 'engine/web', 'nn/index', 'nn/web', 'alr/index']) {
      expect(files).toContain(`dist/${entry}.js`);
      expect(files).toContain(`dist/${entry}.d.ts`);
    }
    expect(files.filter((f) => !f.startsWith('dist/') && !['package.json', 'README.md'].includes(f))).toEqual([]);
    // experiments/training is the one part of experiments/ that ships (alr-webgpu/training)
    expect(files.some((f) => /experiments|bench|test\//.test(f.replace('dist/experiments/training/', '')))).toBe(false);
    expect(files).toContain('dist/experiments/training/index.js');
    expect(files).toContain('dist/experiments/training/index.d.ts');
  }, 300_000);

  it('installs into a fresh project without install-script warnings, and trains under plain node', () => {
    fs.mkdirSync(app);
    fs.writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({
        name: 'app',
        private: true,
        type: 'module',
        allowScripts: { webgpu: true },
        dependencies: { 'alr-webgpu': `file:${tarball}` },
      }),
    );
    const r = npm(['install', '--prefer-offline', '--no-audit', '--no-fund'], app);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr + r.stdout).not.toMatch(/install-scripts|allowScripts/);
    fs.writeFileSync(
      path.join(app, 'train.mjs'),
      `import * as E from 'alr-webgpu';
import { Linear, Sequential, ReLU } from 'alr-webgpu/nn';
import { uniformEps } from 'alr-webgpu/alr';
import { Metrics } from 'alr-webgpu/training';
await E.initDevice();
E.manualSeed(0);
const net = new Sequential(new Linear(2, 16), new ReLU(), new Linear(16, 1));
const opt = new E.Adam(net.parameters(), { lr: 1e-2 });
const x = E.randUniform([64, 2], -1, 1);
const y = E.sum(E.square(x), 1, true);
const losses = [];
for (let i = 0; i < 30; i++) {
  const loss = E.tidy(() => {
    const l = E.mean(E.square(E.sub(net.forward(x), y)));
    opt.step(E.grad(l, net.parameters()));
    return l;
  });
  if (i % 10 === 0 || i === 29) losses.push(await loss.item());
  loss.dispose();
  await E.endStep();
}
const metrics = new Metrics('out/metrics.jsonl'); // alr-webgpu/training without its optional peers
metrics.write({ step: 30, loss: losses[losses.length - 1] });
metrics.close();
const rows = Metrics.read('out/metrics.jsonl').length;
console.log(JSON.stringify({ losses, rows, eps: uniformEps(0.1, 10).kind, adapter: E.adapterName() }));
await E.releaseDevice();
`,
    );
    const out = execFileSync(process.execPath, ['train.mjs'], {
      cwd: app,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    const { losses, eps, rows } = JSON.parse(out.trim().split('\n').pop()!);
    expect(eps).toBe('uniform');
    expect(rows).toBe(1);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.5);
  }, 300_000);

  it('type-checks a TypeScript consumer against the shipped declarations, and rejects a wrong call', () => {
    fs.writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: [],
        },
        include: ['good.ts'],
      }),
    );
    fs.writeFileSync(
      path.join(app, 'good.ts'),
      `import * as E from 'alr-webgpu';
import { MLP, encodeCheckpoint, type Module } from 'alr-webgpu/nn';
import { adversarialLipschitzPenalty, type Critic } from 'alr-webgpu/alr';
export async function run(device?: GPUDevice): Promise<number> {
  await E.initDevice(device);
  const m: Module = new MLP([2, 8, 1]);
  const critic: Critic = { forward: (x: E.Tensor) => m.forward(x), parameters: () => m.parameters() };
  const p = adversarialLipschitzPenalty(critic, E.randNormal([4, 2]), { lambda: 1, k: 1 });
  const bytes: Uint8Array = await encodeCheckpoint({ modules: m });
  return (await p.loss.item()) + bytes.length;
}
`,
    );
    const tsc = path.join(repo, 'node_modules', '.bin', 'tsc');
    const good = spawnSync(tsc, ['-p', '.'], { cwd: app, encoding: 'utf8' });
    expect(good.status, good.stdout + good.stderr).toBe(0);
    fs.writeFileSync(
      path.join(app, 'bad.ts'),
      `import * as E from 'alr-webgpu';\nE.matmul(E.ones([2, 2]), 'not a tensor');\n`,
    );
    fs.writeFileSync(
      path.join(app, 'tsconfig.bad.json'),
      JSON.stringify({ extends: './tsconfig.json', include: ['bad.ts'] }),
    );
    const bad = spawnSync(tsc, ['-p', 'tsconfig.bad.json'], { cwd: app, encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toMatch(/bad\.ts\(2,\d+\): error TS2345/);
  }, 120_000);
});
