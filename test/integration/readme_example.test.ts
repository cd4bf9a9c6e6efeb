// The README's conditional WGAN-ALP example (Embedding, projection critic, SiLU, clipGrads,
// EMA, a checkpoint), run as it stands in README.md: the block is cut from the file,
// its imports pointed at the sources, and run under tsx in a child process (it owns its device).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The first ```ts block after the heading that starts with `heading`. */
function snippet(heading: string): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf(heading);
  if (at < 0) throw new Error(`README.md has no heading '${heading}'`);
  const m = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!m) throw new Error(`README.md: no ts block after '${heading}'`);
  return m[1];
}

describe('README example', () => {
  it('a conditional WGAN-ALP with a projection critic and EMA puts every class on its mode', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alr-readme-'));
    const out = path.join(dir, 'cgan');
    const code = snippet('#### Example: a conditional WGAN-ALP')
      .replace(
        /from '\.\/(engine|nn|alr)\/index\.js'/g,
        (_, p) => `from ${JSON.stringify(path.join(ROOT, p, 'index.ts'))}`,
      )
      .replace("'out/cgan/checkpoint.safetensors'", JSON.stringify(path.join(out, 'checkpoint.safetensors')));
    const file = path.join(dir, 'example.mts'); // an ES module wherever it lies (top-level await)
    fs.writeFileSync(file, `${code}\nawait E.releaseDevice();\n`);
    const stdout = execFileSync(path.join(ROOT, 'node_modules/.bin/tsx'), [file], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, ALR_QUIET_LEAKS: '1' },
    });
    const m = /(\d+)\/(\d+) samples of the averaged generator lie on their class's mode/.exec(stdout);
    expect(m, stdout).not.toBeNull();
    expect(Number(m![2])).toBe(32);
    expect(Number(m![1])).toBeGreaterThanOrEqual(28);
    expect(fs.statSync(path.join(out, 'checkpoint.safetensors')).size).toBeGreaterThan(0);
  }, 300_000);

  it('the compiled-step example captures once, replays, and names its fused kernels', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alr-readme-'));
    const code = snippet('## Compiled steps and fusion').replace(
      /from '\.\/(engine|nn|alr)\/index\.js'/g,
      (_, p) => `from ${JSON.stringify(path.join(ROOT, p, 'index.ts'))}`,
    );
    const file = path.join(dir, 'compiled.mts');
    fs.writeFileSync(file, `${code}\nawait E.releaseDevice();\n`);
    const stdout = execFileSync(path.join(ROOT, 'node_modules/.bin/tsx'), [file], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, ALR_QUIET_LEAKS: '1' },
    });
    expect(stdout).toMatch(/loss -?\d/);
    expect(stdout).toMatch(/eagerCalls: 1,\s+captures: 1,\s+replays: 8/);
    expect(stdout).toContain('} null');
    expect(stdout).toMatch(/'fused\./);
  }, 120_000);
});
