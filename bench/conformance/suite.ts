// The core subset that must pass on every WebGPU implementation: the same code runs under Node
// (Dawn/Tint), Deno (wgpu/naga) and Chromium (Dawn on SwiftShader), bundled for the last two. It
// imports only the portable entry points, so reaching a Node module here is a bundling error.
//
// - every kernel variant the device offers compiles, validates and gives the same bits;
// - the PyTorch op fixtures (forward and VJP), optimiser runs and two critic steps (WGAN-ALP,
//   WGAN-GP) against their committed PyTorch references;
// - gradcheck / gradgradcheck on a few ops; Adam training; a checkpoint round trip as bytes.
import * as E from '../../engine/web.js';
import { MLP, encodeCheckpoint, loadCheckpointBytes } from '../../nn/web.js';
import * as A from '../../alr/index.js';
import * as TC from './toy_critics.js';
import { exerciseOps } from './exercise.js';
import { mismatch, OPS, optimRun, tolerance, type Arr, type Case, type OptimRun } from './ops.js';
import elementwise from './fixtures/elementwise.json';
import reduce from './fixtures/reduce.json';
import shape from './fixtures/shape.json';
import matmul from './fixtures/matmul.json';
import conv from './fixtures/conv.json';
import norm from './fixtures/norm.json';
import optim from './fixtures/optim.json';
import alr from './fixtures/alr.json';

export interface CheckResult {
  group: string;
  name: string;
  ok: boolean;
  detail?: string;
}

export interface SuiteReport {
  adapter: string;
  features: string[];
  variants: string[];
  passed: number;
  failed: number;
  results: CheckResult[];
  seconds: number;
}

type Check = () => Promise<string | null | void>;

/**
 * The kernel variants this device can run (subgroup kernels need one fixed subgroup size;
 * 'subgroup-uniform' is matmul's, where B fits a uniform binding, and other ops ignore it).
 */
export function deviceVariants(): string[] {
  return ['register', 'tiled', ...(E.deviceInfo().subgroupSize ? ['subgroup', 'subgroup-uniform'] : [])];
}

async function values(t: E.Tensor): Promise<Float32Array> {
  return t.toFloat32();
}

async function compare(label: string, t: E.Tensor, ref: Arr, atol: number, rtol: number): Promise<string | null> {
  return mismatch(label, t.shape, await values(t), ref, atol, rtol);
}

/** One fixture case: forward and VJP with the stored upstream gradient. */
async function fixtureCase(c: Case): Promise<string | null> {
  const [atol, rtol] = tolerance(c);
  const xs = c.inputs.map((a, i) =>
    c.grads[i] ? E.requireGrad(E.tensor(a.data, a.shape)) : E.tensor(a.data, a.shape),
  );
  const [y, ...gs] = E.tidy(() => {
    const out = OPS[c.op](xs, c.params);
    const wrt = xs.filter((_, i) => c.grads[i]);
    return [out, ...(wrt.length ? E.grad(out, wrt, { gradOutputs: [E.tensor(c.gradOut.data, c.gradOut.shape)] }) : [])];
  });
  try {
    const problems = [await compare('forward', y, c.out, atol, rtol)];
    let k = 0;
    for (let i = 0; i < xs.length; i++)
      if (c.grads[i]) problems.push(await compare(`VJP of input ${i}`, gs[k++], c.grads[i]!, atol, rtol));
    return problems.filter(Boolean).join('; ') || null;
  } finally {
    E.dispose([xs, y, gs]);
  }
}

// ---- the critic steps of alr_fixtures.test.ts, on the MLP critic
type Enc = Arr;
const T = (e: Enc) => E.tensor(e.data, e.shape);
function fixtureCritic(): A.Critic {
  const c = (alr as any).critics.mlp;
  return TC.mlpCritic(c.layers.map((l: { W: Enc; b: Enc }) => ({ W: T(l.W), b: T(l.b) })));
}

/** Parameter gradients against PyTorch's (tolerance scaled by the largest: float32 cancellation). */
async function gradsMatch(gs: E.Tensor[], expected: Enc[]): Promise<string | null> {
  const scale = Math.max(...expected.flatMap((e) => e.data.map(Math.abs)));
  for (let i = 0; i < gs.length; i++) {
    const m = await compare(`grad of parameter ${i}`, gs[i], expected[i], 5e-5 + 1e-5 * scale, 5e-4);
    if (m) return m;
  }
  return null;
}

