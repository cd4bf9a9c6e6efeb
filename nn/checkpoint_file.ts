// Checkpoint files (Node): atomic saves and validated loads of what checkpoint.ts encodes.
import { stat } from 'node:fs/promises';
import {
  checkLoadOptions,
  encodeCheckpoint,
  restoreCheckpoint,
  type LoadOptions,
  type SaveOptions,
} from './checkpoint.js';
import { readSafetensors, writeFileAtomic } from './safetensors_file.js';

/** Saves modules, optimiser state, step and RNG state to `path` (atomic replace; refuses NaN/Inf). */
export async function saveCheckpoint(path: string, opts: SaveOptions): Promise<void> {
  const previous = await stat(path).then(
    () => true,
    () => false,
  );
  await writeFileAtomic(path, await encodeCheckpoint(opts, path, previous));
}

/** Loads a checkpoint file into existing modules and optimisers (see restoreCheckpoint). */
export async function loadCheckpoint(
  path: string,
  opts: LoadOptions,
): Promise<{ step: number | null; metadata: Record<string, string>; internal: Record<string, string> }> {
  checkLoadOptions(opts); // before the file is read
  return restoreCheckpoint(await readSafetensors(path), opts, path);
}
