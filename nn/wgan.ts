// WGAN-GP's residual CIFAR-10 generator and critic (alr/README.md, Setups), NCHW. The defaults are
// the paper's DIM = 128, z ∈ R^128, 32×32×3 images in [-1, 1]; the same classes serve
// 1-channel Fashion-MNIST (28×28 or padded 32×32) with a smaller DIM.
import { globalMeanPool, relu, reshape, shapeStr, tanh, type Tensor } from '../engine/web.js';
import { OptimizedResBlockDisc1, ResidualBlock, type InitScheme, type Norm } from './blocks.js';
import { BatchNorm2d, Conv2d, Linear } from './layers.js';
import { Module } from './module.js';
import { checkOptions, num, oneOf } from '../engine/options.js';

export interface CriticOptions {
  /** channels of every block (DIM), default 128 */
  dim?: number;
  inChannels?: number;
  /**
   * 'none' (default, as both references); 'batch' = WGAN-BN (ALR's commented lines): BN in the
   * three ResBlocks, after the first conv of block1, and before the final ReLU; 'layer' = GP's
   * NORMALIZATION_D: LayerNorm over (C, H, W) in the three ResBlocks only.
   */
  norm?: Norm;
  init?: InitScheme;
}

/**
 * OptimizedResBlockDisc1 (H/2) → ResBlock down (H/4) → ResBlock → ResBlock → [BN] → ReLU →
 * mean over H, W → Linear DIM → 1. Input [N, C, H, W] with H, W divisible by 4 (32 or 28);
 * output [N]. Members: block1..block4, normOut (WGAN-BN only), linear.
 */
export class Critic extends Module {
  readonly dim: number;
  readonly inChannels: number;
  readonly norm: Norm;
  readonly block1: OptimizedResBlockDisc1;
  readonly block2: ResidualBlock;
  readonly block3: ResidualBlock;
  readonly block4: ResidualBlock;
  readonly normOut: BatchNorm2d | null;
  readonly linear: Linear;

  constructor(opts: CriticOptions = {}) {
    super();
    checkOptions('Critic', opts, {
      dim: num({ int: true, min: 1 }),
      inChannels: num({ int: true, min: 1 }),
      norm: oneOf(['none', 'batch', 'layer']),
      init: oneOf(['alr', 'gp']),
    });
    const dim = (this.dim = opts.dim ?? 128);
    this.inChannels = opts.inChannels ?? 3;
    const norm = (this.norm = opts.norm ?? 'none');
    const init = opts.init ?? 'alr';
    this.block1 = this.registerModule(
      'block1',
      new OptimizedResBlockDisc1(this.inChannels, dim, { norm: norm === 'batch' ? 'batch' : 'none', init }),
    );
    this.block2 = this.registerModule('block2', new ResidualBlock(dim, dim, { resample: 'down', norm, init }));
    this.block3 = this.registerModule('block3', new ResidualBlock(dim, dim, { norm, init }));
    this.block4 = this.registerModule('block4', new ResidualBlock(dim, dim, { norm, init }));
    this.normOut = norm === 'batch' ? this.registerModule('normOut', new BatchNorm2d(dim)) : null;
    this.linear = this.registerModule('linear', new Linear(dim, 1, { init: 'glorot' }));
  }

  forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.inChannels || x.shape[2] % 4 || x.shape[3] % 4) {
      throw new Error(
        `Critic: expected input [N, ${this.inChannels}, H, W] with H, W divisible by 4, got ${shapeStr(x.shape)}`,
      );
    }
    let h = this.block1.forward(x);
    h = this.block2.forward(h);
    h = this.block3.forward(h);
    h = this.block4.forward(h);
    if (this.normOut) h = this.normOut.forward(h);
    const y = this.linear.forward(globalMeanPool(relu(h)));
    return reshape(y, [y.shape[0]]);
  }
}

export interface GeneratorOptions {
  /** channels of every block (DIM), default 128 */
  dim?: number;
  /** latent size, default 128 */
  zDim?: number;
  outChannels?: number;
  /** spatial size after the input Linear (default 4); output size is startSize·2^upBlocks */
  startSize?: number;
  /** number of up ResBlocks (default 3: 4 → 32) */
  upBlocks?: number;
  init?: InitScheme;
}

/**
 * Linear z → DIM·s·s, reshaped to [N, DIM, s, s] (GP's NCHW order) → upBlocks × ResBlock up
 * with BatchNorm → BN → ReLU → Conv3×3 DIM → C (Glorot) → tanh. Output [N, C, s·2^k, s·2^k].
 * Members: linear, block1..blockK, normOut, convOut.
 */
export class Generator extends Module {
  readonly dim: number;
  readonly zDim: number;
  readonly startSize: number;
  readonly linear: Linear;
  readonly blocks: ResidualBlock[] = [];
  readonly normOut: BatchNorm2d;
  readonly convOut: Conv2d;

  constructor(opts: GeneratorOptions = {}) {
    super();
    const count = num({ int: true, min: 1 });
    checkOptions('Generator', opts, {
      dim: count,
      zDim: count,
      outChannels: count,
      startSize: count,
      upBlocks: num({ int: true, min: 0 }),
      init: oneOf(['alr', 'gp']),
    });
    const dim = (this.dim = opts.dim ?? 128);
    this.zDim = opts.zDim ?? 128;
    const s = (this.startSize = opts.startSize ?? 4);
    const init = opts.init ?? 'alr';
    this.linear = this.registerModule('linear', new Linear(this.zDim, dim * s * s, { init: 'glorot' }));
    const k = opts.upBlocks ?? 3;
    for (let i = 1; i <= k; i++)
      this.blocks.push(
        this.registerModule(`block${i}`, new ResidualBlock(dim, dim, { resample: 'up', norm: 'batch', init })),
      );
    this.normOut = this.registerModule('normOut', new BatchNorm2d(dim));
    this.convOut = this.registerModule('convOut', new Conv2d(dim, opts.outChannels ?? 3, 3, { init: 'glorot' }));
  }

  forward(z: Tensor): Tensor {
    if (z.rank !== 2 || z.shape[1] !== this.zDim)
      throw new Error(`Generator: expected z [N, ${this.zDim}], got ${shapeStr(z.shape)}`);
    let h = reshape(this.linear.forward(z), [z.shape[0], this.dim, this.startSize, this.startSize]);
    for (const b of this.blocks) h = b.forward(h);
    return tanh(this.convOut.forward(relu(this.normOut.forward(h))));
  }
}

/** Critic for 1-channel Fashion-MNIST, 28×28 or padded 32×32 (both divisible by 4). */
export function fashionCritic(dim = 64, opts: Omit<CriticOptions, 'dim' | 'inChannels'> = {}): Critic {
  return new Critic({ ...opts, dim, inChannels: 1 });
}

/** Generator for 1-channel Fashion-MNIST: 7 → 14 → 28 (size 28) or 4 → 8 → 16 → 32 (size 32). */
export function fashionGenerator(
  dim = 64,
  size: 28 | 32 = 28,
  opts: Omit<GeneratorOptions, 'dim' | 'outChannels' | 'startSize' | 'upBlocks'> = {},
): Generator {
  return new Generator({ ...opts, dim, outChannels: 1, startSize: size === 28 ? 7 : 4, upBlocks: size === 28 ? 2 : 3 });
}
