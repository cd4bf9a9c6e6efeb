// The engine's Node entry point: the portable surface (web.ts) with the Node platform installed
// (Dawn loaded on first use, environment variables, the tuner's cache file, the non-spinning wait).
import './platform_node.js';

export * from './web.js';
export { dawnOptions, dawnGpu, nodePlatform } from './platform_node.js';
