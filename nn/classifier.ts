// A ConvLarge-style classifier (semisup.py L321-357) with scalable widths: full size it is the
// paper's semi-supervised model; small widths give a cheap classifier for semi-supervised runs
// and for classifier-feature FID. PyTorch default init (as semisup.py).
import { globalMeanPool, type Tensor } from '../engine/web.js';
import { BatchNorm2d, Conv2d, Dropout2d, LeakyReLU, Linear, MaxPool2d } from './layers.js';
import { Module, Sequential } from './module.js';
import { arrayOf, checkOptions, num } from '../engine/options.js';

export interface ConvClassifierOptions {
  inChannels?: number;
  numClasses?: number;
  /** [c1, c2, c3]; ConvLarge is [128, 256, 512] */
  widths?: [number, number, number];
  /** 3×3 convs in each of the first two stages (ConvLarge: 3) */
  convsPerStage?: number;
  /** Dropout2d after each pooling (ConvLarge: 0.5) */
  dropout?: number;
  /** LeakyReLU slope (0.1) */
  slope?: number;
}

/**
 * stage1: n × [conv3×3 c1, BN, LReLU] → MaxPool2 → Dropout2d
 * stage2: n × [conv3×3 c2, BN, LReLU] → MaxPool2 → Dropout2d
 * stage3: conv3×3 c3 (padding 1), BN, LReLU → conv1×1 c2, BN, LReLU → conv1×1 c1, BN, LReLU
 * → global average pool (features, [N, c1]) → Linear numClasses (logits).
 * Input spatial size must be divisible by 4.
 */
export class ConvClassifier extends Module {
  readonly stage1: Sequential;
  readonly stage2: Sequential;
  readonly stage3: Sequential;
  readonly fc: Linear;

  constructor(opts: ConvClassifierOptions = {}) {
    checkOptions('ConvClassifier', opts, {
      inChannels: num({ int: true, min: 1 }),
      numClasses: num({ int: true, min: 1 }),
      widths: arrayOf(num({ int: true, min: 1 }), 3),
      convsPerStage: num({ int: true, min: 1 }),
      dropout: num({ min: 0, lt: 1 }),
      slope: num(),
    });
    super();
    const [c1, c2, c3] = opts.widths ?? [128, 256, 512];
    const n = opts.convsPerStage ?? 3;
    const slope = opts.slope ?? 0.1;
    const p = opts.dropout ?? 0.5;
    const unit = (cin: number, cout: number, k: number) => [
      new Conv2d(cin, cout, k, { init: 'torch' }),
      new BatchNorm2d(cout),
      new LeakyReLU(slope),
    ];
    const stage = (cin: number, cout: number) => {
      const layers: Module[] = [];
      for (let i = 0; i < n; i++) layers.push(...unit(i === 0 ? cin : cout, cout, 3));
      layers.push(new MaxPool2d());
      if (p > 0) layers.push(new Dropout2d(p));
      return new Sequential(...layers);
    };
    this.stage1 = this.registerModule('stage1', stage(opts.inChannels ?? 3, c1));
    this.stage2 = this.registerModule('stage2', stage(c1, c2));
    this.stage3 = this.registerModule(
      'stage3',
      new Sequential(...unit(c2, c3, 3), ...unit(c3, c2, 1), ...unit(c2, c1, 1)),
    );
    this.fc = this.registerModule('fc', new Linear(c1, opts.numClasses ?? 10, { init: 'torch' }));
  }

  /** The penultimate layer: globally pooled stage-3 activations, [N, c1]. */
  features(x: Tensor): Tensor {
    return globalMeanPool(this.stage3.forward(this.stage2.forward(this.stage1.forward(x))));
  }

  /** Logits [N, numClasses]. */
  forward(x: Tensor): Tensor {
    return this.fc.forward(this.features(x));
  }
}
