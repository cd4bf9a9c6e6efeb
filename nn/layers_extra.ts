// More layers in PyTorch's names, layouts and state_dict names: GELU, SiLU, GroupNorm,
// InstanceNorm2d, ConvTranspose2d (weight [in, out, k, k]), Embedding and SAGAN's
// SelfAttention2d. Each is written with differentiable ops, so gradient penalties
// differentiate it again.
import {
  add,
  assign,
  batchNorm,
  convTranspose2d,
  embedding,
  full,
  gelu,
  groupNorm,
  matmul,
  mean,
  mul,
  noGrad,
  randNormal,
  reshape,
  shapeStr,
  silu,
  softmax,
  tidy,
  variance,
  zeros,
  type Tensor,
} from '../engine/web.js';
import { bool, checkNumber, checkOptions, num, oneOf } from '../engine/options.js';
import { fans, initBias, initWeight, type WeightInit } from './init.js';
import { Conv2d } from './layers.js';
import { Module, statUpdatesEnabled } from './module.js';

const INITS = ['he', 'gp_he', 'glorot', 'torch'] as const;
const positiveInt = (where: string, name: string, v: unknown) => checkNumber(where, name, v, { int: true, min: 1 });

// ---------- activations ----------

export interface GELUOptions {
  /** 'none' (default): exact, with erf, as PyTorch's default; 'tanh': the tanh approximation */
  approximate?: 'none' | 'tanh';
}

/** nn.GELU: x·Φ(x). */
export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';
  constructor(opts: GELUOptions = {}) {
    super();
    const o = checkOptions('GELU', opts, { approximate: oneOf(['none', 'tanh']) });
    this.approximate = o.approximate ?? 'none';
  }
  forward(x: Tensor): Tensor {
    return gelu(x, { approximate: this.approximate });
  }
}

/** nn.SiLU (swish): x·σ(x). */
export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return silu(x);
  }
}

// ---------- normalisation ----------

export interface GroupNormOptions {
  /** default 1e-5 */
  eps?: number;
  /** per-channel weight (ones) and bias (zeros), default true */
  affine?: boolean;
}

/**
 * nn.GroupNorm(numGroups, numChannels): per sample, statistics over each group of
 * numChannels / numGroups channels and all spatial positions; no running statistics, so the
 * same in training and eval (and per sample: no batch dependence, unlike BatchNorm).
 */
export class GroupNorm extends Module {
  readonly eps: number;
  readonly affine: boolean;
  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    opts: GroupNormOptions = {},
  ) {
    super();
    positiveInt('GroupNorm', 'numGroups', numGroups);
    positiveInt('GroupNorm', 'numChannels', numChannels);
    if (numChannels % numGroups !== 0)
      throw new Error(`GroupNorm: numChannels ${numChannels} must be divisible by numGroups ${numGroups}`);
    const o = checkOptions('GroupNorm', opts, { eps: num({ gt: 0 }), affine: bool });
    this.eps = o.eps ?? 1e-5;
    this.affine = o.affine ?? true;
    if (this.affine) {
      this.registerParameter('weight', full([numChannels], 1));
      this.registerParameter('bias', zeros([numChannels]));
    }
  }
  forward(x: Tensor): Tensor {
    if (x.rank < 2 || x.shape[1] !== this.numChannels) {
      throw new Error(
        `GroupNorm(${this.numGroups}, ${this.numChannels}): expected input [N, ${this.numChannels}, ...], got ${shapeStr(x.shape)}`,
      );
    }
    return groupNorm(x, this.numGroups, this.getParameter('weight') ?? null, this.getParameter('bias') ?? null, {
      eps: this.eps,
    });
  }
}

export interface InstanceNormOptions {
  /** default 1e-5 */
  eps?: number;
  /** per-channel weight and bias, default false (as PyTorch) */
  affine?: boolean;
  /** keep running_mean / running_var and use them in eval mode, default false (as PyTorch) */
  trackRunningStats?: boolean;
  /** weight of the new statistics in the running averages, default 0.1 */
  momentum?: number;
}

/**
 * nn.InstanceNorm2d: each sample's each channel normalised over H, W. With trackRunningStats,
 * training updates running_mean / running_var (the batch average of the per-instance means and
 * unbiased variances, as PyTorch; not inside withoutStatUpdates) and eval mode normalises with them.
 */
