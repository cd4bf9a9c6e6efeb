// The leak warning names what leaked: a tensor dropped without dispose() and collected by the
// garbage collector is reported with its id, shape, dtype, the op that made it, its buffer size
// and (with ALR_LEAK_SITES=1) the line that created it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../../..');

describe('leak warning', () => {
  it('names the shape, dtype, op and creation site of a leaked tensor', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alr-leak-'));
    const script = path.join(dir, 'leak.mts');
    fs.writeFileSync(
      script,
      `import * as E from ${JSON.stringify(path.join(ROOT, 'engine/index.ts'))};
await E.initDevice();
(() => {
  const x = E.requireGrad(E.ones([3, 5])), w = E.ones([5, 7]);
  E.matmul(x, w); // dropped: never disposed
  E.dispose([x, w]); // so the only leak (the one named, whichever finalizer runs first) is the product
})();
// finalizers run some time after a collection: under load that took more than 20 rounds
for (let i = 0; i < 250 && E.leaks.collected === 0; i++) {
  (globalThis as unknown as { gc: () => void }).gc();
  await new Promise((r) => setTimeout(r, 20));
}
await E.releaseDevice();
`,
    );
    const env = { ...process.env, ALR_LEAK_SITES: '1' } as Record<string, string | undefined>;
    delete env.ALR_QUIET_LEAKS;
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', script], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.stderr).toMatch(
      /engine: tensor #\d+ \[3, 7\] f32 \(output of 'matmul'\) was garbage-collected without dispose\(\)/,
    );
    expect(r.stderr).toMatch(/It was created at .*leak\.mts:5/);
  });
});
