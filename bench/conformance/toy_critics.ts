// Small critics written directly with engine ops, shared by alr's tests and the critic-step benchmark.
// nn/ has the real layers; these exist so that alr can be studied (and checked against
// PyTorch) without nn. Weights are [in, out] so a layer is x @ W + b.
import {
  add,
  batchNorm,
  conv2d,
  flatten,
  keep,
  manualSeed,
  matmul,
  mean,
  ones,
  randUniform,
  relu,
  requireGrad,
  zeros,
  type Tensor,
} from '../../engine/web.js';
import type { Critic } from '../../alr/index.js';

export interface DenseLayer {
  W: Tensor;
  b: Tensor;
}

/** BatchNorm1d state for one hidden layer (PyTorch semantics, eps 1e-5, momentum 0.1). */
export interface BatchNormState {
  gamma: Tensor;
  beta: Tensor;
  runningMean: Tensor;
  runningVar: Tensor;
}

export interface MlpCritic extends Critic {
  layers: DenseLayer[];
  norms: BatchNormState[] | null;
  /** how many BN forward passes updated running statistics (stays 0 without BN) */
  statUpdates: number;
}

/**
 * x -> flatten -> [Linear -> (BN) -> ReLU]* -> Linear. With `batchNorm`, every forward uses its
 * batch's statistics; running statistics are updated unless inside withoutStatUpdates.
 */
export function mlpCritic(
  layers: DenseLayer[],
  opts: { batchNorm?: boolean; norms?: BatchNormState[] } = {},
): MlpCritic {
  for (const l of layers) [l.W, l.b].forEach((t) => keep(requireGrad(t)));
  let norms: BatchNormState[] | null = null;
  if (opts.batchNorm || opts.norms) {
    norms =
      opts.norms ??
      layers.slice(0, -1).map((l) => ({
        gamma: ones([l.W.shape[1]]),
        beta: zeros([l.W.shape[1]]),
        runningMean: zeros([l.W.shape[1]]),
        runningVar: ones([l.W.shape[1]]),
      }));
    for (const n of norms) {
      [n.gamma, n.beta].forEach((t) => keep(requireGrad(t)));
      [n.runningMean, n.runningVar].forEach((t) => keep(t));
    }
  }
  let updating = true;
  const critic: MlpCritic = {
    layers,
    norms,
    batchDependent: norms !== null,
    statUpdates: 0,
    forward(x: Tensor): Tensor {
      let h = x.rank === 2 ? x : flatten(x);
      layers.forEach((l, i) => {
        h = add(matmul(h, l.W), l.b);
        if (i === layers.length - 1) return;
        const n = norms?.[i];
        if (n) {
          h = batchNorm(h, n.gamma, n.beta, n.runningMean, n.runningVar, { training: true, updateStats: updating });
          if (updating) critic.statUpdates++;
        }
        h = relu(h);
      });
      return h;
    },
    parameters(): Tensor[] {
      return [...layers.flatMap((l) => [l.W, l.b]), ...(norms ?? []).flatMap((n) => [n.gamma, n.beta])];
    },
  };
  if (norms) {
    critic.withoutStatUpdates = <T>(fn: () => T): T => {
      const prev = updating;
      updating = false;
      try {
        return fn();
      } finally {
        updating = prev;
      }
    };
  }
  return critic;
}

/**
 * Random dense layers for sizes [in, h1, ..., out], initialised as the WGAN-GP toy critic
 * (gan_toy.py): hidden layers uniform with std √(2/in) ("he"), the last Glorot; biases zero.
 */
export function randomDenseLayers(sizes: number[], seed?: number): DenseLayer[] {
  if (seed !== undefined) manualSeed(seed);
  return sizes.slice(1).map((out, i) => {
    const inp = sizes[i];
    const last = i === sizes.length - 2;
    const std = last ? Math.sqrt(2 / (inp + out)) : Math.sqrt(2 / inp);
    const lim = Math.sqrt(3) * std;
    return { W: randUniform([inp, out], -lim, lim), b: zeros([out]) };
  });
}

/** [w1 [C, Cin, 3, 3], b1 [C], w2 [C, C, 3, 3], b2 [C], W [C, 1], b [1]] */
export type ConvCriticWeights = [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];

/**
 * A tiny residual conv critic (NCHW): h = relu(conv1(x)); h = h + conv2(relu(h)); mean over
 * H, W; Linear C -> 1. 3×3 convs, padding 1, stride 1.
 */
export function convCritic(weights: ConvCriticWeights): Critic {
  for (const t of weights) keep(requireGrad(t));
  const [w1, b1, w2, b2, W, b] = weights;
  return {
    forward(x: Tensor): Tensor {
      let h = relu(conv2d(x, w1, b1, { padding: 1 }));
      h = add(h, conv2d(relu(h), w2, b2, { padding: 1 }));
      return add(matmul(mean(h, [2, 3]), W), b);
    },
    parameters: () => [...weights],
  };
}
