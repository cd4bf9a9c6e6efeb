// The Node host: Dawn (the `webgpu` package, loaded on first use), environment variables, the
// tuner's cache file, and waiting for the GPU without stealing a core from it. Imported for its
// effect by the Node entry points (engine/index.ts, nn/index.ts).
//
// Waiting: dawn.node delivers promise results by polling its event queue from a setImmediate
// loop that reschedules itself for as long as any promise is pending, so a plain `await` on
// onSubmittedWorkDone / mapAsync keeps the main thread busy for the whole GPU run. On a software
// adapter (lavapipe runs one worker thread per core) that busy thread takes a third of a two-core
// machine away from the kernels. Here the thread sleeps in short, growing naps and lets the
// poller run once between naps.
import fs from 'node:fs';
import path from 'node:path';
import { config } from './config.js';
import { setPlatform, type Platform, type TuneCache } from './platform.js';

const nap = new Int32Array(new SharedArrayBuffer(4));
const MAX_NAP_MS = 0.5;
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Awaits a Dawn promise, sleeping (not spinning) while it is pending. */
export async function napWait<T>(p: Promise<T>): Promise<T> {
  let settled = false;
  const done = () => void (settled = true);
  p.then(done, done);
  for (let ms = 0.02; ; ms = Math.min(2 * ms, MAX_NAP_MS)) {
    // two turns of the event loop: the poller's setImmediate may be queued behind ours
    await tick();
    await tick();
    if (settled) return p;
    Atomics.wait(nap, 0, 0, ms);
  }
}

/** Dawn's options from the environment, e.g. ['backend=vulkan']. */
export function dawnOptions(): string[] {
  const opts: string[] = [];
  const [backend, adapter] = [config.backend(), config.adapter()];
  if (backend) opts.push(`backend=${backend}`);
  if (adapter) opts.push(`adapter=${adapter}`);
  // opt-in only: every kernel's storage accesses lose their bounds clamp (see config.ts)
  if (config.disableRobustness()) opts.push('enable-dawn-features=allow_unsafe_apis,disable_robustness');
  return opts;
}

/** Dawn, as a WebGPU `GPU` object; also installs the GPU* enums as globals for code that wants them. */
export async function dawnGpu(): Promise<GPU> {
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp';
  let dawn: typeof import('webgpu');
  try {
    dawn = await import('webgpu');
  } catch (e) {
    throw new Error(
      `engine: the 'webgpu' package (Dawn for Node) could not be loaded: ${(e as Error).message}. Run \`npm install webgpu\`, or pass a GPUDevice to initDevice().`,
    );
  }
  Object.assign(globalThis, dawn.globals);
  return dawn.create(dawnOptions());
}

function cacheFile(): string {
  return config.tuneCache() ?? path.join(process.cwd(), 'node_modules', '.cache', 'alr-webgpu', 'variants.json');
}

export const nodePlatform: Platform = {
  name: 'node',
  gpu: dawnGpu,
  env: (name) => process.env[name],
  wait: napWait,
  yieldToEventLoop: () => new Promise<void>((resolve) => setImmediate(resolve)),
  tuneCache: {
    describe: cacheFile,
    load() {
      try {
        return JSON.parse(fs.readFileSync(cacheFile(), 'utf8')) as TuneCache;
      } catch {
        return {};
      }
    },
    save(c) {
      const file = cacheFile();
      try {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, JSON.stringify(c, null, 1));
        fs.renameSync(tmp, file);
      } catch {
        // a read-only checkout still runs; it just measures again next time
      }
    },
  },
};

setPlatform(nodePlatform);