export class InstanceNorm2d extends Module {
  readonly eps: number;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  readonly momentum: number;
  constructor(
    readonly numFeatures: number,
    opts: InstanceNormOptions = {},
  ) {
    super();
    positiveInt('InstanceNorm2d', 'numFeatures', numFeatures);
    const o = checkOptions('InstanceNorm2d', opts, {
      eps: num({ gt: 0 }),
      affine: bool,
      trackRunningStats: bool,
      momentum: num({ min: 0, max: 1 }),
    });
    this.eps = o.eps ?? 1e-5;
    this.affine = o.affine ?? false;
    this.trackRunningStats = o.trackRunningStats ?? false;
    this.momentum = o.momentum ?? 0.1;
    if (this.affine) {
      this.registerParameter('weight', full([numFeatures], 1));
      this.registerParameter('bias', zeros([numFeatures]));
    }
    if (this.trackRunningStats) {
      this.registerBuffer('running_mean', zeros([numFeatures]));
      this.registerBuffer('running_var', full([numFeatures], 1));
    }
  }
  forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.numFeatures) {
      throw new Error(
        `InstanceNorm2d(${this.numFeatures}): expected input [N, ${this.numFeatures}, H, W], got ${shapeStr(x.shape)}`,
      );
    }
    const w = this.getParameter('weight') ?? null;
    const b = this.getParameter('bias') ?? null;
    const rm = this.getBuffer('running_mean');
    const rv = this.getBuffer('running_var');
    if (rm && rv && !this.training) return batchNorm(x, w, b, rm, rv, { training: false, eps: this.eps });
    if (rm && rv && statUpdatesEnabled()) {
      const hw = x.shape[2] * x.shape[3];
      if (hw < 2)
        throw new Error(
          `InstanceNorm2d: running statistics need more than one value per channel, input ${shapeStr(x.shape)}`,
        );
      const m = this.momentum;
      tidy(() =>
        noGrad(() => {
          const mu = mean(mean(x, [2, 3]), 0);
          const v = mean(mul(variance(x, [2, 3]), hw / (hw - 1)), 0);
          assign(rm, add(mul(rm, 1 - m), mul(mu, m)));
          assign(rv, add(mul(rv, 1 - m), mul(v, m)));
        }),
      );
    }
    return groupNorm(x, this.numFeatures, w, b, { eps: this.eps });
  }
}

// ---------- transposed convolution ----------

export interface ConvTranspose2dOptions {
  /** default 1 */
  stride?: number;
  /** default 0 (as PyTorch) */
  padding?: number;
  /** extra output rows/columns on the bottom/right, < stride; default 0 */
  outputPadding?: number;
  bias?: boolean;
  /** default 'he' (as Conv2d here); 'torch' is PyTorch's default. fan_in = out·k², as PyTorch computes it for this layout */
  init?: WeightInit;
}

/**
 * nn.ConvTranspose2d(in, out, kernelSize): square kernel, NCHW, weight [in, out, k, k] (PyTorch's
 * layout, so checkpoints load either way), output (H - 1)·stride - 2·padding + k + outputPadding.
 */
export class ConvTranspose2d extends Module {
  readonly stride: number;
  readonly padding: number;
  readonly outputPadding: number;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    opts: ConvTranspose2dOptions = {},
  ) {
    super();
    const where = 'ConvTranspose2d';
    positiveInt(where, 'inChannels', inChannels);
    positiveInt(where, 'outChannels', outChannels);
    positiveInt(where, 'kernelSize', kernelSize);
    const o = checkOptions(where, opts, {
      stride: num({ int: true, min: 1 }),
      padding: num({ int: true, min: 0 }),
      outputPadding: num({ int: true, min: 0 }),
      bias: bool,
      init: oneOf(INITS),
    });
    this.stride = o.stride ?? 1;
    this.padding = o.padding ?? 0;
    this.outputPadding = o.outputPadding ?? 0;
    if (this.outputPadding >= this.stride)
      throw new Error(`${where}: outputPadding ${this.outputPadding} must be smaller than stride ${this.stride}`);
    const init = o.init ?? 'he';
    const shape = [inChannels, outChannels, kernelSize, kernelSize];
    this.registerParameter('weight', initWeight(shape, init));
    if (o.bias ?? true) this.registerParameter('bias', initBias(outChannels, init, fans(shape).fanIn));
  }
  get weight(): Tensor {
    return this.getParameter('weight')!;
  }
  get bias(): Tensor | null {
    return this.getParameter('bias') ?? null;
  }
  forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.inChannels) {
      throw new Error(
        `ConvTranspose2d(${this.inChannels}, ${this.outChannels}, ${this.kernelSize}): expected input [N, ${this.inChannels}, H, W], got ${shapeStr(x.shape)}`,
      );
    }
    return convTranspose2d(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      outputPadding: this.outputPadding,
    });
  }
}

