// The browser globals TensorFlow.js's WebGPU backend needs in Node: `navigator.gpu` from the
// `webgpu` package (Dawn, with the engine's adapter options) and the GPU* enums. Nothing else
// was needed with tfjs 4.22 on Node 20.
import { create, globals } from 'webgpu';
import { dawnOptions } from '../../engine/index.js';

export function installWebgpuGlobals(): GPU {
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp';
  Object.assign(globalThis, globals);
  const gpu = create(dawnOptions());
  Object.defineProperty(globalThis, 'navigator', {
    value: { gpu, userAgent: 'node' },
    configurable: true,
    writable: true,
  });
  return gpu;
}
