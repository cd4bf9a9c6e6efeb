// Device bootstrap: one GPUDevice per process (or page). initDevice() takes what the host
// already has (navigator.gpu, an adapter or a device); given nothing it asks the platform (Dawn
// under Node, navigator.gpu elsewhere).
import { config } from './config.js';
import { platform } from './platform.js';
import { gpuWait } from './wait.js';

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
  /** the entry object the adapter came from, held so that it lives as long as the device (Dawn's must) */
  gpu: GPU | null;
  /** null when the host handed in a device */
  adapter: GPUAdapter | null;
  device: GPUDevice;
  info: DeviceInfo;
  /** errors reported asynchronously by Dawn, thrown at the next sync point */
  pendingErrors: string[];
  lost: string | null;
  /** false for a device the host handed in: releaseDevice() leaves it alive */
  owned: boolean;
}

let state: State | null = null;
let starting: Promise<State> | null = null;

/** What initDevice() accepts: a WebGPU entry object (navigator.gpu), an adapter, or a device. */
export type GpuSource = GPU | GPUAdapter | GPUDevice;

const isDevice = (x: GpuSource): x is GPUDevice => 'queue' in x && 'createBuffer' in x;
const isAdapter = (x: GpuSource): x is GPUAdapter => 'requestDevice' in x;

const HINT =
  'On Node: set ALR_BACKEND / ALR_ADAPTER to choose, and without a GPU run `bash .ci/setup-system.sh` (Mesa lavapipe); ' +
  'in a browser: enable WebGPU (chrome://gpu shows its status).';

async function adapterFrom(gpu: GPU): Promise<GPUAdapter> {
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    throw new Error(`No WebGPU adapter (${platform().name}): ${(e as Error).message}. ${HINT}`);
  }
  if (!adapter)
    throw new Error(
      `No WebGPU adapter found (${platform().name}${config.backend() ? `, backend ${config.backend()}` : ''}). ${HINT}`,
    );
  return adapter;
}

async function deviceFrom(adapter: GPUAdapter): Promise<GPUDevice> {
  const wanted = ['timestamp-query', 'subgroups'] as GPUFeatureName[];
  const features = wanted.filter((f) => adapter.features.has(f));
  const al = adapter.limits;
  return adapter.requestDevice({
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
}

async function start(source?: GpuSource): Promise<State> {
  let gpu: GPU | null = null;
  let adapter: GPUAdapter | null = null;
  let device: GPUDevice;
  if (source && isDevice(source)) {
    device = source;
  } else if (source && isAdapter(source)) {
    adapter = source;
    device = await deviceFrom(adapter);
  } else {
    gpu = source ?? (await platform().gpu());
    adapter = await adapterFrom(gpu);
    device = await deviceFrom(adapter);
  }
  // a device handed in tells its adapter's info itself (adapterInfo); older hosts: nothing
  const ai = (adapter?.info ??
    (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo ??
    {}) as GPUAdapterInfo;
  const s: State = {
    gpu,
    adapter,
    device,
    info: {
      vendor: ai.vendor ?? '',
      architecture: ai.architecture ?? '',
      device: ai.device ?? '',
      description: ai.description ?? '',
      backend: `${platform().name}${config.backend() ? `/${config.backend()}` : ''}`,
      features: [...device.features] as string[],
      maxWorkgroupStorage: device.limits.maxComputeWorkgroupStorageSize,
      subgroupSize: fixedSubgroupSize(device, ai),
    },
    pendingErrors: [],
    lost: null,
    owned: !(source && isDevice(source)),
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
  const { subgroupMinSize: lo, subgroupMaxSize: hi } = ai as GPUAdapterInfo & {
    subgroupMinSize?: number;
    subgroupMaxSize?: number;
  };
  return device.features.has('subgroups') && lo && lo === hi ? lo : 0;
}

/**
 * Starts the device once; later calls return the same one. With no argument the platform picks
 * (Dawn in Node, navigator.gpu elsewhere); pass navigator.gpu, an adapter or a device to use
 * the host's. A device handed in is used as it is: its limits and features are the engine's.
 */
export async function initDevice(source?: GpuSource): Promise<State> {
  if (state) return state;
  if (!starting) starting = start(source).then((s) => (state = s));
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

/** Destroys the device (so that Node can exit) and resets every cache that held its objects. */
export async function releaseDevice(): Promise<void> {
  const s = state;
  if (!s) return;
  state = null;
  starting = null;
  if (!s.lost) await gpuWait(s.device.queue.onSubmittedWorkDone());
  if (s.owned) s.device.destroy();
  for (const hook of releaseHooks) hook();
}

const releaseHooks: (() => void)[] = [];
/** Modules holding device objects register a reset here (pipeline caches, pools). */
export function onDeviceRelease(hook: () => void): void {
  releaseHooks.push(hook);
}
