// The engine's portable surface (browsers, Deno, workers, Node): tensors, ops, autograd, optimisers.
// Import from here (or the Node entry, index.ts): it also wires the ops into autograd.
/// <reference types="@webgpu/types" preserve="true" />
import { setGradOps } from './autograd.js';
import { add } from './ops/elementwise.js';
import { sumTo } from './ops/reduce.js';
import { onesLike, zerosLike } from './ops/create.js';

setGradOps({ add: (a, b) => add(a, b), onesLike, zerosLike, sumTo });

export * from './device.js';
export { memoryStats, resetPeakMemory, type MemoryStats } from './buffer_pool.js';
export {
  counters,
  cacheStats,
  sync,
  flush,
  endStep,
  checkKernel,
  kernel,
  dispatch,
  Params,
  settleTimings,
  timestampsSupported,
  type Kernel,
  type Binding,
} from './runtime.js';
export { isCpuAdapter, tuningPending } from './tune.js';
export { gpuWait } from './wait.js';
export { read, write, kernelWGSL, type KernelDecl, type BufferDecl } from '../shaders/kernel.js';
export { Tensor, tidy, keep, dispose, numel, shapeStr, leaks, type DType, type Shape } from './tensor.js';
export { grad, backward, noGrad, requireGrad, record, zeroGrad, isGradEnabled, tapeStats } from './autograd.js';
export * from './random.js';
export * from './ops/create.js';
export {
  abs,
  add,
  clamp,
  cos,
  div,
  exp,
  ge,
  leakyRelu,
  log,
  maximum,
  minimum,
  mul,
  neg,
  positiveMask,
  pow,
  rdiv,
  reciprocal,
  relu,
  rsub,
  sigmoid,
  sign,
  sin,
  sqrt,
  square,
  sub,
  tanh,
  where,
  // deprecated aliases, kept for code written against 0.1: positive -> positiveMask, geScalar(x, s) -> ge(x, s)
  positive,
  geScalar,
} from './ops/elementwise.js';
export * from './ops/shape.js';
export { sum, max } from './ops/reduce.js';
export * from './ops/composite.js';
export * from './ops/matmul.js';
export * from './ops/norm.js';
export * from './ops/pooling.js';
export * from './optim.js';
export * from './schedule.js';
export * from './ops/conv.js';
export * from './ops/gather.js';
export * from './ops/activation.js';
export * from './ops/conv_transpose.js';
export * from './ops/group_norm.js';
export * from './ops/embedding.js';
export * from './clip.js';
export { memoryTuneCache, platform, setPlatform, webPlatform, type Platform, type TuneCache } from './platform.js';
export { config, setOption } from './config.js';
export { compile, type CompiledStep, type CompileOptions, type CompiledStats } from './compile.js';
export type { FusionReport } from './fusion.js';
export { checkOptions, type Check, type OptionSpec } from './options.js';
export * from './gradcheck.js';
export { formatProfile, groupProfile, profileSection, startProfile, stopProfile, type KernelTime } from './profile.js';
export { BufferUsage, ShaderStage, MapMode } from './gpu_flags.js';
