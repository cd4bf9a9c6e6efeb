// Layers in PyTorch layout and naming: Linear weight [out, in], Conv2d weight [out, in, k, k]
// (NCHW activations), BatchNorm weight/bias/running_mean/running_var.
import {
  avgPool2x2,
  batchNorm,
  detach,
  mean,
  noGrad,
  variance,
  conv2d,
  full,
  ge,
  layerNorm,
  leakyRelu,
  linear,
  maxPool2x2,
  mul,
  randUniform,
  relu,
  reshape,
  shapeStr,
  tanh,
  upsampleNearest2x,
  zeros,
  type Tensor,
} from '../engine/web.js';
import { bool, checkNumber, checkOptions, num, oneOf, unsupported } from '../engine/options.js';
import { fans, initBias, initWeight, WEIGHT_INITS, type WeightInit } from './init.js';
import { Module, noteBatchStatistics, recordingBatchStatistics, statUpdatesEnabled } from './module.js';

/** A layer with a `weight` that spectral norm can re-parametrise (see spectral.ts). */
export abstract class WeightLayer extends Module {
  /** maps the stored weight to the one used in forward (spectral norm installs one) */
  weightHook: ((w: Tensor) => Tensor) | null = null;

  /** The trainable weight: `weight`, or `weight_orig` under spectral norm. */
  get weight(): Tensor {
    const w = this.getParameter('weight') ?? this.getParameter('weight_orig');
    if (!w) throw new Error(`${this.constructor.name}: no weight parameter`);
    return w;
  }
  get bias(): Tensor | null {
    return this.getParameter('bias') ?? null;
  }
  /** The weight forward uses (spectral-normalised if a hook is set). */
  effectiveWeight(): Tensor {
    return this.weightHook ? this.weightHook(this.weight) : this.weight;
  }
}

export interface LinearOptions {
  bias?: boolean;
  /** default 'glorot' (tf.layers.dense / tflib Linear default) */
  init?: WeightInit;
}

const size = (where: string, name: string, v: unknown) => checkNumber(where, name, v, { int: true, min: 1 });
const initCheck = oneOf(WEIGHT_INITS);

/** y = x Wᵀ + b for x [N, in]. */
export class Linear extends WeightLayer {
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LinearOptions = {},
  ) {
    super();
    size('Linear', 'inFeatures', inFeatures);
    size('Linear', 'outFeatures', outFeatures);
    checkOptions('Linear', opts, { bias: bool, init: initCheck });
    const init = opts.init ?? 'glorot';
    this.registerParameter('weight', initWeight([outFeatures, inFeatures], init));
    if (opts.bias ?? true) this.registerParameter('bias', initBias(outFeatures, init, inFeatures));
  }
  /** `relu`: apply ReLU in the same kernel (what MLP does for a Linear followed by ReLU). */
  forward(x: Tensor, opts: { relu?: boolean } = {}): Tensor {
    checkOptions('Linear.forward', opts, { relu: bool });
    if (x.rank !== 2 || x.shape[1] !== this.inFeatures) {
      throw new Error(
        `Linear(${this.inFeatures}, ${this.outFeatures}): expected input [N, ${this.inFeatures}], got ${shapeStr(x.shape)}`,
      );
    }
    return linear(x, this.effectiveWeight(), this.bias, opts);
  }
}

export interface Conv2dOptions {
  stride?: number;
  /** default (k-1)/2: "SAME" for odd kernels at stride 1 */
  padding?: number;
  bias?: boolean;
  /** default 'he' (ALR's conv default) */
  init?: WeightInit;
}

/** 2-D convolution, square kernel, NCHW. */
export class Conv2d extends WeightLayer {
  readonly stride: number;
  readonly padding: number;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    opts: Conv2dOptions = {},
  ) {
    super();
    const name = new.target.name;
    size(name, 'inChannels', inChannels);
    size(name, 'outChannels', outChannels);
    size(name, 'kernelSize', kernelSize);
    checkOptions(name, opts, {
      stride: num({ int: true, min: 1 }),
      padding: num({ int: true, min: 0 }),
      bias: bool,
      init: initCheck,
      dilation: unsupported('dilated convolutions are not implemented', [1]),
      groups: unsupported('grouped convolutions are not implemented', [1]),
      paddingMode: unsupported('only zero padding is implemented', ['zeros']),
    });
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? Math.floor((kernelSize - 1) / 2);
    const init = opts.init ?? 'he';
    const shape = [outChannels, inChannels, kernelSize, kernelSize];
    this.registerParameter('weight', initWeight(shape, init));
    if (opts.bias ?? true) this.registerParameter('bias', initBias(outChannels, init, fans(shape).fanIn));
  }
  protected conv(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.inChannels) {
      throw new Error(
        `${this.constructor.name}(${this.inChannels}, ${this.outChannels}, ${this.kernelSize}): expected input [N, ${this.inChannels}, H, W], got ${shapeStr(x.shape)}`,
      );
    }
    return conv2d(x, this.effectiveWeight(), this.bias, { stride: this.stride, padding: this.padding });
  }
  forward(x: Tensor): Tensor {
    return this.conv(x);
  }
}

/** MeanPool(Conv(x)) (tflib ConvMeanPool). */
export class ConvMeanPool extends Conv2d {
  override forward(x: Tensor): Tensor {
    return avgPool2x2(this.conv(x));
  }
}

/** Conv(MeanPool(x)) (tflib MeanPoolConv). */
export class MeanPoolConv extends Conv2d {
  override forward(x: Tensor): Tensor {
    return this.conv(avgPool2x2(x));
  }
}

