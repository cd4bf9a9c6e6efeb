import fs from 'node:fs';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

const TIERS = ['unit', 'integration', 'e2e'];

// A test file outside the three tier folders would belong to no project and silently never run.
const stray = (fs.readdirSync(new URL('./test', import.meta.url), { recursive: true }) as string[])
  .filter((f) => f.endsWith('.test.ts') && !TIERS.includes(f.split(path.sep)[0]))
  .map((f) => path.join('test', f));
if (stray.length) throw new Error(`vitest: ${stray.join(', ')} not in test/unit, test/integration or test/e2e`);

// Three tiers, one project each (`npm test` runs all three, as CI does):
// - unit: the engine, nn, alr and training modules in-process (npm run test:unit, the inner loop)
// - integration: the experiment scripts' --quick runs, the sweep tool's local backend, the bench
//   harness, the README example and long loops, mostly in child processes
// - e2e: what a user installs and where it runs: npm pack, Deno, Chromium, Slurm
export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // ALR_TUNE=0: tests use the heuristic variant (tune.test.ts turns timing on for itself)
    env: { ALR_QUIET_LEAKS: '1', ALR_TUNE: '0' },
    projects: TIERS.map((name) => ({ extends: true, test: { name, include: [`test/${name}/**/*.test.ts`] } })),
  },
});
