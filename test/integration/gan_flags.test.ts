// --loss, --penalty-norm and --ema on both WGAN scripts: the flags parse and refuse nonsense in
// one line, every loss trains, the EMA generator is checkpointed and resumed exactly, its
// evaluation leaves the raw run untouched, and the compiled iteration still matches --eager.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CommanderError } from 'commander';
import { runToyWgan, toyCli, toyOptions } from '../../experiments/toy_wgan.js';
import { imageCli, imageOptions, runImageWgan } from '../../experiments/image_wgan.js';
import { Metrics } from '../../experiments/training/run.js';
import { writeSyntheticFashion } from '../../experiments/training/data/synthetic.js';
import { classifierOptions, runClassifier } from '../../experiments/fmnist_classifier.js';
import { useGpu } from '../support/gpu.js';

useGpu();

const tmp = (p: string) => fs.mkdtempSync(path.join(os.tmpdir(), p));
const strip = (rows: Record<string, number>[]) =>
  rows.map(({ seconds: _s, rssMB: _r, gpuMB: _g, bindGroups: _b, ...r }) => r);
const metrics = (dir: string) => strip(Metrics.read(path.join(dir, 'metrics.jsonl')));
const rawOnly = (rows: Record<string, number>[]) =>
  rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith('ema'))));

/** Parses argv with a script's command; returns its options, or the one-line error it exits with. */
function parse(cli: () => import('commander').Command, argv: string[]): Record<string, unknown> | string {
  let err = '';
  const cmd = cli()
    .exitOverride()
    .configureOutput({ writeErr: (s) => (err += s), writeOut: () => undefined });
  try {
    return cmd.parse(argv, { from: 'user' }).opts();
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    return err.trim();
  }
}

describe('GAN flags: parsing and refusals', () => {
  it('parse --loss, --penalty-norm and --ema on both scripts', () => {
    for (const [cli, opts] of [
      [toyCli, toyOptions],
      [imageCli, imageOptions],
    ] as const) {
      const p = parse(cli, ['--reg', 'lp', '--loss', 'hinge', '--penalty-norm', 'linf', '--ema', '0.99']);
      expect(typeof p).toBe('object');
      const o = opts(p as Record<string, unknown>);
      expect([o.loss, o.penaltyNorm, o.ema]).toEqual(['hinge', 'linf', 0.99]);
      const d = opts(parse(cli, []) as Record<string, unknown>);
      expect([d.loss, d.penaltyNorm, d.ema]).toEqual(['wgan', 'l2', undefined]);
    }
  });

  it('refuse bad values and nonsensical combinations in one line', () => {
    for (const [cli, opts] of [
      [toyCli, toyOptions],
      [imageCli, imageOptions],
    ] as const) {
      for (const [argv, re] of [
        [['--ema', '1'], /--ema: expected a decay strictly between 0 and 1/],
        [['--ema', '0'], /--ema: expected a decay strictly between 0 and 1/],
        [['--ema', '1.5'], /--ema: expected a number in \[0, 1\]/],
        [['--ema', 'x'], /--ema: expected a number, got 'x'/],
      ] as const) {
        const e = parse(cli, [...argv]);
        expect(typeof e, argv.join(' ')).toBe('string');
        expect(e).toMatch(re);
        expect((e as string).split('\n').length).toBe(1);
      }
      for (const [argv, re] of [
        [['--loss', 'wasserstein'], /^--loss: expected one of wgan, hinge, standard, leastSquares, got 'wasserstein'$/],
        [['--reg', 'gp', '--penalty-norm', 'l3'], /^--penalty-norm: expected one of l2, linf, l1, got 'l3'$/],
        [
          ['--reg', 'none', '--penalty-norm', 'l1'],
          /^--penalty-norm l1 with --reg none: only gp and lp penalise a gradient norm/,
        ],
        [['--reg', 'alp', '--penalty-norm', 'l2'], /^--penalty-norm l2 with --reg alp: only gp and lp/],
        [['--reg', 'sn', '--penalty-norm', 'linf'], /^--penalty-norm linf with --reg sn/],
      ] as const) {
        const p = parse(cli, [...argv]);
        expect(typeof p, argv.join(' ')).toBe('object');
        let msg = '';
        try {
          opts(p as Record<string, unknown>);
        } catch (e) {
          msg = (e as Error).message;
        }
        expect(msg, argv.join(' ')).toMatch(re);
        expect(msg.split('\n').length).toBe(1);
      }
    }
    expect(() => toyOptions(parse(toyCli, ['--reg', 'clip', '--loss', 'hinge']) as Record<string, unknown>)).toThrow(
      /^--loss hinge with --reg clip/,
    );
  });
});