/** Conv(Upsample(x)); tflib's depth_to_space of 4 channel copies is 2x nearest-neighbour. */
export class UpsampleConv extends Conv2d {
  override forward(x: Tensor): Tensor {
    return this.conv(upsampleNearest2x(x));
  }
}

export interface BatchNormOptions {
  eps?: number;
  /** weight of the new batch statistics in the running averages (PyTorch convention) */
  momentum?: number;
}

/**
 * Batch normalisation per channel (axis 1). Training mode normalises with the batch's own
 * statistics (biased variance) and updates running_mean/running_var (unbiased variance), except
 * inside withoutStatUpdates(); eval mode uses the running statistics.
 */
export abstract class BatchNorm extends Module {
  readonly eps: number;
  readonly momentum: number;
  constructor(
    readonly numFeatures: number,
    private readonly ranks: number[],
    opts: BatchNormOptions = {},
  ) {
    super();
    size(new.target.name, 'numFeatures', numFeatures);
    checkOptions(new.target.name, opts, {
      eps: num({ gt: 0 }),
      momentum: num({ min: 0, max: 1 }),
      affine: unsupported('the weight and bias are always learnt', [true]),
      trackRunningStats: unsupported('running statistics are always tracked', [true]),
    });
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
    this.registerParameter('weight', full([numFeatures], 1));
    this.registerParameter('bias', zeros([numFeatures]));
    this.registerBuffer('running_mean', zeros([numFeatures]));
    this.registerBuffer('running_var', full([numFeatures], 1));
  }
  forward(x: Tensor): Tensor {
    if (!this.ranks.includes(x.rank) || x.shape[1] !== this.numFeatures) {
      throw new Error(`${this.constructor.name}(${this.numFeatures}): unexpected input ${shapeStr(x.shape)}`);
    }
    if (this.training && recordingBatchStatistics()) {
      const axes = [...Array(x.rank).keys()].filter((a) => a !== 1);
      noGrad(() =>
        noteBatchStatistics({ module: this, mean: mean(detach(x), axes), variance: variance(detach(x), axes) }),
      );
    }
    return batchNorm(
      x,
      this.getParameter('weight')!,
      this.getParameter('bias')!,
      this.getBuffer('running_mean')!,
      this.getBuffer('running_var')!,
      {
        training: this.training,
        momentum: this.momentum,
        eps: this.eps,
        updateStats: statUpdatesEnabled(),
      },
    );
  }
}

/** BatchNorm over [N, C] (or [N, C, L]). */
export class BatchNorm1d extends BatchNorm {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, [2, 3], opts);
  }
}

/** BatchNorm over [N, C, H, W]. */
export class BatchNorm2d extends BatchNorm {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, [4], opts);
  }
}

/**
 * Layer normalisation over all non-batch axes (C, H, W) with a per-channel gain and bias, as
 * tflib/ops/layernorm.py (WGAN-GP's critic normalisation). Same in training and eval.
 */
export class LayerNorm extends Module {
  constructor(
    readonly numChannels: number,
    readonly eps = 1e-5,
  ) {
    super();
    size('LayerNorm', 'numChannels', numChannels);
    checkNumber('LayerNorm', 'eps', eps, { gt: 0 });
    this.registerParameter('weight', full([numChannels], 1));
    this.registerParameter('bias', zeros([numChannels]));
  }
  forward(x: Tensor): Tensor {
    if (x.rank < 2 || x.shape[1] !== this.numChannels) {
      throw new Error(
        `LayerNorm(${this.numChannels}): expected input [N, ${this.numChannels}, ...], got ${shapeStr(x.shape)}`,
      );
    }
    const perChannel = [1, this.numChannels, ...Array(x.rank - 2).fill(1)];
    const axes = [...Array(x.rank).keys()].slice(1);
    return layerNorm(
      x,
      axes,
      reshape(this.getParameter('weight')!, perChannel),
      reshape(this.getParameter('bias')!, perChannel),
      this.eps,
    );
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

export class LeakyReLU extends Module {
  constructor(readonly slope = 0.01) {
    super();
    if (typeof slope === 'object' && slope !== null) {
      throw new Error(
        `LeakyReLU: takes the negative slope as a number (new LeakyReLU(0.2)), got an object with ${Object.keys(slope).join(', ') || 'no keys'}`,
      );
    }
    checkNumber('LeakyReLU', 'slope', slope);
  }
  forward(x: Tensor): Tensor {
    return leakyRelu(x, this.slope);
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

/** 2x2 average pooling, stride 2 (tflib MeanPool). */
export class MeanPool2d extends Module {
  forward(x: Tensor): Tensor {
    return avgPool2x2(x);
  }
}

/** 2x2 max pooling, stride 2 (even H, W); at ties the gradient goes to the first maximum (as PyTorch). */
export class MaxPool2d extends Module {
  forward(x: Tensor): Tensor {
    return maxPool2x2(x);
  }
}

/** 2x nearest-neighbour upsampling. */
export class Upsample extends Module {
  forward(x: Tensor): Tensor {
    return upsampleNearest2x(x);
  }
}

/** [N, ...] -> [N, prod(...)] */
export class Flatten extends Module {
  forward(x: Tensor): Tensor {
    return reshape(x, [x.shape[0], -1]);
  }
}

/** Zeroes whole channels with probability p in training mode and scales the rest by 1/(1-p). */
export class Dropout2d extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(typeof p === 'number' && p >= 0 && p < 1)) throw new Error(`Dropout2d: p must be in [0, 1), got ${p}`);
  }
  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    const mask = mul(ge(randUniform([x.shape[0], x.shape[1], ...Array(x.rank - 2).fill(1)]), this.p), 1 / (1 - this.p));
    return mul(x, mask);
  }
}
