// The residual blocks of WGAN-GP's CIFAR ResNet (gan_cifar_resnet.py L63-179; ALR wgan_alp.py
// L142-281): pre-activation blocks with 3x3 convs, mean-pool down / nearest up resampling.
import { add, relu, type Tensor } from '../engine/web.js';
import type { WeightInit } from './init.js';
import { BatchNorm2d, Conv2d, ConvMeanPool, LayerNorm, MeanPoolConv, UpsampleConv } from './layers.js';
import { Module } from './module.js';
import { checkOptions, num, oneOf } from '../engine/options.js';

const NORM_CHECK = oneOf(['none', 'batch', 'layer']);
const INIT_SCHEME_CHECK = oneOf(['alr', 'gp']);

export type Norm = 'none' | 'batch' | 'layer';
export type Resample = 'up' | 'down' | null;

/**
 * 'alr': convs U(±√(6/fan_in)) (variance_scaling uniform); 'gp': tflib's he_init,
 * std √(4/(fan_in+fan_out)). Shortcut and output convs are Glorot-uniform in both.
 */
export type InitScheme = 'alr' | 'gp';

export const heInit = (s: InitScheme): WeightInit => (s === 'gp' ? 'gp_he' : 'he');

function makeNorm(norm: Norm, channels: number): Module | null {
  if (norm === 'batch') return new BatchNorm2d(channels);
  if (norm === 'layer') return new LayerNorm(channels);
  return null;
}

export interface ResidualBlockOptions {
  resample?: Resample;
  norm?: Norm;
  kernelSize?: number;
  init?: InitScheme;
}

/**
 * out = conv2(relu(N2(conv1(relu(N1(x)))))) + shortcut(x), with
 * - 'up': conv1 = UpsampleConv k×k in→out, conv2 = Conv out→out, shortcut = UpsampleConv 1×1;
 * - 'down': conv1 = Conv in→in, conv2 = ConvMeanPool in→out, shortcut = ConvMeanPool 1×1;
 * - null: conv1 in→out, conv2 out→out, shortcut identity (a 1×1 conv if in ≠ out).
 * Members: norm1, conv1, norm2, conv2, shortcut (norms absent when norm = 'none').
 */
export class ResidualBlock extends Module {
  readonly norm1: Module | null;
  readonly conv1: Conv2d;
  readonly norm2: Module | null;
  readonly conv2: Conv2d;
  readonly shortcut: Conv2d | null;

  constructor(
    readonly inDim: number,
    readonly outDim: number,
    opts: ResidualBlockOptions = {},
  ) {
    super();
    checkOptions('ResidualBlock', opts, {
      resample: oneOf(['up', 'down', null]),
      norm: NORM_CHECK,
      kernelSize: num({ int: true, min: 1 }),
      init: INIT_SCHEME_CHECK,
    });
    const resample = opts.resample ?? null;
    const norm = opts.norm ?? 'none';
    const k = opts.kernelSize ?? 3;
    const he = { init: heInit(opts.init ?? 'alr') };
    const glorot = { init: 'glorot' as const };
    const mid = resample === 'down' ? inDim : outDim; // channels between conv1 and conv2
    const n1 = makeNorm(norm, inDim);
    this.norm1 = n1 && this.registerModule('norm1', n1);
    if (resample === 'up') this.conv1 = this.registerModule('conv1', new UpsampleConv(inDim, mid, k, he));
    else this.conv1 = this.registerModule('conv1', new Conv2d(inDim, mid, k, he));
    const n2 = makeNorm(norm, mid);
    this.norm2 = n2 && this.registerModule('norm2', n2);
    if (resample === 'down') this.conv2 = this.registerModule('conv2', new ConvMeanPool(mid, outDim, k, he));
    else this.conv2 = this.registerModule('conv2', new Conv2d(mid, outDim, k, he));
    if (resample === 'up') this.shortcut = this.registerModule('shortcut', new UpsampleConv(inDim, outDim, 1, glorot));
    else if (resample === 'down')
      this.shortcut = this.registerModule('shortcut', new ConvMeanPool(inDim, outDim, 1, glorot));
    else if (inDim !== outDim) this.shortcut = this.registerModule('shortcut', new Conv2d(inDim, outDim, 1, glorot));
    else this.shortcut = null;
  }

  forward(x: Tensor): Tensor {
    const s = this.shortcut ? this.shortcut.forward(x) : x;
    let h = this.norm1 ? this.norm1.forward(x) : x;
    h = this.conv1.forward(relu(h));
    if (this.norm2) h = this.norm2.forward(h);
    h = this.conv2.forward(relu(h));
    return add(s, h);
  }
}

/**
 * The critic's first block: ConvMeanPool3×3(relu(Conv3×3(x))) + Conv1×1(MeanPool(x)), no
 * pre-activation. With norm 'batch' (WGAN-BN, ALR's commented lines) a BatchNorm follows conv1.
 * Members: conv1, norm1?, conv2, shortcut.
 */
export class OptimizedResBlockDisc1 extends Module {
  readonly conv1: Conv2d;
  readonly norm1: Module | null;
  readonly conv2: ConvMeanPool;
  readonly shortcut: MeanPoolConv;

  constructor(
    readonly inChannels: number,
    readonly dim: number,
    opts: { norm?: 'none' | 'batch'; init?: InitScheme } = {},
  ) {
    super();
    checkOptions('OptimizedResBlockDisc1', opts, { norm: oneOf(['none', 'batch']), init: INIT_SCHEME_CHECK });
    const he = { init: heInit(opts.init ?? 'alr') };
    this.conv1 = this.registerModule('conv1', new Conv2d(inChannels, dim, 3, he));
    this.norm1 = opts.norm === 'batch' ? this.registerModule('norm1', new BatchNorm2d(dim)) : null;
    this.conv2 = this.registerModule('conv2', new ConvMeanPool(dim, dim, 3, he));
    this.shortcut = this.registerModule('shortcut', new MeanPoolConv(inChannels, dim, 1, { init: 'glorot' }));
  }

  forward(x: Tensor): Tensor {
    let h = this.conv1.forward(x);
    if (this.norm1) h = this.norm1.forward(h);
    return add(this.shortcut.forward(x), this.conv2.forward(relu(h)));
  }
}
