// Weight initialisers. All draws come from the engine's seeded GPU RNG, so manualSeed(s)
// before building a model fixes its initial weights.
import { randUniform, zeros, type Tensor } from '../engine/web.js';

/**
 * Uniform initialisers, weights in PyTorch layout ([out, in] or [out, in, k, k]):
 * - 'he': U(±√(6/fan_in)), ALR's `variance_scaling_initializer(uniform=True)` and tflib's
 *   Linear 'he' (the toy GANs' hidden layers);
 * - 'gp_he': tflib Conv2D he_init, std √(4/(fan_in+fan_out)), limit √3·std;
 * - 'glorot': U(±√(6/(fan_in+fan_out))), `xavier_initializer(uniform=True)`, tflib's default;
 * - 'torch': PyTorch's Linear/Conv2d default, kaiming_uniform(a=√5) = U(±1/√fan_in).
 * fan_in = in·k², fan_out = out·k².
 */
export type WeightInit = 'he' | 'gp_he' | 'glorot' | 'torch';
export const WEIGHT_INITS: readonly WeightInit[] = ['he', 'gp_he', 'glorot', 'torch'];

export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new Error(`init: a weight needs at least 2 axes, got [${shape.join(', ')}]`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

export function initLimit(init: WeightInit, fanIn: number, fanOut: number): number {
  switch (init) {
    case 'he':
      return Math.sqrt(6 / fanIn);
    case 'gp_he':
      return Math.sqrt(3) * Math.sqrt(4 / (fanIn + fanOut));
    case 'glorot':
      return Math.sqrt(6 / (fanIn + fanOut));
    case 'torch':
      return 1 / Math.sqrt(fanIn);
    default:
      throw new Error(`init: unknown initialiser '${init as string}'`);
  }
}

/** A freshly drawn weight of the given PyTorch-layout shape. */
export function initWeight(shape: readonly number[], init: WeightInit): Tensor {
  const { fanIn, fanOut } = fans(shape);
  const l = initLimit(init, fanIn, fanOut);
  return randUniform(shape, -l, l);
}

/** Biases are zero in the TF references; PyTorch's default draws U(±1/√fan_in). */
export function initBias(n: number, init: WeightInit, fanIn: number): Tensor {
  if (init !== 'torch') return zeros([n]);
  const l = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return randUniform([n], -l, l);
}
