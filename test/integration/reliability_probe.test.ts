// The reliability probe (kill -9 during checkpointing, divergence, corrupt resume state) in its
// CI form, and the CLI's one-line errors. Each case spawns the real scripts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const tsx = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', ...args], { encoding: 'utf8', timeout: 600_000 });
const errorLines = (stderr: string) =>
  stderr.split('\n').filter((l) => l && !l.startsWith('Warning: ') && !l.startsWith('adapter: '));

describe('reliability probe', () => {
  it('kill -9, NaN and corrupt-resume scenarios on toy_wgan and image_wgan (--quick)', () => {
    const r = tsx(['test/integration/reliability_probe.ts', '--quick']);
    expect(r.stdout, r.stderr).toMatch(/probe: 12 passed, 0 failed/);
    expect(r.status).toBe(0);
  }, 600_000);
});

describe('CLI errors are one line, name the option, and exit non-zero', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'alr-cli-')), 'a-file');
  fs.writeFileSync(file, '');
  for (const [args, pattern] of [
    [
      ['--iters', 'abc'],
      /^error: option '--iters <n>' argument 'abc' is invalid\. --iters: expected an integer >= 1, got 'abc'$/,
    ],
    [['--lr', ''], /^error: option '--lr <x>' argument '' is invalid\. --lr: expected a number, got ''$/],
    [['--out', ''], /^error: option '--out <dir>' argument '' is invalid\. --out: expected a folder path, got ''$/],
    [
      ['--quick', '--out', path.join(file, 'sub')],
      /^--out .*a-file\/sub: cannot create or write the output folder \(ENOTDIR\)$/,
    ],
  ] as const) {
    it(`toy_wgan ${args.join(' ')}`, () => {
      const r = tsx(['experiments/toy_wgan.ts', ...args]);
      const lines = errorLines(r.stderr);
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(pattern);
      expect(r.status).toBe(1);
    });
  }
  // options a script would ignore are refused, not silently dropped
  for (const [script, args, pattern] of [
    ['toy_compare', ['--reg', 'gp'], /^toy_compare: --reg is not an option here: every regulariser runs/],
    [
      'lipschitz_regression',
      ['--quick', '--reg', 'alp', '--lambda', '3'],
      /^lipschitz_regression: --reg, --lambda are set per run by the --quick grid/,
    ],
    [
      'lipschitz_regression',
      ['--only', 'bn_lp_l1'],
      /^lipschitz_regression: --only selects runs of the grid; add --grid$/,
    ],
  ] as const) {
    it(`${script} ${args.join(' ')}`, () => {
      const r = tsx([`experiments/${script}.ts`, ...args, '--out', fs.mkdtempSync(path.join(os.tmpdir(), 'alr-cli-'))]);
      const lines = errorLines(r.stderr);
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(pattern);
      expect(r.status).toBe(1);
    });
  }
});
