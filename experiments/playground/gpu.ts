/// <reference lib="dom" />
// Getting the page's WebGPU device, with messages a user can act on when there is none, and a
// watch on device loss (a driver reset, a GPU process crash, the tab's device being reclaimed).
import * as E from '../../engine/web.js';

/** An error whose message is meant for the page, not for a stack trace. */
export class GpuUnavailable extends Error {}

export async function startGpu(onLost: (message: string) => void): Promise<{ adapter: string }> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) {
    throw new GpuUnavailable(
      window.isSecureContext
        ? 'This browser does not offer WebGPU (navigator.gpu is missing). Use a recent Chrome or Edge (113+), Safari 26+ or Firefox 141+; ' +
            'on Linux, Chrome needs chrome://flags/#enable-unsafe-webgpu (or --enable-unsafe-webgpu).'
        : 'WebGPU needs a secure context: open the page over https:// or from localhost / 127.0.0.1, not from a plain http:// address or file://.',
    );
  }
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    throw new GpuUnavailable(`WebGPU is there, but asking for an adapter failed: ${(e as Error).message}`);
  }
  if (!adapter) {
    throw new GpuUnavailable(
      'WebGPU is there, but the browser offered no adapter (the GPU may be blocklisted or WebGPU disabled; chrome://gpu says why).',
    );
  }
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const software =
    !!info.isFallbackAdapter ||
    /swiftshader|llvmpipe|lavapipe|warp/i.test(`${info.vendor} ${info.architecture} ${info.description}`);
  // timing kernel variants means compiling each one first: on a CPU adapter that is half a
  // minute before the first step, for a choice the heuristic already makes well (?tune=1 forces it)
  const tune = new URLSearchParams(location.search).get('tune');
  if (tune === '0' || (tune !== '1' && software)) E.setOption('ALR_TUNE', '0');
  await E.initDevice(adapter);
  E.device().lost.then((info) => {
    onLost(
      `The GPU device was lost (${info.reason}${info.message ? `: ${info.message}` : ''}). Training stopped; reload the page to start again.`,
    );
  });
  return { adapter: E.adapterName() };
}