async function wganAlpStep(): Promise<string | null> {
  const fx = alr as any;
  const c = fx.wganAlp.find((x: { critic: string }) => x.critic === 'mlp');
  const net = fixtureCritic();
  const d = fx.data;
  const r = E.tidy(() => {
    const s = A.wganAlpCriticLoss(net, T(d.real), T(d.fake), { clip: c.clip, r0: T(d.r0), epsValues: T(d.eps) });
    return { loss: s.loss, penalty: s.penalty.loss, grads: E.grad(s.loss, net.parameters()) };
  });
  try {
    return (
      (await compare('loss', r.loss, { shape: [], data: c.loss.data }, 1e-4, 5e-4)) ??
      (await compare('penalty', r.penalty, { shape: [], data: c.penalty.data }, 1e-4, 5e-4)) ??
      (await gradsMatch(r.grads, c.paramGrads))
    );
  } finally {
    E.dispose([r, net.parameters()]);
  }
}

async function wganGpStep(): Promise<string | null> {
  const fx = alr as any;
  const c = fx.gradientPenalty.find((x: { critic: string; norm: string }) => x.critic === 'mlp' && x.norm === 'l2');
  const net = fixtureCritic();
  const d = fx.data;
  const r = E.tidy(() => {
    const p = A.gradientNormPenalty(net, T(d.real), T(d.fake), { norm: c.norm, g: c.g, lambda: c.lambda, u: T(d.u) });
    return { gradNorm: p.gradNorm, loss: p.loss, grads: E.grad(p.loss, net.parameters()) };
  });
  try {
    return (
      (await compare('gradient norm', r.gradNorm, c.gradNorm, 2e-5, 2e-4)) ??
      (await compare('penalty', r.loss, { shape: [], data: c.loss.data }, 1e-4, 5e-4)) ??
      (await gradsMatch(r.grads, c.paramGrads))
    );
  } finally {
    E.dispose([r, net.parameters()]);
  }
}

/**
 * Compiled steps give the eager steps' bits here too: fused kernels (elementwise chains, maps in a
 * reduction's loads and stores and in a GEMM's stores) compile and validate on this adapter.
 */
async function compiledMatchesEager(): Promise<string | null> {
  const runs: number[][][] = [];
  for (const enabled of [false, true]) {
    E.manualSeed(5);
    const net = TC.mlpCritic(TC.randomDenseLayers([2, 16, 16, 1]));
    const opt = new E.Adam(net.parameters(), { lr: 1e-3, betas: [0.5, 0.9] });
    const step = E.compile(
      (real: E.Tensor) => {
        const fake = E.randNormal([8, 2], 0.5, 1);
        const alp = A.wganAlpCriticLoss(net, real, fake, { lambda: 10 });
        const gp = A.wganGpCriticLoss(net, real, fake, { lambda: 1 });
        const loss = E.add(alp.loss, gp.loss);
        opt.step(E.grad(loss, net.parameters()));
        return E.detach(loss);
      },
      { enabled },
    );
    const out: number[][] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const y = E.tidy(() => step(E.randUniform([8, 2], -1, 1)));
        out.push(Array.from(new Uint32Array((await values(y)).buffer)));
        y.dispose();
      }
      for (const p of net.parameters()) out.push(Array.from(new Uint32Array((await values(p)).buffer)));
      if (enabled && step.fallbackReason) return `the step fell back to eager: ${step.fallbackReason}`;
      if (enabled && !step.fusion?.kernels.length) return 'nothing was fused';
    } finally {
      step.dispose();
      opt.dispose();
      E.dispose(net.parameters());
    }
    runs.push(out);
  }
  const i = runs[1].findIndex((a, k) => a.some((w, j) => w !== runs[0][k][j]));
  return i < 0 ? null : `${i < 4 ? `loss of step ${i + 1}` : `parameter ${i - 4}`} differs between compiled and eager`;
}

