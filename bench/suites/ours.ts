// Our engine's implementation of each workload. prepare() builds inputs and state outside the
// timed region; run() records one iteration (no readback) and is timed between two sync()s.
import * as E from '../../engine/index.js';
import { keep, tidy, type Tensor } from '../../engine/index.js';
import { batchNorm } from '../../engine/ops/norm.js';
import { Adam } from '../../engine/index.js';
import type { ChainOp, Workload } from './workloads.js';
import { alrApi, nnApi } from './optional.js';

export interface Prepared {
  /** records one iteration; tensors it creates are released by the caller's tidy() */
  run: () => void;
  /** runs a compiled step through its capture before timing starts */
  warm?: () => Promise<void>;
  dispose: () => void;
}
export type Prep = Prepared | { unavailable: string };

const rand = (shape: number[], lo = -1, hi = 1) => keep(E.randUniform(shape, lo, hi));

let eager = false;
/** Run the training steps (toy MLP step, critic steps) op by op instead of as compiled steps. */
export function setEager(on: boolean): void {
  eager = on;
}

/** A training step as users run it: compiled (captured once, replayed), unless --eager. */
function trainingStep(run: () => void): E.CompiledStep<[], void> {
  return E.compile(() => void run(), { enabled: !eager });
}

/**
 * Runs a compiled step through its eager call, its capture and a first replay (whose fused
 * kernels the driver compiles on first use), so the timed iterations are replays.
 */
async function warm(step: E.CompiledStep<[], void>): Promise<void> {
  for (let i = 0; i < 10 && step.stats.replays < 1; i++) {
    tidy(() => step());
    await E.settleTimings(); // the tuner's timings, which the capture waits for
    await E.sync();
  }
}

export async function prepareOurs(w: Workload): Promise<Prep> {
  switch (w.kind) {
    case 'matmul': {
      const a = rand([w.M, w.K]);
      const b = rand([w.K, w.N]);
      return { run: () => void E.matmul(a, b), dispose: () => E.dispose([a, b]) };
    }
    case 'conv': {
      const opts = { stride: w.stride, padding: w.pad };
      const Ho = Math.floor((w.H + 2 * w.pad - w.k) / w.stride) + 1;
      const Wo = Math.floor((w.W + 2 * w.pad - w.k) / w.stride) + 1;
      const xs = [w.N, w.C, w.H, w.W];
      const ws = [w.O, w.C, w.k, w.k];
      const x = rand(xs);
      const wt = rand(ws);
      const gy = rand([w.N, w.O, Ho, Wo]);
      const run =
        w.dir === 'fwd'
          ? () => void E.conv2d(x, wt, null, opts)
          : w.dir === 'dx'
            ? () => void E.conv2dInputGrad(gy, wt, xs, opts)
            : () => void E.conv2dWeightGrad(x, gy, ws, opts);
      return { run, dispose: () => E.dispose([x, wt, gy]) };
    }
    case 'batchnorm': {
      const x = E.requireGrad(rand([w.N, w.C, w.H, w.W]));
      const wt = E.requireGrad(rand([w.C], 0.5, 1.5));
      const b = E.requireGrad(rand([w.C]));
      const gy = rand([w.N, w.C, w.H, w.W]);
      const run = () => {
        const y = batchNorm(x, wt, b, null, null, { training: true });
        E.grad(y, [x, wt, b], { gradOutputs: [gy] });
      };
      return { run, dispose: () => E.dispose([x, wt, b, gy]) };
    }
    case 'adam': {
      const ps = Array.from({ length: w.tensors }, () => rand([w.size]));
      const gs = Array.from({ length: w.tensors }, () => rand([w.size]));
      const opt = new Adam(ps, { lr: 1e-4 });
      return { run: () => opt.step(gs), dispose: () => (opt.dispose(), E.dispose([ps, gs])) };
    }
    case 'chain': {
      const x = rand([w.n], 0.1, 1);
      return { run: () => void chain(x, w.ops), dispose: () => x.dispose() };
    }
    case 'mlp': {
      const p = mlpStep(w.batch, w.hidden, w.depth);
      await p.warm!();
      return p;
    }
    case 'critic': {
      const nn = await nnApi();
      if (typeof nn === 'string') return { unavailable: nn };
      const critic = new nn.Critic({ dim: w.dim });
      const x = rand([w.batch, 3, 32, 32]);
      const params = critic.parameters();
      const run =
        w.mode === 'fwd'
          ? () => void E.noGrad(() => critic.forward(x))
          : () => void E.grad(E.mean(critic.forward(x)), params);
      return { run, dispose: () => (critic.dispose(), x.dispose()) };
    }
    case 'criticStep':
      return criticStep(w);
  }
}

