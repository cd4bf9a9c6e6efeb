// nn's critic and alr's losses are loaded at run time: a module that fails to load (or lacks
// the export) turns its rows into "not available" instead of stopping the whole suite.
import type * as NN from '../../nn/index.js';
import type * as ALR from '../../alr/index.js';

async function load(spec: string): Promise<Record<string, unknown> | { error: string }> {
  try {
    return (await import(spec)) as Record<string, unknown>;
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0] };
  }
}

export async function nnApi(): Promise<typeof NN | string> {
  const mod = await load('../../nn/index.js');
  if ('error' in mod) return `not available: nn/index.ts failed to load: ${mod.error}`;
  return typeof mod.Critic === 'function'
    ? (mod as unknown as typeof NN)
    : 'not available yet: nn/index.ts exports no Critic';
}

export async function alrApi(): Promise<typeof ALR | string> {
  const mod = await load('../../alr/index.js');
  if ('error' in mod) return `not available: alr/index.ts failed to load: ${mod.error}`;
  return typeof mod.wganAlpCriticLoss === 'function' && typeof mod.wganGpCriticLoss === 'function'
    ? (mod as unknown as typeof ALR)
    : 'not available yet: alr/index.ts exports no wganGpCriticLoss / wganAlpCriticLoss';
}
