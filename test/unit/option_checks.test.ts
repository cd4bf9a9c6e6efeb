// Every option mistake probed in issue 25, called as plain JavaScript would call it (through
// `any`): an unknown key, a snake_case or British spelling, a PyTorch option we do not implement,
// or an out-of-range value is an error naming the key or the value, never a silent default.
import { describe, expect, it } from 'vitest';
import * as E from '../../engine/index.js';
import * as nn from '../../nn/index.js';
import * as A from '../../alr/index.js';
import { toySampler } from '../../experiments/common/toy_data.js';
import { closestKey } from '../../engine/options.js';
import { NONNEG_ARG, numArg, PROBE_ARG } from '../../experiments/training/run.js';
import { lastErrorLine } from '../../experiments/sweep/layout.js';
import { checkScriptFlags, resolveSpec } from '../../experiments/sweep/spec.js';
import { DEFAULTS, settingsFromQuery } from '../../experiments/playground/settings.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { useGpu } from '../support/gpu.js';

useGpu();

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
const js = <T>(v: T): Any => v;

const critic = (w: E.Tensor) => ({ forward: (x: E.Tensor) => E.matmul(x, w), parameters: () => [w] });

/** [what, call, the error it must throw] */
type Case = [string, () => unknown, RegExp];

function table(name: string, cases: () => Case[]): void {
  describe(name, () => {
    // the tensors are made inside the test (the device is up by then)
    it('each bad call throws an error naming the key or the value', async () => {
      const failures: string[] = [];
      for (const [what, call, re] of cases()) {
        let msg = '';
        try {
          const r = call();
          if (r instanceof Promise) await r;
        } catch (e) {
          msg = (e as Error).message;
        }
        if (!re.test(msg))
          failures.push(`${what}: expected ${re}, got ${msg ? JSON.stringify(msg.slice(0, 300)) : 'no error'}`);
      }
      expect(failures).toEqual([]);
    });
  });
}

