// What a browser app imports: the engine, nn and alr portable entry points (bundled to measure
// the library's size and to prove that nothing in it reaches a Node module).
export * as E from '../../../engine/web.js';
export * as nn from '../../../nn/web.js';
export * as alr from '../../../alr/index.js';
