// Glue between nn modules and the alr package.
import type { Tensor } from '../../engine/index.js';
import { withoutStatUpdates, type Module } from '../../nn/index.js';
import type { Critic } from '../../alr/index.js';

/** An nn Module as the critic interface alr expects (train-mode passes without stat updates). */
export function asCritic(m: Module): Critic {
  return {
    forward: (x: Tensor) => m.forward(x),
    parameters: () => m.parameters(),
    withoutStatUpdates,
  };
}
