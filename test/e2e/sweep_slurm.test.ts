// The sweep tool's Slurm backend against a real Slurm: a tiny sweep of toy WGAN runs submitted as
// one array job to the single-node cluster that .ci/slurm.sh starts (CI: .ci/run starts and stops
// it; by hand: eval "$(bash .ci/slurm.sh start)", later bash .ci/slurm.sh stop), waited for through
// squeue, aggregated, then resubmitted (nothing to do). Also: without sbatch the error says how to
// use the local backend.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `alr-sweep-${name}-`));
const json = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

const HAVE_SBATCH = !spawnSync('sbatch', ['--version']).error;
const CLUSTER_UP = HAVE_SBATCH && spawnSync('sinfo', ['-h'], { encoding: 'utf8' }).status === 0;
// Skipped only on a developer machine with no Slurm cluster answering (none installed, or not
// started: eval "$(bash .ci/slurm.sh start)"); in CI (CI set) .ci/run starts one, and a missing
// cluster fails the test.
const SKIP = !CLUSTER_UP && !process.env.CI;

function sweep(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'experiments/sweep/main.ts', ...args], {
    cwd: ROOT,
    env: { ...env, XDG_RUNTIME_DIR: env.XDG_RUNTIME_DIR ?? os.tmpdir() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const TINY = ['--iters', '4', '--every', '2', '--dim', '16', '--batch', '32', '--critic-iters', '1', '--no-progress'];

describe('slurm backend', () => {
  it('without sbatch: a clear error that points at the local backend', async () => {
    // a PATH with node only (no Slurm client commands), whatever this machine has
    const bin = tmp('nosbatch');
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    const out = tmp('noslurm');
    const r = await sweep(
      ['run', 'experiments/toy_wgan.ts', '--out', out, '--backend', 'slurm', 'seed=0', '--', ...TINY],
      { ...process.env, PATH: bin },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/'sbatch' not found: .* use --backend local/);
    expect(fs.existsSync(path.join(out, 'runs')), 'nothing written before the error').toBe(false);
  });

  it.skipIf(SKIP)(
    'submits a sweep as one array job, waits via squeue, aggregates; a resubmission skips finished runs',
    async () => {
      expect(HAVE_SBATCH, 'CI must have Slurm: .ci/run starts it with .ci/slurm.sh').toBe(true);
      const sinfo = spawnSync('sinfo', ['-h', '-o', '%T'], { encoding: 'utf8' });
      expect(
        sinfo.status,
        `no Slurm cluster answers (${sinfo.stderr.trim()}); start one: eval "$(bash .ci/slurm.sh start)"`,
      ).toBe(0);

      // the adapter option per task: this machine's adapter, by the first word of its name
      const probe = spawnSync(process.execPath, ['--import', 'tsx', 'experiments/sweep/probe.ts'], {
        cwd: ROOT,
        encoding: 'utf8',
      });
      const adapter = /^[A-Za-z0-9]+/.exec(JSON.parse(probe.stdout.trim().split('\n').at(-1)!).adapter)![0];
      const out = tmp('slurm');
      const args = [
        'run',
        'experiments/toy_wgan.ts',
        '--out',
        out,
        '--backend',
        'slurm',
        '--cpus-per-task',
        '1',
        '--mem',
        '1G',
        '--time',
        '00:10:00',
        '--adapter',
        adapter,
        '--wait',
        '--poll',
        '1',
        'reg=alp,none',
        'seed=0-1',
        '--',
        ...TINY,
      ];
      const r = await sweep(args);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect(r.stdout).toMatch(/submitted Slurm job \d+: 4 array task\(s\)/);
      expect(r.stdout).toMatch(/4\/4 finished/);

      const [job] = json(path.join(out, 'slurm', 'jobs.json'));
      expect(job.runs).toEqual(['reg-alp_seed-0', 'reg-alp_seed-1', 'reg-none_seed-0', 'reg-none_seed-1']);
      const script = fs.readFileSync(job.script, 'utf8');
      expect(script).toMatch(/^#SBATCH --array=0-3$/m);
      expect(script).toMatch(/^#SBATCH --cpus-per-task=1$/m);
      expect(script).toMatch(/^#SBATCH --mem=1G$/m);
      expect(script).toMatch(/^#SBATCH --time=00:10:00$/m);
      expect(script).toContain(`\nexport ALR_ADAPTER="${adapter}"\n`);
      for (let task = 0; task < 4; task++) {
        const name = job.runs[task];
        const dir = path.join(out, 'runs', name);
        // Slurm's own log of the task names its run and the adapter option it was given
        expect(fs.readFileSync(path.join(out, 'slurm', `${job.jobId}_${task}.out`), 'utf8')).toContain(
          `${dir}; GPUs none`,
        );
        expect(fs.readFileSync(path.join(out, 'slurm', `${job.jobId}_${task}.out`), 'utf8')).toContain(
          `ALR_ADAPTER=${adapter}`,
        );
        expect(json(path.join(dir, 'status.json'))).toMatchObject({
          state: 'done',
          backend: 'slurm',
          job: `${job.jobId}_${task}`,
          code: 0,
        });
        expect(json(path.join(dir, 'config.json')).adapter).toContain(adapter);
      }

      const agg = json(path.join(out, 'aggregate', 'aggregate.json'));
      for (const reg of ['alp', 'none']) {
        const s = agg.settings.find((x: { label: string }) => x.label === `reg=${reg}`);
        const w1 = [0, 1].map(
          (seed) => json(path.join(out, 'runs', `reg-${reg}_seed-${seed}`, 'summary.json')).final.w1,
        );
        const mean = (w1[0] + w1[1]) / 2;
        expect(s.metrics.w1.n).toBe(2);
        expect(s.metrics.w1.mean).toBeCloseTo(mean, 12);
        expect(s.metrics.w1.std).toBeCloseTo(Math.abs(w1[0] - w1[1]) / Math.SQRT2, 12);
      }
      expect(fs.readFileSync(path.join(out, 'aggregate', 'summary.md'), 'utf8')).toMatch(/^\| alp \| 2\/2 \|/m);

      // everything finished: a resubmission submits nothing
      const again = await sweep(args);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/nothing to submit: 4 run\(s\) finished/);
      expect(json(path.join(out, 'slurm', 'jobs.json'))).toHaveLength(1);

      const st = await sweep(['status', out]);
      expect(st.stdout).toMatch(/4 runs: 4 done/);
    },
    300_000,
  );
});