function chain(x: Tensor, ops: ChainOp[]): Tensor {
  let y = x;
  for (const op of ops) {
    switch (op) {
      case 'mulS':
        y = E.mul(y, 0.9);
        break;
      case 'addS':
        y = E.add(y, 0.1);
        break;
      case 'tanh':
        y = E.tanh(y);
        break;
      case 'mulX':
        y = E.mul(y, x);
        break;
      case 'addX':
        y = E.add(y, x);
        break;
      case 'sigmoid':
        y = E.sigmoid(y);
        break;
      case 'subX':
        y = E.sub(y, x);
        break;
      case 'relu':
        y = E.relu(y);
        break;
      case 'abs':
        y = E.abs(y);
        break;
      case 'square':
        y = E.square(y);
        break;
    }
  }
  return y;
}

/** Toy MLP 2 -> hidden^depth -> 1 (fused linear layers), MSE loss, grad, Adam: one step records everything, no readback. */
function mlpStep(batch: number, hidden: number, depth: number): Prepared {
  const sizes = [2, ...Array(depth).fill(hidden), 1];
  const params: Tensor[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const lim = Math.sqrt(6 / sizes[i]);
    // [out, in] weights, as torch.nn.Linear and E.linear take them
    params.push(E.requireGrad(rand([sizes[i + 1], sizes[i]], -lim, lim)), E.requireGrad(keep(E.zeros([sizes[i + 1]]))));
  }
  const x = rand([batch, 2]);
  const y = rand([batch, 1]);
  const opt = new Adam(params, { lr: 1e-4 });
  const run = trainingStep(() => {
    let h = x;
    // each layer one kernel: matmul with bias and relu in its epilogue (tfjs: tf.fused.matMul)
    for (let i = 0; i < params.length; i += 2)
      h = E.linear(h, params[i], params[i + 1], { relu: i + 2 < params.length });
    const loss = E.mean(E.square(E.sub(h, y)));
    opt.step(E.grad(loss, params));
  });
  return {
    run: () => run(),
    warm: () => warm(run),
    dispose: () => (run.dispose(), opt.dispose(), E.dispose([params, x, y])),
  };
}

/**
 * A whole critic step with alr's losses, then Adam: WGAN-GP (gradient norm at interpolates,
 * differentiated again) or WGAN-ALP with k = 1. The residual critic (no BN) shares D([real; fake])
 * between the WGAN term and the penalty and clips to the image range; the toy MLP critic runs as
 * experiments/toy_wgan.ts runs it (D(real), D(fake) apart, no clipping).
 */
async function criticStep(w: Extract<Workload, { kind: 'criticStep' }>): Promise<Prep> {
  const nn = await nnApi();
  if (typeof nn === 'string') return { unavailable: nn };
  const alr = await alrApi();
  if (typeof alr === 'string') return { unavailable: alr };
  const images = w.critic === 'resnet';
  const critic = images ? new nn.Critic({ dim: w.dim }) : nn.toyCritic(w.dim);
  const params = critic.parameters();
  const opt = new Adam(params, { lr: 1e-4, betas: [0, 0.9] });
  const shape = images ? [w.half, 3, 32, 32] : [w.half, 2];
  const real = rand(shape);
  const fake = rand(shape);
  const run = trainingStep(() => {
    const loss =
      w.reg === 'gp'
        ? alr.wganGpCriticLoss(critic, real, fake).loss
        : alr.wganAlpCriticLoss(critic, real, fake, images ? { clip: [-1, 1], sharedForward: true } : {}).loss;
    opt.step(E.grad(loss, params));
  });
  await warm(run);
  return { run: () => run(), dispose: () => (run.dispose(), opt.dispose(), critic.dispose(), E.dispose([real, fake])) };
}

/** Runs one prepared iteration inside a scope. */
export function runOnce(p: Prepared): void {
  tidy(() => p.run());
}