/** The same matmul and conv outputs under every variant: identical bits, as on Dawn. */
async function variantsAgree(): Promise<string | null> {
  E.manualSeed(11);
  const a = E.keep(E.randNormal([37, 53]));
  const b = E.keep(E.randNormal([53, 29]));
  // B read as vec4s and small: the product 'subgroup-uniform' takes, plain and transposed
  const c = E.keep(E.randNormal([37, 52]));
  const d = E.keep(E.randNormal([52, 28]));
  const dt = E.keep(E.randNormal([28, 52]));
  // N of 64 and more: 16 columns per lane where subgroups have 4 lanes (SwiftShader), a ragged tail
  const e = E.keep(E.randNormal([52, 68]));
  const et = E.keep(E.randNormal([68, 52]));
  const x = E.keep(E.randNormal([2, 8, 12, 12]));
  const w = E.keep(E.randNormal([16, 8, 3, 3]));
  const outputs = new Map<string, Float32Array[]>();
  try {
    for (const v of deviceVariants()) {
      E.setOption('ALR_VARIANT', v);
      const ys = E.tidy(() => [
        E.matmul(a, b),
        E.matmul(c, d),
        E.matmul(c, dt, { transB: true }),
        E.matmul(c, e),
        E.matmul(c, et, { transB: true }),
        E.conv2d(x, w, null, { padding: 1 }),
        E.conv2dWeightGrad(x, E.conv2d(x, w, null, { padding: 1 }), w.shape, { padding: 1 }),
      ]);
      outputs.set(v, await Promise.all(ys.map(values)));
      E.dispose(ys);
    }
  } finally {
    E.setOption('ALR_VARIANT', undefined);
    E.dispose([a, b, c, d, dt, e, et, x, w]);
  }
  const [first, ...rest] = [...outputs.entries()];
  for (const [v, ys] of rest) {
    for (let i = 0; i < ys.length; i++) {
      const j = ys[i].findIndex((val, k) => !Object.is(val, first[1][i][k]));
      if (j >= 0)
        return `${['matmul', 'matmul (small B)', 'matmul (small Bᵀ)', 'matmul (N 68)', 'matmul (N 68, Bᵀ)', 'conv2d', 'conv2dWeightGrad'][i]}: ${v} differs from ${first[0]} at element ${j} (${ys[i][j]} vs ${first[1][i][j]})`;
    }
  }
  return null;
}

async function gradchecks(): Promise<string | null> {
  E.manualSeed(5);
  const x = E.randNormal([3, 4]);
  const w = E.randNormal([4, 2]);
  const img = E.randNormal([1, 2, 5, 5]);
  const k = E.randNormal([3, 2, 3, 3]);
  // non-scalar outputs: gradcheck projects them on a random vector in float64 (a float32 scalar
  // of large magnitude would drown the finite differences in its own rounding)
  const reports = [
    await E.gradcheck((a, b) => E.tanh(E.matmul(a, b)), [x, w]),
    await E.gradcheck((a) => E.softmax(a, 1), [x]),
    await E.gradcheck((a, b) => E.conv2d(a, b, null, { padding: 1 }), [img, k], { maxElements: 24 }),
    await E.gradgradcheck((a, b) => E.tanh(E.matmul(a, b)), [x, w], { maxElements: 12 }),
  ];
  E.dispose([x, w, img, k]);
  return (
    reports
      .filter((r) => !r.ok)
      .map((r) => r.message)
      .join('; ') || null
  );
}

async function adamTrains(): Promise<string | null> {
  E.manualSeed(0);
  const net = new MLP([2, 16, 16, 1]);
  const opt = new E.Adam(net.parameters(), { lr: 1e-2 });
  const x = E.randUniform([64, 2], -1, 1);
  const y = E.tidy(() => E.sum(E.square(x), 1, true));
  const losses: number[] = [];
  for (let i = 0; i < 40; i++) {
    const loss = E.tidy(() => {
      const l = E.mean(E.square(E.sub(net.forward(x), y)));
      opt.step(E.grad(l, net.parameters()));
      return l;
    });
    if (i === 0 || i === 39) losses.push(await loss.item());
    loss.dispose();
    await E.endStep();
  }
  net.dispose();
  opt.dispose();
  E.dispose([x, y]);
  return losses[1] < 0.3 * losses[0] ? null : `loss ${losses[0]} -> ${losses[1]}: expected a drop to below 30%`;
}

