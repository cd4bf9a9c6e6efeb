// A Module as the critic alr's penalties take (alr's Critic interface, structurally: nn does not
// depend on alr): train-mode auxiliary passes without running-statistic updates, and whether a
// forward pass couples the samples of a batch (batch norm in training mode).
import type { Tensor } from '../engine/web.js';
import { BatchNorm } from './layers.js';
import { recordBatchStatistics, withoutStatUpdates, type Module } from './module.js';

export interface ModuleCritic {
  forward(x: Tensor): Tensor;
  parameters(): Tensor[];
  withoutStatUpdates<T>(fn: () => T): T;
  readonly batchDependent: boolean;
  batchStatistics<T>(fn: () => T): { result: T; stats: { layer: string; mean: Tensor; variance: Tensor }[] };
  readonly module: Module;
}

/** Wraps a Module for adversarialLipschitzPenalty, wganAlpCriticLoss, gradientNormPenalty, ... */
export function asCritic(m: Module): ModuleCritic {
  return {
    module: m,
    forward: (x: Tensor) => m.forward(x),
    parameters: () => m.parameters(),
    withoutStatUpdates,
    batchStatistics<T>(fn: () => T) {
      const names = new Map(m.namedModules().map(([name, mod]) => [mod, name || '(root)']));
      const { result, stats } = recordBatchStatistics(fn);
      return {
        result,
        stats: stats.map((s) => ({
          layer: names.get(s.module) ?? s.module.constructor.name,
          mean: s.mean,
          variance: s.variance,
        })),
      };
    },
    // read at each use: train() / eval() may change it
    get batchDependent() {
      return m.namedModules().some(([, mod]) => mod instanceof BatchNorm && mod.training);
    },
  };
}
