// Device bootstrap: one Dawn instance and one GPUDevice per process.
// Environment:
//   ALR_BACKEND  dawn backend ('vulkan', 'metal', 'd3d12', 'null', ...); default: Dawn's choice
//   ALR_ADAPTER  adapter name substring, passed to Dawn as adapter=...
import { create, globals } from 'webgpu';
import { gpuWait } from './wait.js';

// GPUBufferUsage, GPUShaderStage, ... as globals, before any module reads them.
Object.assign(globalThis, globals);

export const INSTALL_HINT =
  'On Debian/Ubuntu without a GPU run `bash .ci/setup-system.sh` (installs Mesa lavapipe >= 23 ' +
  'from bookworm-backports); on a machine with a GPU install its vendor Vulkan/Metal/D3D driver.';

export interface DeviceInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  backend: string;
  features: string[];
  maxWorkgroupStorage: number;
  /** the subgroup size when the device has subgroups of one fixed size (lavapipe: 8), else 0 */
  subgroupSize: number;
}

interface State {
  gpu: GPU;
  adapter: GPUAdapter;
  device: GPUDevice;
  info: DeviceInfo;
  /** errors reported asynchronously by Dawn, thrown at the next sync point */
  pendingErrors: string[];
  lost: string | null;
}

let state: State | null = null;
let starting: Promise<State> | null = null;

/** Dawn's options from the environment, e.g. ['backend=vulkan']. */
export function dawnOptions(env = process.env): string[] {
  const opts: string[] = [];
  if (env.ALR_BACKEND) opts.push(`backend=${env.ALR_BACKEND}`);
  if (env.ALR_ADAPTER) opts.push(`adapter=${env.ALR_ADAPTER}`);
  return opts;
}

async function start(): Promise<State> {
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp';
  const opts = dawnOptions();
  const gpu = create(opts);
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    throw new Error(`No WebGPU adapter (Dawn options: [${opts.join(', ')}]): ${(e as Error).message}\n${INSTALL_HINT}`);
  }
  if (!adapter) {
    throw new Error(
      `No WebGPU adapter found (Dawn options: [${opts.join(', ') || 'default'}]; ` +
        `set ALR_BACKEND / ALR_ADAPTER to choose). ${INSTALL_HINT}`,
    );
  }
  const wanted = ['timestamp-query', 'subgroups'] as GPUFeatureName[];
  const features = wanted.filter((f) => adapter!.features.has(f));
  const al = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: features,
    requiredLimits: {
      maxComputeWorkgroupStorageSize: al.maxComputeWorkgroupStorageSize,
      maxStorageBuffersPerShaderStage: al.maxStorageBuffersPerShaderStage,
      maxStorageBufferBindingSize: al.maxStorageBufferBindingSize,
      maxBufferSize: al.maxBufferSize,
      maxComputeInvocationsPerWorkgroup: al.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: al.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: al.maxComputeWorkgroupSizeY,
      maxComputeWorkgroupsPerDimension: al.maxComputeWorkgroupsPerDimension,
    },
  });
  const ai = adapter.info;
  const s: State = {
    gpu,
    adapter,
    device,
    info: {
      vendor: ai.vendor,
      architecture: ai.architecture,
      device: ai.device,
      description: ai.description,
      backend: process.env.ALR_BACKEND ?? 'default',
      features: [...device.features] as string[],
      maxWorkgroupStorage: device.limits.maxComputeWorkgroupStorageSize,
      subgroupSize: fixedSubgroupSize(device, ai),
    },
    pendingErrors: [],
    lost: null,
  };
  device.addEventListener('uncapturederror', (ev) => {
    s.pendingErrors.push((ev as GPUUncapturedErrorEvent).error.message);
  });
  device.lost.then((l) => {
    // releaseDevice() clears `state` first, so only an unexpected loss is recorded
    if (state === s) s.lost = `device lost (${l.reason}): ${l.message || 'no message'}`;
  });
  return s;
}

/** Kernels that assume one subgroup per workgroup need a size that cannot vary between launches. */
function fixedSubgroupSize(device: GPUDevice, ai: GPUAdapterInfo): number {
  const { subgroupMinSize: lo, subgroupMaxSize: hi } = ai as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  return device.features.has('subgroups') && lo && lo === hi ? lo : 0;
}

/** Starts the device once; later calls return the same one. */
export async function initDevice(): Promise<State> {
  if (state) return state;
  if (!starting) starting = start().then((s) => (state = s));
  try {
    return await starting;
  } catch (e) {
    starting = null;
    throw e;
  }
}

/** The running device; throws if initDevice() has not completed. */
export function gpuState(): State {
  if (!state) throw new Error('engine: no GPU device yet; `await initDevice()` first');
  if (state.lost) throw new Error(`engine: ${state.lost}`);
  return state;
}

export function device(): GPUDevice {
  return gpuState().device;
}

export function deviceInfo(): DeviceInfo {
  return gpuState().info;
}

/** A one-line name for logs and benchmark tables. */
export function adapterName(): string {
  const i = deviceInfo();
  return [i.description || i.device, i.architecture, i.vendor].filter(Boolean).join(' / ') || 'unknown adapter';
}

/** Raises any error Dawn reported since the last call (validation, out-of-memory, device loss). */
export function throwPendingDeviceErrors(context: string): void {
  if (!state) return;
  if (state.lost) throw new Error(`engine: ${state.lost} (noticed at ${context})`);
  if (state.pendingErrors.length) {
    const msgs = state.pendingErrors.splice(0);
    throw new Error(`engine: WebGPU reported ${msgs.length} error(s) before ${context}:\n${msgs.join('\n')}`);
  }
}

/** Destroys the device and drops the Dawn instance so that Node can exit. */
export async function releaseDevice(): Promise<void> {
  const s = state;
  if (!s) return;
  state = null;
  starting = null;
  if (!s.lost) await gpuWait(s.device.queue.onSubmittedWorkDone());
  s.device.destroy();
  for (const hook of releaseHooks) hook();
}

const releaseHooks: (() => void)[] = [];
/** Modules holding device objects register a reset here (pipeline caches, pools). */
export function onDeviceRelease(hook: () => void): void {
  releaseHooks.push(hook);
}