table('engine', () => {
  const x = E.requireGrad(E.tensor([1, 2, 3], [3]));
  const y = E.sum(E.square(x));
  const p = [E.zeros([3])];
  const twice = (t: E.Tensor) => E.mul(t, 2);
  return [
    [
      'grad create_graph',
      () => E.grad(y, [x], js({ create_graph: true })),
      /grad: unknown option 'create_graph' \(did you mean 'createGraph'\?\)/,
    ],
    [
      'grad createGraph not a boolean',
      () => E.grad(y, [x], js({ createGraph: 1 })),
      /grad: option 'createGraph' must be true or false, got 1/,
    ],
    [
      'grad gradOutputs count',
      () => E.grad(y, [x], { gradOutputs: [E.ones([]), E.ones([])] }),
      /grad: got 2 gradOutputs for 1 output/,
    ],
    ['Adam amsgrad', () => new E.Adam(p, js({ amsgrad: true })), /Adam: option 'amsgrad' is not supported/],
    [
      'Adam weight_decay',
      () => new E.Adam(p, js({ weight_decay: 0.1 })),
      /Adam: unknown option 'weight_decay' \(did you mean 'weightDecay'\?\)/,
    ],
    ['AdamW weight_decay', () => new E.AdamW(p, js({ weight_decay: 0.1 })), /AdamW: unknown option 'weight_decay'/],
    ['Adam betas length', () => new E.Adam(p, js({ betas: [0.9] })), /Adam: option 'betas' must be an array of 2/],
    ['Adam betas NaN', () => new E.Adam(p, js({ betas: [NaN, 0.9] })), /betas\[0\] must be in \[0, 1\)/],
    ['Adam eps string', () => new E.Adam(p, js({ eps: '1e-8' })), /Adam: eps must be > 0/],
    ['Adam lr Infinity', () => new E.Adam(p, { lr: Infinity }), /Adam: lr must be a finite number >= 0, got Infinity/],
    [
      'Adam group betas',
      () => new E.Adam(js([{ params: p, betas: [0.5, 0.9] }])),
      /Adam: parameter group 0: unknown option 'betas'/,
    ],
    [
      'SGD group momentum',
      () => new E.SGD(js([{ params: p, momentum: 0.9 }])),
      /SGD: parameter group 0: unknown option 'momentum'/,
    ],
    [
      'SGD nesterov without momentum',
      () => new E.SGD(p, { nesterov: true }),
      /SGD: nesterov needs momentum > 0 and dampening 0/,
    ],
    ['SGD maximize', () => new E.SGD(p, js({ maximize: true })), /SGD: option 'maximize' is not supported/],
    ['SGD dampening range', () => new E.SGD(p, { momentum: 0.9, dampening: -0.5 }), /SGD: option 'dampening' must be/],
    ['SGD momentum string', () => new E.SGD(p, js({ momentum: '0.9' })), /SGD: momentum must be >= 0/],
    [
      'gradcheck eps 0',
      () => E.gradcheck(twice, [x], { eps: 0 }),
      /gradcheck: option 'eps' must be a finite number > 0/,
    ],
    ['gradcheck eps NaN', () => E.gradcheck(twice, [x], { eps: NaN }), /gradcheck: option 'eps' must be .* got NaN/],
    ['gradcheck atol NaN', () => E.gradcheck(twice, [x], { atol: NaN }), /gradcheck: option 'atol' must be .* got NaN/],
    [
      'gradcheck rtol Infinity',
      () => E.gradcheck(twice, [x], { rtol: Infinity }),
      /gradcheck: option 'rtol' must be .* got Infinity/,
    ],
    [
      'gradcheck maxElements 0',
      () => E.gradcheck(twice, [x], { maxElements: 0 }),
      /gradcheck: option 'maxElements' must be an integer >= 1, got 0/,
    ],
    ['gradcheck unknown', () => E.gradcheck(twice, [x], js({ tol: 1 })), /gradcheck: unknown option 'tol'/],
    ['gradgradcheck eps 0', () => E.gradgradcheck(twice, [x], { eps: 0 }), /gradgradcheck: option 'eps'/],
    [
      'matmul transpose_b',
      () => E.matmul(E.zeros([2, 2]), E.zeros([2, 2]), js({ transpose_b: true })),
      /matmul: unknown option 'transpose_b'/,
    ],
    [
      'linear unknown',
      () => E.linear(E.zeros([2, 2]), E.zeros([2, 2]), null, js({ activation: 'relu' })),
      /linear: unknown option 'activation'/,
    ],
    [
      'conv2d dilation',
      () => E.conv2d(E.zeros([1, 1, 4, 4]), E.zeros([1, 1, 3, 3]), null, js({ dilation: 2 })),
      /conv2d: option 'dilation' is not supported/,
    ],
    [
      'conv2d groups',
      () => E.conv2d(E.zeros([1, 2, 4, 4]), E.zeros([2, 1, 3, 3]), null, js({ groups: 2 })),
      /conv2d: option 'groups' is not supported/,
    ],
    [
      'conv2d strides',
      () => E.conv2d(E.zeros([1, 1, 4, 4]), E.zeros([1, 1, 3, 3]), null, js({ strides: 2 })),
      /conv2d: unknown option 'strides' \(did you mean 'stride'\?\)/,
    ],
    [
      'batchNorm training missing',
      () => E.batchNorm(E.zeros([2, 3]), null, null, null, null, js({})),
      /batchNorm: option 'training' must be true or false/,
    ],
    [
      'batchNorm unknown',
      () => E.batchNorm(E.zeros([2, 3]), null, null, null, null, js({ training: true, affine: false })),
      /batchNorm: unknown option 'affine'/,
    ],
    ['setRngState garbage', () => E.setRngState(js({ seed: 'x', counter: 0 })), /setRngState: expected/],
    [
      'HostRng.setState garbage',
      () => new E.HostRng(1).setState(js('x')),
      /HostRng.setState: the state must be an integer/,
    ],
    [
      'LrSchedule shape not a function',
      () => new E.LrSchedule(new E.SGD(p), js(0.5)),
      /LrSchedule: shape must be a function/,
    ],
    ['cosineDecay total string', () => E.cosineDecay(js('100')), /cosineDecay: total must be an integer >= 1/],
    [
      'LrSchedule.loadState unknown',
      () => new E.LrSchedule(new E.SGD(p), E.cosineDecay(10)).loadState(js({ step: 1, epoch: 2 })),
      /LrSchedule.loadState: unknown option 'epoch'/,
    ],
  ];
});

