// The nn package's portable surface: modules, layers, WGAN architectures, spectral norm,
// checkpoints as bytes. The Node entry (index.ts) adds checkpoint and safetensors files.
export * from './module.js';
export * from './init.js';
export * from './layers.js';
export * from './layers_extra.js';
export * from './ema.js';
export * from './blocks.js';
export * from './spectral.js';
export * from './wgan.js';
export * from './toy.js';
export * from './classifier.js';
export * from './critic.js';
export * from './summary.js';
export * from './data.js';
export * from './safetensors.js';
export * from './checkpoint.js';
