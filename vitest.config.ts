import { defineConfig } from 'vitest/config';

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
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts'] } },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'] } },
    ],
  },
});