table('nn', () => {
  E.manualSeed(0);
  const lin = new nn.Linear(2, 3);
  const opt = new E.Adam(lin.parameters());
  return [
    [
      'Linear bais',
      () => new nn.Linear(2, 3, js({ bais: false })),
      /Linear: unknown option 'bais' \(did you mean 'bias'\?\)/,
    ],
    ['Linear use_bias', () => new nn.Linear(2, 3, js({ use_bias: false })), /Linear: unknown option 'use_bias'/],
    [
      'Linear init',
      () => new nn.Linear(2, 3, js({ init: 'xavier' })),
      /Linear: option 'init' must be one of "he", "gp_he", "glorot", "torch", got "xavier"/,
    ],
    ['Linear inFeatures', () => new nn.Linear(0, 3), /Linear: option 'inFeatures' must be an integer >= 1, got 0/],
    [
      'Linear.forward unknown',
      () => lin.forward(E.zeros([1, 2]), js({ act: 'relu' })),
      /Linear.forward: unknown option 'act'/,
    ],
    [
      'Conv2d strides',
      () => new nn.Conv2d(1, 1, 3, js({ strides: 2 })),
      /Conv2d: unknown option 'strides' \(did you mean 'stride'\?\)/,
    ],
    [
      'Conv2d dilation',
      () => new nn.Conv2d(1, 1, 3, js({ dilation: 2 })),
      /Conv2d: option 'dilation' is not supported/,
    ],
    ['Conv2d groups', () => new nn.Conv2d(2, 2, 3, js({ groups: 2 })), /Conv2d: option 'groups' is not supported/],
    [
      'Conv2d stride 0',
      () => new nn.Conv2d(1, 1, 3, { stride: 0 }),
      /Conv2d: option 'stride' must be an integer >= 1, got 0/,
    ],
    [
      'ConvMeanPool unknown',
      () => new nn.ConvMeanPool(1, 1, 3, js({ pool: 2 })),
      /ConvMeanPool: unknown option 'pool'/,
    ],
    [
      'BatchNorm2d track_running_stats',
      () => new nn.BatchNorm2d(3, js({ track_running_stats: false })),
      /BatchNorm2d: unknown option 'track_running_stats' \(did you mean 'trackRunningStats'\?\)/,
    ],
    [
      'BatchNorm1d trackRunningStats false',
      () => new nn.BatchNorm1d(3, js({ trackRunningStats: false })),
      /BatchNorm1d: option 'trackRunningStats' is not supported/,
    ],
    [
      'BatchNorm1d momentum 2',
      () => new nn.BatchNorm1d(3, { momentum: 2 }),
      /BatchNorm1d: option 'momentum' must be a finite number >= 0 and <= 1, got 2/,
    ],
    [
      'LeakyReLU negative_slope',
      () => new nn.LeakyReLU(js({ negative_slope: 0.2 })),
      /LeakyReLU: takes the negative slope as a number .* negative_slope/,
    ],
    ['LeakyReLU NaN', () => new nn.LeakyReLU(NaN), /LeakyReLU: option 'slope' must be a finite number, got NaN/],
    [
      'LayerNorm eps object',
      () => new nn.LayerNorm(3, js({ eps: 1e-5 })),
      /LayerNorm: option 'eps' must be a finite number > 0/,
    ],
    ['Dropout2d p string', () => new nn.Dropout2d(js('0.5')), /Dropout2d: p must be in \[0, 1\)/],
    [
      'spectralNorm n_power_iterations',
      () => nn.spectralNorm(new nn.Linear(2, 2), js({ n_power_iterations: 2 })),
      /spectralNorm: unknown option 'n_power_iterations' \(did you mean 'nPowerIterations'\?\)/,
    ],
    [
      'MLP batch_norm',
      () => new nn.MLP([2, 3, 1], js({ batch_norm: true })),
      /MLP: unknown option 'batch_norm' \(did you mean 'batchNorm'\?\)/,
    ],
    ['toyCritic unknown', () => nn.toyCritic(8, js({ sn: true })), /toyCritic: unknown option 'sn'/],
    [
      'Critic unknown',
      () => new nn.Critic(js({ dim: 8, normalization: 'batch' })),
      /Critic: unknown option 'normalization'/,
    ],
    [
      'Critic norm value',
      () => new nn.Critic(js({ dim: 8, norm: 'instance' })),
      /Critic: option 'norm' must be one of "none", "batch", "layer"/,
    ],
    [
      'Generator z_dim',
      () => new nn.Generator(js({ dim: 8, z_dim: 16 })),
      /Generator: unknown option 'z_dim' \(did you mean 'zDim'\?\)/,
    ],
    [
      'ResidualBlock unknown',
      () => new nn.ResidualBlock(2, 2, js({ resample: 'up', kernel: 3 })),
      /ResidualBlock: unknown option 'kernel'/,
    ],
    [
      'ConvClassifier unknown',
      () => new nn.ConvClassifier(js({ classes: 10 })),
      /ConvClassifier: unknown option 'classes'/,
    ],
    [
      'loadStateDict unknown',
      () => lin.loadStateDict(lin.stateDict(), js({ strcit: false })),
      /loadStateDict: unknown option 'strcit' \(did you mean 'strict'\?\)/,
    ],
    [
      'DataLoader shufle',
      () => new nn.DataLoader([E.zeros([4, 2])], js({ batch: 2, shufle: false })),
      /BatchSampler: unknown option 'shufle' \(did you mean 'shuffle'\?\)/,
    ],
    [
      'DataLoader drop_last',
      () => new nn.DataLoader([E.zeros([4, 2])], js({ batch: 2, drop_last: true })),
      /BatchSampler: option 'drop_last' is not supported \(use remainder: 'drop'/,
    ],
    [
      'BatchSampler batch_size',
      () => new nn.BatchSampler(4, js({ batch_size: 2 })),
      /BatchSampler: option 'batch_size' is not supported \(the option is called batch\)/,
    ],
    [
      'BatchSampler seed -1',
      () => new nn.BatchSampler(4, { batch: 2, seed: -1 }),
      /BatchSampler: option 'seed' must be an integer >= 0/,
    ],
    [
      'sampler state rng "x"',
      () => new nn.BatchSampler(4, { batch: 2 }).setState(js({ rng: 'x', order: [], pos: 0 })),
      /BatchSampler.setState: option 'rng' must be an integer/,
    ],
    [
      'sampler state pos -1',
      () => new nn.BatchSampler(4, { batch: 2 }).setState(js({ rng: 1, order: [0, 1, 2, 3], pos: -1 })),
      /BatchSampler.setState: option 'pos' must be an integer >= 0, got -1/,
    ],
    [
      'sampler state missing order',
      () => new nn.BatchSampler(4, { batch: 2 }).setState(js({ rng: 1, pos: 0 })),
      /BatchSampler.setState: the saved state has no 'order'/,
    ],
    [
      'sampler state unknown key',
      () => new nn.BatchSampler(4, { batch: 2 }).setState(js({ rng: 1, order: [], pos: 0, seed: 3 })),
      /BatchSampler.setState: unknown option 'seed'/,
    ],
    [
      'toy sampler rng "x"',
      () => toySampler('8gaussians', 0).setState(js({ rng: 'x', pos: 0 })),
      /toySampler\(8gaussians\).setState: rng must be an integer/,
    ],
    [
      'toy sampler pos -1',
      () => toySampler('25gaussians', 0).setState({ rng: 1, pos: -1 }),
      /toySampler\(25gaussians\).setState: pos must be an integer in \[0, 100000\]/,
    ],
    ['toySampler unknown data set', () => toySampler(js('9gaussians'), 0), /toySampler: unknown data set '9gaussians'/],
    [
      'saveCheckpoint optimisers',
      () => nn.encodeCheckpoint(js({ modules: lin, optimisers: { D: opt } })),
      /saveCheckpoint: unknown option 'optimisers' \(did you mean 'optimizers'\?\)/,
    ],
    [
      'saveCheckpoint metadata number',
      () => nn.encodeCheckpoint(js({ modules: lin, metadata: { best: 3 } })),
      /saveCheckpoint: metadata 'best' must be a string/,
    ],
    [
      'saveCheckpoint reserved metadata',
      () => nn.encodeCheckpoint({ modules: lin, metadata: { step: '3' } }),
      /saveCheckpoint: metadata key 'step' is reserved/,
    ],
    [
      'saveCheckpoint optimizer not one',
      () => nn.encodeCheckpoint(js({ modules: lin, optimizers: { m: {} } })),
      /saveCheckpoint: optimizers.m must be an optimiser/,
    ],
    [
      'loadCheckpoint optimisers',
      () => nn.loadCheckpointBytes(new Uint8Array(8), js({ modules: lin, optimisers: { m: opt } })),
      /loadCheckpoint: unknown option 'optimisers' \(did you mean 'optimizers'\?\)/,
    ],
    [
      'loadCheckpoint no modules',
      () => nn.loadCheckpointBytes(new Uint8Array(8), js({ strict: false })),
      /loadCheckpoint: option 'modules' is required/,
    ],
  ];
});

table('alr', () => {
  const w = E.tensor([1, -1], [2, 1]);
  const x = E.tensor([0, 0, 1, 1], [2, 2]);
  const D = critic(w);
  return [
    [
      'wganAlpCriticLoss lamda',
      () => A.wganAlpCriticLoss(D, x, x, js({ lamda: 10 })),
      /wganAlpCriticLoss: unknown option 'lamda' \(did you mean 'lambda'\?\)/,
    ],
    [
      'wganAlpCriticLoss xi 1e38',
      () => A.wganAlpCriticLoss(D, x, x, { xi: 1e38 }),
      /wganAlpCriticLoss: xi 1e\+38 is outside \[0.000001, 1000000\]/,
    ],
    [
      'wganAlpCriticLoss eps.min 1e30',
      () => A.wganAlpCriticLoss(D, x, x, { eps: A.uniformEps(1e30, 1e31) }),
      /eps.min 1e\+30 is outside/,
    ],
    [
      'wganAlpCriticLoss eps extra key',
      () => A.wganAlpCriticLoss(D, x, x, js({ eps: { kind: 'uniform', min: 1, max: 2, log: true } })),
      /wganAlpCriticLoss \(option 'eps'\): unknown option 'log'/,
    ],
    [
      'wganAlpCriticLoss eps fixed 0',
      () => A.wganAlpCriticLoss(D, x, x, { eps: { kind: 'fixed', value: 0 } }),
      /eps.value must be > 0, got 0/,
    ],
    [
      'wganAlpCriticLoss trace string',
      () => A.wganAlpCriticLoss(D, x, x, js({ trace: 'yes' })),
      /wganAlpCriticLoss: option 'trace' must be true or false/,
    ],
    [
      'wganAlpCriticLoss clip NaN',
      () => A.wganAlpCriticLoss(D, x, x, js({ clip: [NaN, 1] })),
      /clip must be \[lo, hi\] with lo < hi/,
    ],
    [
      'adversarialLipschitzPenalty dy',
      () => A.adversarialLipschitzPenalty(D, x, js({ dy: 'abs' })),
      /adversarialLipschitzPenalty: unknown option 'dy' \(did you mean 'dY'\?\)/,
    ],
    [
      'adversarialLipschitzPenalty k huge',
      () => A.adversarialLipschitzPenalty(D, x, { k: 1e6 }),
      /k \(power iterations\) must be at most 1000/,
    ],
    [
      'adversarialDirection unknown',
      () => A.adversarialDirection(D, x, js({ lambda: 1 })),
      /adversarialDirection: unknown option 'lambda'/,
    ],
    [
      'progressiveGanCriticLoss unknown',
      () => A.progressiveGanCriticLoss(D, x, x, js({ drfit: 0.1 })),
      /progressiveGanCriticLoss: unknown option 'drfit' \(did you mean 'drift'\?\)/,
    ],
    [
      'wganGpCriticLoss penalty alp',
      () => A.wganGpCriticLoss(D, x, x, js({ penalty: 'alp' })),
      /wganGpCriticLoss: option 'penalty' must be one of "gp", "lp", got "alp"/,
    ],
    [
      'wganGpCriticLoss lamda',
      () => A.wganGpCriticLoss(D, x, x, js({ lamda: 10 })),
      /wganGpCriticLoss: unknown option 'lamda'/,
    ],
    [
      'gradientPenalty unknown',
      () => A.gradientPenalty(D, x, x, js({ norm: 'l1' })),
      /gradientPenalty: unknown option 'norm'/,
    ],
    [
      'gradientNormPenalty norm',
      () => A.gradientNormPenalty(D, x, x, js({ norm: 'l3' })),
      /gradientNormPenalty: option 'norm' must be one of/,
    ],
    [
      'LambdaController unknown',
      () => new A.LambdaController(js({ lambda: 1, target: 0.1 })),
      /LambdaController: unknown option 'target'/,
    ],
    ['clipWeights c string', () => A.clipWeights([w], js('0.01')), /clipWeights: c must be a finite number > 0/],
  ];
});

describe('the validator', () => {
  it('suggests near misses and lists the valid keys', () => {
    expect(closestKey('weight_decay', ['lr', 'weightDecay'])).toBe('weightDecay');
    expect(closestKey('optimisers', ['modules', 'optimizers'])).toBe('optimizers');
    expect(closestKey('zzz', ['lr', 'betas'])).toBeUndefined();
    expect(() => E.checkOptions('f', js({ bogus: 1 }), { a: () => {} })).toThrow(
      /f: unknown option 'bogus'; valid options: a/,
    );
    expect(() => E.checkOptions('f', js(5), {})).toThrow(/f: options must be an object, got 5/);
  });

  it('a checkpoint of a subset of modules says how to load it', async () => {
    const a = new nn.Linear(2, 2);
    const b = new nn.Linear(2, 2);
    const bytes = await nn.encodeCheckpoint({ modules: { a, b } });
    expect(() => nn.loadCheckpointBytes(bytes, { modules: { a } })).toThrow(/pass strict: false/);
    const r = nn.loadCheckpointBytes(bytes, { modules: { a }, strict: false });
    expect(r.metadata).toEqual({});
    expect(r.internal.format).toBe(nn.CHECKPOINT_FORMAT);
  });
});

describe("experiments' command lines", () => {
  it('--xi, --eps-min, --lr and --lambda are range-checked before anything runs', () => {
    expect(() => numArg('--xi', '1e38', PROBE_ARG)).toThrow(
      /--xi: expected a number in \[0.000001, 1000000\], got '1e38'/,
    );
    expect(() => numArg('--eps-min', '1e30', PROBE_ARG)).toThrow(/--eps-min: expected a number in/);
    expect(() => numArg('--eps-max', '1e-30', PROBE_ARG)).toThrow(/--eps-max: expected a number in/);
    expect(() => numArg('--lr', '-1', NONNEG_ARG)).toThrow(/--lr: expected a number >= 0, got '-1'/);
    expect(numArg('--xi', '10', PROBE_ARG)).toBe(10);
  });

  it("a run failing on an unknown flag records commander's error, not only its hint", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alr-opt-'));
    fs.writeFileSync(
      path.join(dir, 'stderr.log'),
      "=== attempt 1 (local) x\nerror: unknown option '--lamda'\n(Did you mean --lambda?)\n",
    );
    expect(lastErrorLine(dir)).toBe("error: unknown option '--lamda' (Did you mean --lambda?)");
  });

  it("a sweep's grid keys and fixed flags are checked against the script's options before it launches", () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'alr-opt-')), 'sweep');
    const spec = (grid: Record<string, (string | number)[]>, args: string[] = []) =>
      resolveSpec({}, { script: 'experiments/toy_wgan.ts', out, grid, args } as never);
    expect(() => checkScriptFlags(spec({ lamda: [1, 10] }))).toThrow(
      /grid key 'lamda': --lamda is not an option of experiments\/toy_wgan.ts \(did you mean --lambda\?\)/,
    );
    expect(() => checkScriptFlags(spec({ seed: [0] }, ['--itres', '5']))).toThrow(
      /fixed argument --itres is not an option/,
    );
    expect(checkScriptFlags(spec({ lambda: [1], 'eps-min': [0.1] }, ['--no-progress']))).toBeNull();
  });
});

describe('playground addresses', () => {
  it('an unknown reg, data set or ε distribution is refused, not run as something else', () => {
    for (const [q, re] of [
      ['?reg=alpp', /regulariser must be one of alp, gp, lp, sn, none; using the defaults/],
      ['?dataset=../../x', /data set must be one of/],
      ['?epsKind=normal', /ε distribution must be one of uniform, logUniform, fixed/],
      ['?xi=1e38', /ξ must be in \[0.000001, 1000000\]/],
      ['?epsMin=abc', /epsMin=abc is not a number/],
      ['?lamda=3', /unknown setting 'lamda' \(did you mean 'lambda'\?\)/],
    ] as const) {
      const r = settingsFromQuery(q);
      expect(r.problems.join('; '), q).toMatch(re);
    }
    expect(settingsFromQuery('?reg=alpp').settings).toEqual(DEFAULTS);
    expect(settingsFromQuery('?reg=gp&dim=32')).toEqual({
      settings: { ...DEFAULTS, reg: 'gp', lambda: 0.1, dim: 32 },
      problems: [],
    });
  });
});