describe('GAN flags: training', () => {
  it('toy: a quick run with each loss (and GP / LP with L∞ and L1) trains to finite metrics', async () => {
    const runs: [string, Record<string, unknown>][] = [
      ['hinge/alp', { loss: 'hinge', reg: 'alp' }],
      ['standard/gp-linf', { loss: 'standard', reg: 'gp', penaltyNorm: 'linf' }],
      ['leastSquares/lp-l1', { loss: 'leastSquares', reg: 'lp', penaltyNorm: 'l1' }],
      ['hinge/sn', { loss: 'hinge', reg: 'sn' }],
      ['wgan/gp-l1', { loss: 'wgan', reg: 'gp', penaltyNorm: 'l1' }],
    ];
    for (const [name, flags] of runs) {
      const out = tmp('toyloss-');
      const s = await runToyWgan({
        ...toyOptions({ quick: true, seed: 2, progress: false, dataset: '8gaussians', out, ...flags }),
        iters: 4,
        every: 4,
      });
      for (const k of ['w1', 'wasserstein', 'criticLoss', 'gradNormInterp'])
        expect(Number.isFinite(s.final[k]), `${name} ${k}`).toBe(true);
      if (flags.reg !== 'sn') expect(s.final.penaltyLoss, name).toBeGreaterThanOrEqual(0);
    }
  });

  it('toy --ema: resumed metrics are bit-identical, the raw run is the run without --ema, compiled = eager', async () => {
    const base = {
      quick: true,
      seed: 4,
      progress: false,
      dataset: '8gaussians',
      reg: 'lp',
      loss: 'hinge',
      penaltyNorm: 'linf',
    };
    const a = tmp('toyemaA-');
    await runToyWgan({ ...toyOptions({ ...base, ema: 0.9, out: a }), iters: 12, every: 6 });
    const b = tmp('toyemaB-');
    await runToyWgan({ ...toyOptions({ ...base, ema: 0.9, out: b }), iters: 6, every: 6 });
    await runToyWgan({ ...toyOptions({ ...base, ema: 0.9, out: b }), iters: 12, every: 6, resume: true });
    const ra = metrics(a);
    expect(ra.length).toBe(2);
    for (const r of ra) for (const k of ['emaW1', 'emaModesCovered']) expect(Number.isFinite(r[k]), k).toBe(true);
    expect(ra[1].emaW1).not.toBe(ra[1].w1);
    expect(metrics(b)).toEqual(ra);
    for (const f of ['ema_samples_000012.png', 'ema_samples.png', 'samples_000012.png'])
      expect(fs.existsSync(path.join(a, f)), f).toBe(true);
    // the EMA is evaluated on the raw generator's z: the raw numbers are those of a run without --ema
    const c = tmp('toyemaC-');
    await runToyWgan({ ...toyOptions({ ...base, out: c }), iters: 12, every: 6 });
    expect(metrics(c)).toEqual(rawOnly(ra));
    // the EMA update inside the compiled iteration gives the eager numbers
    const d = tmp('toyemaD-');
    await runToyWgan({ ...toyOptions({ ...base, ema: 0.9, out: d }), iters: 12, every: 6, eager: true });
    expect(metrics(d)).toEqual(ra);
  });

  it('image: --ema with --loss hinge and GP-L1 resumes exactly, matches --eager, and writes EMA grids and scores', async () => {
    const root = tmp('imgema-');
    const fashion = writeSyntheticFashion(path.join(root, 'fashion'), { train: 64, test: 32 });
    const base = {
      config: 'fmnist',
      reg: 'gp',
      penaltyNorm: 'l1',
      loss: 'hinge',
      ema: 0.5,
      norm: 'batch',
      quick: true,
      data: fashion,
      progress: false,
      seed: 3,
    };
    const run = async (out: string, iters: number, extra: object = {}) =>
      runImageWgan({
        ...imageOptions({ ...base, out: path.join(root, out) }),
        iters,
        every: 2,
        sampleEvery: 2,
        decayIters: 4,
        ...extra,
      });
    await run('a', 4);
    await run('b', 2);
    await run('b', 4, { resume: true });
    await run('c', 4, { eager: true });
    const ra = metrics(path.join(root, 'a'));
    expect(ra.map((r) => r.step)).toEqual([2, 4]);
    expect(metrics(path.join(root, 'b'))).toEqual(ra);
    expect(metrics(path.join(root, 'c'))).toEqual(ra);
    for (const r of ra) expect(Number.isFinite(r.gradNormPenalty)).toBe(true);
    for (const f of ['ema_samples_000004.png', 'samples_000004.png'])
      expect(fs.existsSync(path.join(root, 'a', f)), f).toBe(true);
    // cFID / cIS for both generators; the EMA's evaluation leaves the raw run as without --ema
    const clf = path.join(root, 'clf');
    await runClassifier(classifierOptions({ quick: true, data: fashion, out: clf, progress: false, seed: 0 }));
    await run('d', 4, { classifier: clf, evalSamples: 20, evalEvery: 2 });
    await run('e', 4, { classifier: clf, evalSamples: 20, evalEvery: 2, ema: undefined });
    const rd = metrics(path.join(root, 'd'));
    for (const r of rd)
      for (const k of ['cFID', 'cIS', 'emaCFID', 'emaCIS']) expect(Number.isFinite(r[k]), k).toBe(true);
    expect(metrics(path.join(root, 'e'))).toEqual(rawOnly(rd));
  });
});
