import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // ALR_TUNE=0: tests use the heuristic variant (tune.test.ts turns timing on for itself)
    env: { ALR_QUIET_LEAKS: '1', ALR_TUNE: '0' },
  },
});
