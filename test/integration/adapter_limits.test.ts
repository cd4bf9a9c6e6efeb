// bench/adapter_limits.ts's output structure (not its speed), in a child process.
import { describe, expect, it } from 'vitest';
import { adapterName } from '../../engine/index.js';
import { useGpu } from '../support/gpu.js';
import { runScript } from '../support/run_script.js';

useGpu();

const limits = (args: string[]) => runScript('bench/adapter_limits.ts', args);

describe('bench/adapter_limits.ts', () => {
  it('prints the adapter and one figure per measurement, with PyTorch (1 and 2 threads) beside the GEMM or why not', async () => {
    const r = await limits(['--reps', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`adapter: ${adapterName()}`);
    const rows = r.stdout.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| measurement'));
    expect(rows.map((l) => l.split('|')[1].trim().split(':')[0].split(',')[0])).toEqual([
      'fma ceiling',
      'empty dispatch',
      'empty dispatch',
      'empty dispatch',
      'GEMM [512',
    ]);
    for (const row of rows) {
      const ours = row.split('|')[2];
      expect(Number.parseFloat(ours), row).toBeGreaterThan(0);
    }
    for (const column of [3, 4]) {
      const peer = rows[4].split('|')[column].trim();
      if (peer === '—') expect(r.stdout).toMatch(/^PyTorch: .+/m);
      else expect(peer).toMatch(/^\d+\.\d µs \(\d+\.\d GFLOP\/s\)$/);
    }
  }, 180_000);

  it('rejects a bad flag value in one line', async () => {
    const r = await limits(['--reps', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe("--reps: expected an integer >= 1, got '0'");
  }, 60_000);
});
