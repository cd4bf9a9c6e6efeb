// TensorFlow.js peer, run as a child process by bench/run.ts:
//   node --import tsx bench/peers/tfjs.ts --backend webgpu|wasm --spec <workloads.json> [--quick] [--budget <s>]
// Prints one marked JSON line per row (see harness.ts). Layout is NHWC with [k, k, in, out]
// filters: the shapes are the NHWC equivalents of the NCHW workloads.
import type * as TF from '@tensorflow/tfjs-core';
import fs from 'node:fs';
import {
  emitInfo,
  emitRow,
  FAST_PEER_POLICY,
  measuredRow,
  PeerBudget,
  QUICK_POLICY,
  repeat,
  SLOW_PEER_POLICY,
  type Impl,
  type Row,
} from '../harness.js';
import type { ChainOp, Workload } from '../suites/workloads.js';
import { installWebgpuGlobals } from './tfjs_env.js';
import { gpuWait } from '../../engine/index.js';

type Tf = typeof TF;
type T = TF.Tensor;
type Vars = TF.Variable[];

interface Prepared {
  run: () => void;
  dispose: () => void;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const backendName = arg('--backend') ?? 'webgpu';
const impl: Impl = backendName === 'wasm' ? 'tfjs-wasm' : 'tfjs-webgpu';
const spec: Workload[] = JSON.parse(fs.readFileSync(arg('--spec')!, 'utf8'));
const quick = process.argv.includes('--quick');
const budgetMs = 1000 * Number(arg('--budget') ?? 420);

let gpu: GPU | null = null;
if (backendName === 'webgpu') gpu = installWebgpuGlobals();
const tf: Tf = await import('@tensorflow/tfjs-core');
// tfjs-core's Node build registers no gradients; the @tensorflow/tfjs bundle does
await import('@tensorflow/tfjs');
if (backendName === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
else await import('@tensorflow/tfjs-backend-wasm');
if (!(await tf.setBackend(backendName))) throw new Error(`tfjs: backend '${backendName}' failed to initialise`);
await tf.ready();

interface WebgpuBackend {
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  device: GPUDevice;
}

/**
 * Submits tfjs's pending commands (as its own readback path does) and waits for the GPU, with the
 * same non-spinning wait as our engine so that the harness, not the engines, decides how waiting
 * costs (a plain await on dawn.node polls on a CPU core that lavapipe's workers need).
 */
async function sync(): Promise<void> {
  if (backendName !== 'webgpu') return; // the wasm backend computes synchronously
  const b = tf.backend() as unknown as WebgpuBackend;
  b.ensureCommandEncoderReady();
  b.endComputePassEncoder();
  b.submitQueue();
  await gpuWait(b.device.queue.onSubmittedWorkDone());
}

async function info(): Promise<void> {
  if (gpu) {
    const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    const i = a?.info;
    emitInfo({
      impl,
      adapter: i ? [i.description || i.device, i.architecture, i.vendor].filter(Boolean).join(' / ') : 'unknown',
      driver: i?.description,
      version: tf.version_core,
    });
  } else {
    emitInfo({
      impl,
      version: tf.version_core,
      threads: 1,
      note: `SIMD ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT')}, threads ${tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? 'on' : 'off (Node)'}`,
    });
  }
}

const rnd = (shape: number[], lo = -1, hi = 1) => tf.randomUniform(shape, lo, hi);
const variable = (t: T) => tf.variable(t);

function needKernel(name: string): void {
  if (!tf.getKernel(name, backendName)) throw new Unsupported(`tfjs-${backendName} has no '${name}' kernel`);
}
class Unsupported extends Error {}

function prepare(w: Workload): Prepared {
  switch (w.kind) {
    case 'matmul': {
      const a = rnd([w.M, w.K]);
      const b = rnd([w.K, w.N]);
      return { run: () => void tf.matMul(a, b), dispose: () => tf.dispose([a, b]) };
    }
    case 'conv': {
      const Ho = Math.floor((w.H + 2 * w.pad - w.k) / w.stride) + 1;
      const Wo = Math.floor((w.W + 2 * w.pad - w.k) / w.stride) + 1;
      const xs: [number, number, number, number] = [w.N, w.H, w.W, w.C];
      const fs4: [number, number, number, number] = [w.k, w.k, w.C, w.O];
      const x = rnd(xs) as TF.Tensor4D;
      const f = rnd(fs4) as TF.Tensor4D;
      const dy = rnd([w.N, Ho, Wo, w.O]) as TF.Tensor4D;
      const attrs = { strides: [w.stride, w.stride], pad: w.pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
      let run: () => void;
      if (w.dir === 'fwd') run = () => void tf.conv2d(x, f, w.stride, w.pad);
      else if (w.dir === 'dx') {
        needKernel('Conv2DBackpropInput');
        run = () =>
          void tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f }, {
            ...attrs,
            inputShape: xs,
          } as unknown as TF.NamedAttrMap);
      } else {
        needKernel('Conv2DBackpropFilter');
        run = () =>
          void tf
            .engine()
            .runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: fs4 } as unknown as TF.NamedAttrMap);
      }
      return { run, dispose: () => tf.dispose([x, f, dy]) };
    }
    case 'batchnorm': {
      const x = rnd([w.N, w.H, w.W, w.C]);
      const g = rnd([w.C], 0.5, 1.5);
      const b = rnd([w.C]);
      const dy = rnd([w.N, w.H, w.W, w.C]);
      const f = (x: T, g: T, b: T) => {
        const m = tf.moments(x, [0, 1, 2]);
        return tf.batchNorm(x, m.mean, m.variance, b, g, 1e-5);
      };
      const gf = tf.grads(f);
      return { run: () => void gf([x, g, b], dy), dispose: () => tf.dispose([x, g, b, dy]) };
    }
    case 'adam': {
      const vars = Array.from({ length: w.tensors }, () => variable(rnd([w.size])));
      const grads = vars.map((v) => ({ name: v.name, tensor: rnd([w.size]) }));
      const opt = tf.train.adam(1e-4);
      return {
        run: () => opt.applyGradients(grads),
        dispose: () => (opt.dispose(), tf.dispose([...vars, ...grads.map((g) => g.tensor)])),
      };
    }
    case 'chain': {
      const x = rnd([w.n], 0.1, 1);
      const s09 = tf.scalar(0.9);
      const s01 = tf.scalar(0.1);
      return { run: () => void chain(x, w.ops, s09, s01), dispose: () => tf.dispose([x, s09, s01]) };
    }
    case 'mlp': {
      const sizes = [2, ...Array(w.depth).fill(w.hidden), 1];
      const vars: Vars = [];
      for (let i = 0; i + 1 < sizes.length; i++) {
        const lim = Math.sqrt(6 / sizes[i]);
        vars.push(variable(rnd([sizes[i], sizes[i + 1]], -lim, lim)), variable(tf.zeros([sizes[i + 1]])));
      }
      const x = rnd([w.batch, 2]);
      const y = rnd([w.batch, 1]);
      const opt = tf.train.adam(1e-4);
      const loss = () => {
        let h: T = x;
        // tfjs's fused dense layer (matmul, bias and activation in one kernel), as ours uses E.linear
        for (let i = 0; i < vars.length; i += 2) {
          h = tf.fused.matMul({
            a: h as TF.Tensor2D,
            b: vars[i] as TF.Tensor2D,
            bias: vars[i + 1],
            activation: i + 2 < vars.length ? 'relu' : 'linear',
          });
        }
        return tf.mean(tf.square(tf.sub(h, y))) as TF.Scalar;
      };
      return {
        run: () => void opt.minimize(loss, false, vars),
        dispose: () => (opt.dispose(), tf.dispose([...vars, x, y])),
      };
    }
    case 'critic': {
      if (w.mode === 'fwdbwd') needKernel('Conv2DBackpropFilter');
      const c = critic(w.dim);
      const x = rnd([w.batch, 32, 32, 3]) as TF.Tensor4D;
      const run =
        w.mode === 'fwd'
          ? () => void c.forward(x)
          : () => void tf.variableGrads(() => tf.mean(c.forward(x)) as TF.Scalar, c.vars);
      return { run, dispose: () => tf.dispose([...c.vars, x]) };
    }
    case 'criticStep':
      throw new Unsupported('ours only (the target compares our GP and ALP steps)');
  }
}

