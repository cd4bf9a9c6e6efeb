// Safetensors files (Node): a reader that validates the header before it reads any tensor, and
// atomic writes that clean up after killed writers.
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { constants } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import {
  ARRAYS,
  checkHost,
  encodeSafetensors,
  failer,
  headerLength,
  numel,
  parseHeader,
  type StTensor,
} from './safetensors.js';

/**
 * Writes bytes to `path` atomically: a temp file in the same directory, fsync, rename, fsync of
 * the directory. Missing parent folders are created.
 */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    // a new file under an unguessable name, never through a link (rename then replaces a link
    // planted at `path` itself, not what it points to)
    const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    const err = e as NodeJS.ErrnoException;
    const existed = await stat(path).then(
      () => true,
      () => false,
    );
    const why =
      err.code === 'ENOSPC'
        ? 'ENOSPC: no space left on device'
        : err.code
          ? `${err.code}: ${err.message}`
          : err.message;
    throw Object.assign(
      new Error(
        `${path}: not written (${why}); ${existed ? 'the previous file there is kept unchanged' : 'there was no previous file'}`,
      ),
      { code: err.code },
    );
  }
  await removeOrphans(dir, basename(path));
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/** Deletes temp files of `name` left by writers that were killed (their process is gone). */
async function removeOrphans(dir: string, name: string): Promise<void> {
  const prefix = `.${name}.tmp-`;
  for (const f of await readdir(dir).catch(() => [] as string[])) {
    if (!f.startsWith(prefix)) continue;
    const pid = Number(f.slice(prefix.length).split('-')[0]);
    if (Number.isInteger(pid) && pid !== process.pid && !processAlive(pid)) await rm(join(dir, f), { force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function writeSafetensors(
  path: string,
  tensors: Iterable<[string, StTensor]>,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/**
 * Reads a safetensors file: the header first (validated against the file's size), then each
 * tensor straight into its own array, so a corrupt header allocates nothing and a large file
 * needs no second copy of itself in memory.
 */
export async function readSafetensors(
  path: string,
): Promise<{ tensors: Map<string, StTensor>; metadata: Record<string, string> }> {
  checkHost();
  const fail = failer(path);
  const fh = await open(path, 'r');
  try {
    const fileLen = (await fh.stat()).size;
    const first8 = new Uint8Array(8);
    if (fileLen >= 8) await readExactly(fh, first8, 0);
    const n = headerLength(first8, fileLen, fail);
    const json = new Uint8Array(n);
    await readExactly(fh, json, 8);
    const dataStart = 8 + n;
    const { entries, metadata } = parseHeader(json, fileLen - dataStart, fail);
    const tensors = new Map<string, StTensor>();
    for (const e of entries) {
      const data = new ARRAYS[e.dtype](numel(e.shape));
      await readExactly(fh, new Uint8Array(data.buffer), dataStart + e.begin);
      tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
    }
    return { tensors, metadata };
  } finally {
    await fh.close();
  }
}

async function readExactly(fh: FileHandle, into: Uint8Array, position: number): Promise<void> {
  let done = 0;
  // reads of at most 1 GiB: a single read() call is capped near 2 GiB
  while (done < into.length) {
    const len = Math.min(into.length - done, 2 ** 30);
    const { bytesRead } = await fh.read(into, done, len, position + done);
    if (bytesRead === 0) throw new Error(`safetensors: unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
}
