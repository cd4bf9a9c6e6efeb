// Every configuration value the engine reads, in one place (environment variables under Node;
// whatever the host platform provides elsewhere). Read on each use, so a test or a long-running
// process can change them between calls. The README's environment table lists the same names.
import { platform } from './platform.js';

const overrides = new Map<string, string>();

/**
 * Sets a configuration value for this process or page, ahead of the environment (where a browser
 * has none); `undefined` removes the override. Names as in the README, e.g. 'ALR_VARIANT'.
 */
export function setOption(name: string, value: string | undefined): void {
  if (value === undefined) overrides.delete(name);
  else overrides.set(name, value);
}

const get = (name: string) => {
  const v = overrides.get(name) ?? platform().env(name);
  return v === '' ? undefined : v; // empty = unset
};

export const config = {
  /** Dawn backend: vulkan, metal, d3d12, null, ... (Node) */
  backend: () => get('ALR_BACKEND'),
  /** adapter name substring passed to Dawn (Node) */
  adapter: () => get('ALR_ADAPTER'),
  /**
   * '1': Dawn without robustness (Node, opt-in): kernels skip the bounds clamp on every storage
   * access, and an out-of-bounds access becomes undefined behaviour instead of a clamped read
   */
  disableRobustness: () => get('ALR_DISABLE_ROBUSTNESS') === '1',
  /** print each kernel's WGSL when it compiles */
  printShader: () => get('ALR_PRINT_SHADER') !== undefined,
  /** no warning when a tensor is garbage-collected without dispose() */
  quietLeaks: () => get('ALR_QUIET_LEAKS') !== undefined,
  /** record where each tensor is created, so the leak warning can name the line (costs a stack per tensor) */
  leakSites: () => get('ALR_LEAK_SITES') !== undefined,
  /** '0': never time kernel variants (use the heuristic choice) */
  tune: () => get('ALR_TUNE') !== '0',
  /** the tuner's cache file (Node; default node_modules/.cache/alr-webgpu/variants.json) */
  tuneCache: () => get('ALR_TUNE_CACHE'),
  /** a variant forced for every op that has it (register, tiled, subgroup) */
  variant: () => get('ALR_VARIANT'),
  /** a variant forced for one op, e.g. ALR_VARIANT_MATMUL */
  variantFor: (op: string) => get(`ALR_VARIANT_${op.toUpperCase()}`),
  /** elements per Winograd chunk in conv (default 2^23): bounds the transform buffers */
  convWinoChunk: () => Number(get('ALR_CONV_WINO_CHUNK')) || 2 ** 23,
};
