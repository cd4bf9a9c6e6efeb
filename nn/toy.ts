// Multilayer perceptrons for the 2-D experiments (alr/README.md, Setups).
import { reshape, type Tensor } from '../engine/web.js';
import { WEIGHT_INITS, type WeightInit } from './init.js';
import { bool, checkOptions, oneOf } from '../engine/options.js';
import { BatchNorm1d, Linear, ReLU } from './layers.js';
import { type Module, Sequential } from './module.js';
import { spectralNorm } from './spectral.js';

export interface MLPOptions {
  /** init of the hidden Linear layers */
  hiddenInit?: WeightInit;
  /** init of the last Linear layer */
  lastInit?: WeightInit;
  /** BatchNorm1d before each ReLU */
  batchNorm?: boolean;
  /** spectral norm on every Linear */
  spectralNorm?: boolean;
  /** return [N] instead of [N, 1] when the last layer has one output */
  squeeze?: boolean;
}

/**
 * sizes[0] → sizes[1] → ... → sizes[-1], ReLU after every hidden Linear (with an optional
 * BatchNorm1d before it). A torch.nn.Sequential in naming: '0.weight', '1.running_mean', ...
 */
export class MLP extends Sequential {
  readonly squeeze: boolean;
  constructor(
    readonly sizes: number[],
    opts: MLPOptions = {},
  ) {
    checkOptions('MLP', opts, {
      hiddenInit: oneOf(WEIGHT_INITS),
      lastInit: oneOf(WEIGHT_INITS),
      batchNorm: bool,
      spectralNorm: bool,
      squeeze: bool,
    });
    if (!Array.isArray(sizes) || sizes.length < 2)
      throw new Error(`MLP: sizes must be an array of at least 2 layer sizes, got ${JSON.stringify(sizes)}`);
    const layers: Module[] = [];
    for (let i = 0; i + 1 < sizes.length; i++) {
      const last = i + 2 === sizes.length;
      let lin = new Linear(sizes[i], sizes[i + 1], {
        init: last ? (opts.lastInit ?? 'glorot') : (opts.hiddenInit ?? 'he'),
      });
      if (opts.spectralNorm) lin = spectralNorm(lin);
      layers.push(lin);
      if (!last) {
        if (opts.batchNorm) layers.push(new BatchNorm1d(sizes[i + 1]));
        layers.push(new ReLU());
      }
    }
    super(...layers);
    this.squeeze = (opts.squeeze ?? true) && sizes[sizes.length - 1] === 1;
  }
  override forward(x: Tensor): Tensor {
    let y = x;
    for (let i = 0; i < this.layers.length; i++) {
      const m = this.layers[i];
      // a Linear followed by ReLU runs as one kernel (bias and relu in the matmul's epilogue)
      if (m instanceof Linear && this.layers[i + 1] instanceof ReLU) (y = m.forward(y, { relu: true })), i++;
      else y = m.forward(y);
    }
    return this.squeeze ? reshape(y, [y.shape[0]]) : y;
  }
}

/** gan_toy.py generator: N(0, I₂) → [Linear dim + ReLU] ×3 → Linear 2; hidden 'he', last Glorot. */
export function toyGenerator(dim = 512): MLP {
  return new MLP([2, dim, dim, dim, 2], { hiddenInit: 'he', lastInit: 'glorot' });
}

/** gan_toy.py critic: 2 → [Linear dim + ReLU] ×3 → Linear 1, output [N]. */
export function toyCritic(dim = 512, opts: Pick<MLPOptions, 'spectralNorm' | 'batchNorm'> = {}): MLP {
  checkOptions('toyCritic', opts, { spectralNorm: bool, batchNorm: bool });
  return new MLP([2, dim, dim, dim, 1], { ...opts, hiddenInit: 'he', lastInit: 'glorot' });
}

/**
 * Appendix A.4 regressor 2 → 20 → 40 → 20 → 1 (1741 parameters without BN), PyTorch default
 * init (the notebooks were PyTorch), optional BatchNorm1d before each ReLU and spectral norm.
 */
export function lipschitzRegressor(opts: Pick<MLPOptions, 'spectralNorm' | 'batchNorm'> = {}): MLP {
  checkOptions('lipschitzRegressor', opts, { spectralNorm: bool, batchNorm: bool });
  return new MLP([2, 20, 40, 20, 1], { ...opts, hiddenInit: 'torch', lastInit: 'torch' });
}
