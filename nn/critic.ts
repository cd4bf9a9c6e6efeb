// A Module as the critic alr's penalties take (alr's Critic interface, structurally: nn does not
// depend on alr): train-mode auxiliary passes without running-statistic updates, and whether a
// forward pass couples the samples of a batch (batch norm in training mode).
import type { Tensor } from '../engine/web.js';
import { BatchNorm } from './layers.js';
import { withoutStatUpdates, type Module } from './module.js';

export interface ModuleCritic {
  forward(x: Tensor): Tensor;
  parameters(): Tensor[];
  withoutStatUpdates<T>(fn: () => T): T;
  readonly batchDependent: boolean;
  readonly module: Module;
}

/** Wraps a Module for adversarialLipschitzPenalty, wganAlpCriticLoss, gradientNormPenalty, ... */
export function asCritic(m: Module): ModuleCritic {
  return {
    module: m,
    forward: (x: Tensor) => m.forward(x),
    parameters: () => m.parameters(),
    withoutStatUpdates,
    // read at each use: train() / eval() may change it
    get batchDependent() {
      return m.namedModules().some(([, mod]) => mod instanceof BatchNorm && mod.training);
    },
  };
}