// ---------- embedding ----------

export interface EmbeddingOptions {
  /** standard deviation of the N(0, std²) initial weights, default 1 (as PyTorch) */
  std?: number;
}

/**
 * nn.Embedding(numEmbeddings, dim): weight [numEmbeddings, dim]; forward(indices) returns the
 * rows at indices: host integers (array or Int32Array: [k, dim], checked) or a tensor on the GPU
 * (i32, or f32 labels from a DataLoader: [...shape, dim]). Gradients flow to the weight.
 */
export class Embedding extends Module {
  constructor(
    readonly numEmbeddings: number,
    readonly dim: number,
    opts: EmbeddingOptions = {},
  ) {
    super();
    positiveInt('Embedding', 'numEmbeddings', numEmbeddings);
    positiveInt('Embedding', 'dim', dim);
    const o = checkOptions('Embedding', opts, { std: num({ gt: 0 }) });
    this.registerParameter('weight', randNormal([numEmbeddings, dim], 0, o.std ?? 1));
  }
  get weight(): Tensor {
    return this.getParameter('weight')!;
  }
  forward(indices: Tensor | ArrayLike<number>): Tensor {
    return embedding(this.weight, indices);
  }
}

// ---------- self-attention ----------

export interface SelfAttention2dOptions {
  /** query/key channels = max(1, floor(channels / reduction)), default 8 (SAGAN) */
  reduction?: number;
  /** initialiser of the three 1x1 convolutions, default 'he' */
  init?: WeightInit;
}

/**
 * SAGAN's self-attention block (Zhang et al. 2019): 1x1 convolutions give queries and keys
 * [N, C/8, HW] and values [N, C, HW]; attention = softmax over positions of qᵀk ([N, HW, HW]);
 * y = γ·(v attentionᵀ) + x with a learned scalar γ that starts at 0 (the block starts as the
 * identity). Members are named as the common PyTorch port: query_conv, key_conv, value_conv, gamma.
 */
export class SelfAttention2d extends Module {
  readonly query_conv: Conv2d;
  readonly key_conv: Conv2d;
  readonly value_conv: Conv2d;
  constructor(
    readonly channels: number,
    opts: SelfAttention2dOptions = {},
  ) {
    super();
    positiveInt('SelfAttention2d', 'channels', channels);
    const o = checkOptions('SelfAttention2d', opts, { reduction: num({ int: true, min: 1 }), init: oneOf(INITS) });
    const ck = Math.max(1, Math.floor(channels / (o.reduction ?? 8)));
    const init = o.init ?? 'he';
    this.query_conv = this.registerModule('query_conv', new Conv2d(channels, ck, 1, { init }));
    this.key_conv = this.registerModule('key_conv', new Conv2d(channels, ck, 1, { init }));
    this.value_conv = this.registerModule('value_conv', new Conv2d(channels, channels, 1, { init }));
    this.registerParameter('gamma', zeros([1]));
  }
  forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.channels) {
      throw new Error(
        `SelfAttention2d(${this.channels}): expected input [N, ${this.channels}, H, W], got ${shapeStr(x.shape)}`,
      );
    }
    const [B, C, H, W] = x.shape;
    const n = H * W;
    const q = reshape(this.query_conv.forward(x), [B, -1, n]);
    const k = reshape(this.key_conv.forward(x), [B, -1, n]);
    const v = reshape(this.value_conv.forward(x), [B, C, n]);
    const attention = softmax(matmul(q, k, { transA: true }), -1); // [B, n, n]: row i attends over positions j
    const out = reshape(matmul(v, attention, { transB: true }), [B, C, H, W]);
    return add(mul(out, this.getParameter('gamma')!), x);
  }
}