async function checkpointRoundTrip(): Promise<string | null> {
  E.manualSeed(2);
  const a = new MLP([2, 8, 1]);
  const opt = new E.Adam(a.parameters(), { lr: 1e-3 });
  const ones = a.parameters().map((p) => E.onesLike(p));
  opt.step(ones);
  E.dispose(ones);
  const bytes = await encodeCheckpoint({ modules: { m: a }, optimizers: { m: opt }, step: 1 });
  E.manualSeed(3);
  const b = new MLP([2, 8, 1]);
  const optB = new E.Adam(b.parameters(), { lr: 1e-3 });
  const { step } = loadCheckpointBytes(bytes, { modules: { m: b }, optimizers: { m: optB } });
  const pa = await Promise.all(a.parameters().map(values));
  const pb = await Promise.all(b.parameters().map(values));
  [a, b, opt, optB].forEach((x) => x.dispose());
  if (step !== 1) return `step ${step}, expected 1`;
  const same = pa.every((v, i) => v.every((x, j) => Object.is(x, pb[i][j])));
  return same ? null : 'parameters differ after the round trip';
}

/** Runs every check (never throws: a failure is a result). `initSource`: the host's GPU, adapter or device. */
export async function runPortableSuite(
  initSource?: E.GpuSource,
  onResult?: (r: CheckResult) => void,
): Promise<SuiteReport> {
  const t0 = performance.now();
  await E.initDevice(initSource);
  const results: CheckResult[] = [];
  const run = async (group: string, name: string, check: Check) => {
    let r: CheckResult;
    try {
      const live = E.memoryStats().liveBuffers;
      let problem = await check();
      await E.sync();
      const leaked = E.memoryStats().liveBuffers - live;
      if (!problem && leaked > 0) problem = `${leaked} GPU buffer(s) left allocated`;
      r = { group, name, ok: !problem, ...(problem ? { detail: problem } : {}) };
    } catch (e) {
      r = { group, name, ok: false, detail: (e as Error).message.split('\n').slice(0, 4).join(' | ') };
    }
    results.push(r);
    onResult?.(r);
  };
  for (const v of deviceVariants()) {
    await run('variants', `every kernel compiles and validates (${v})`, async () => {
      E.setOption('ALR_VARIANT', v);
      try {
        exerciseOps();
        await E.sync();
      } finally {
        E.setOption('ALR_VARIANT', undefined);
      }
    });
  }
  await run('variants', `bit-identical across ${deviceVariants().join(', ')}`, variantsAgree);
  for (const [group, file] of [
    ['elementwise', elementwise],
    ['reductions', reduce],
    ['shape', shape],
    ['matmul', matmul],
    ['conv2d', conv],
    ['norm and pool', norm],
  ] as const) {
    for (const c of (file as { cases: Case[] }).cases) await run(group, c.name, () => fixtureCase(c));
  }
  for (const r of (optim as { runs: OptimRun[] }).runs) await run('optimizers', r.name, () => optimRun(r));
  await run('alr', 'WGAN-ALP critic step vs PyTorch (loss, penalty, parameter gradients)', wganAlpStep);
  await run('alr', 'WGAN-GP critic step vs PyTorch (gradient norm, penalty, parameter gradients)', wganGpStep);
  await run('compile', 'compiled WGAN-ALP + GP steps (fused kernels) give the eager bits', compiledMatchesEager);
  await run('autograd', 'gradcheck and gradgradcheck (matmul+tanh, softmax, conv2d)', gradchecks);
  await run('training', 'Adam trains an MLP (loss falls)', adamTrains);
  await run('nn', 'checkpoint round trip as bytes (parameters, Adam state, step)', checkpointRoundTrip);
  const failed = results.filter((r) => !r.ok).length;
  return {
    adapter: E.adapterName(),
    features: E.deviceInfo().features,
    variants: deviceVariants(),
    passed: results.length - failed,
    failed,
    results,
    seconds: (performance.now() - t0) / 1000,
  };
}
