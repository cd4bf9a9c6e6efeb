// Waiting for the GPU: the host platform decides how (Node naps instead of spinning; elsewhere
// a plain await).
import { platform } from './platform.js';

/** Awaits a promise settled by the GPU. */
export function gpuWait<T>(p: Promise<T>): Promise<T> {
  return platform().wait(p);
}