function chain(x: T, ops: ChainOp[], s09: T, s01: T): T {
  let y = x;
  for (const op of ops) {
    switch (op) {
      case 'mulS':
        y = tf.mul(y, s09);
        break;
      case 'addS':
        y = tf.add(y, s01);
        break;
      case 'tanh':
        y = tf.tanh(y);
        break;
      case 'mulX':
        y = tf.mul(y, x);
        break;
      case 'addX':
        y = tf.add(y, x);
        break;
      case 'sigmoid':
        y = tf.sigmoid(y);
        break;
      case 'subX':
        y = tf.sub(y, x);
        break;
      case 'relu':
        y = tf.relu(y);
        break;
      case 'abs':
        y = tf.abs(y);
        break;
      case 'square':
        y = tf.square(y);
        break;
    }
  }
  return y;
}

/** The residual critic of alr/README.md (Setups) in NHWC (same structure as bench/suites/critic.ts). */
function critic(dim: number): { forward: (x: TF.Tensor4D) => T; vars: Vars } {
  const convs = new Map<string, { f: TF.Variable; b: TF.Variable; pad: number }>();
  const mk = (name: string, cin: number, cout: number, k: number) => {
    const lim = Math.sqrt(6 / (cin * k * k));
    convs.set(name, {
      f: variable(rnd([k, k, cin, cout], -lim, lim)),
      b: variable(tf.zeros([cout])),
      pad: (k - 1) / 2,
    });
  };
  mk('b1c1', 3, dim, 3);
  mk('b1c2', dim, dim, 3);
  mk('b1s', 3, dim, 1);
  mk('b2c1', dim, dim, 3);
  mk('b2c2', dim, dim, 3);
  mk('b2s', dim, dim, 1);
  for (const b of ['b3', 'b4']) mk(`${b}c1`, dim, dim, 3), mk(`${b}c2`, dim, dim, 3);
  const lim = Math.sqrt(6 / (dim + 1));
  const lw = variable(rnd([dim, 1], -lim, lim));
  const lb = variable(tf.zeros([1]));
  const conv = (name: string, x: T) => {
    const c = convs.get(name)!;
    return tf.fused.conv2d({ x: x as TF.Tensor4D, filter: c.f as TF.Tensor4D, bias: c.b, strides: 1, pad: c.pad });
  };
  const pool = (x: T) => tf.avgPool(x as TF.Tensor4D, 2, 2, 'valid');
  const forward = (x: TF.Tensor4D): T => {
    let h = tf.add(pool(conv('b1c2', tf.relu(conv('b1c1', x)))), conv('b1s', pool(x)));
    const s = pool(conv('b2s', h));
    h = tf.add(pool(conv('b2c2', tf.relu(conv('b2c1', tf.relu(h))))), s);
    for (const b of ['b3', 'b4']) h = tf.add(conv(`${b}c2`, tf.relu(conv(`${b}c1`, tf.relu(h)))), h);
    const f = tf.mean(tf.relu(h), [1, 2]) as TF.Tensor2D;
    return tf.add(tf.matMul(f, lw as TF.Tensor2D), lb);
  };
  return { forward, vars: [...[...convs.values()].flatMap((c) => [c.f, c.b]), lw, lb] };
}

async function main(): Promise<void> {
  await info();
  const budget = new PeerBudget(budgetMs);
  const policy = quick ? QUICK_POLICY : backendName === 'webgpu' ? SLOW_PEER_POLICY : FAST_PEER_POLICY;
  for (const w of spec) {
    const base: Row = { workload: w.id, group: w.group, impl };
    const over = budget.skipReason(w, policy.warmup + policy.slowReps);
    if (over) {
      emitRow({ ...base, skipped: over });
      continue;
    }
    let p: Prepared | null = null;
    try {
      p = prepare(w);
      const prepared = p;
      const { times, warmup } = await repeat(policy, async () => {
        await sync();
        const t0 = performance.now();
        tf.tidy(() => prepared.run());
        await sync();
        return performance.now() - t0;
      });
      const row = measuredRow(base, times, warmup, w);
      budget.done(w, row.ms!);
      emitRow(row);
    } catch (e) {
      const msg = (e as Error).message.split('\n')[0];
      emitRow({ ...base, skipped: e instanceof Unsupported ? msg : `error: ${msg}` });
    } finally {
      p?.dispose();
    }
  }
}

await main();
process.exit(0);
