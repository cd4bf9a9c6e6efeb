// What the engine needs from its host, in one place: where a GPU comes from, how to wait for it,
// how to yield to the event loop, configuration values, and where the kernel tuner keeps its
// choices. The default works wherever WebGPU is a web API (browsers, Deno, workers); the Node
// entry point (engine/index.ts) installs platform_node.ts, which brings Dawn, the non-spinning
// wait, environment variables and a cache file. Nothing here imports a host module.

export type TuneCache = Record<string, Record<string, string>>;

export interface Platform {
  /** a short name for logs: 'node', 'web' */
  readonly name: string;
  /** the WebGPU entry object when initDevice() is given none */
  gpu(): Promise<GPU>;
  /** a configuration value (the environment in Node), or undefined */
  env(name: string): string | undefined;
  /** awaits a promise settled by the GPU */
  wait<T>(p: Promise<T>): Promise<T>;
  /** one turn of the event loop, so the host can deliver GPU callbacks and free finished work */
  yieldToEventLoop(): Promise<void>;
  /** where measured kernel choices persist (a file, localStorage, or memory) */
  readonly tuneCache: { describe(): string; load(): TuneCache; save(c: TuneCache): void };
}

/** A tuner cache that lasts as long as the process or page. */
export const memoryTuneCache = (): Platform['tuneCache'] => {
  let saved: TuneCache = {};
  return { describe: () => 'memory', load: () => saved, save: (c) => void (saved = c) };
};

/** The part of the Web Storage API the tuner uses. */
interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/** localStorage where the host has it (browsers), else memory. */
function webTuneCache(): Platform['tuneCache'] {
  const KEY = 'alr-webgpu/variants';
  let storage: KeyValueStorage | null = null;
  try {
    storage = (globalThis as { localStorage?: KeyValueStorage }).localStorage ?? null;
  } catch {
    storage = null; // opaque origins throw on access
  }
  if (!storage) return memoryTuneCache();
  const s = storage;
  return {
    describe: () => `localStorage['${KEY}']`,
    load: () => {
      try {
        return JSON.parse(s.getItem(KEY) ?? '{}') as TuneCache;
      } catch {
        return {};
      }
    },
    save: (c) => {
      try {
        s.setItem(KEY, JSON.stringify(c));
      } catch {
        // quota or privacy mode: measure again next time
      }
    },
  };
}

export const webPlatform: Platform = {
  name: 'web',
  async gpu() {
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    if (!gpu) {
      throw new Error(
        'No WebGPU here: navigator.gpu is missing. Use a browser with WebGPU (Chrome/Edge 113+, Safari 26+, Firefox 141+), ' +
          "Deno with --unstable-webgpu, or Node through the package's Node entry point; or pass a GPU, GPUAdapter or GPUDevice to initDevice().",
      );
    }
    return gpu;
  },
  env(name) {
    // Deno and bundlers that define process.env still get their configuration; Deno without
    // --allow-env throws on access, which means: not set
    try {
      return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
    } catch {
      return undefined;
    }
  },
  wait: (p) => p,
  yieldToEventLoop: () => new Promise<void>((resolve) => setTimeout(resolve, 0)),
  tuneCache: webTuneCache(),
};

let current: Platform = webPlatform;

export function platform(): Platform {
  return current;
}

/** Replaces the host platform (the Node entry point does this on import). */
export function setPlatform(p: Platform): void {
  current = p;
}
