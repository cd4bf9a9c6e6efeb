// Adversarial Lipschitz Regularization (Terjék, 2020): search, penalty, WGAN-ALP, baselines, monitors.
export * from './critic.js';
export * from './distance.js';
export * from './search.js';
export * from './penalty.js';
export * from './wgan.js';
export * from './baselines.js';
export * from './monitor.js';
export * from './options.js';
