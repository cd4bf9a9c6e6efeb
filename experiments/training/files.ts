// Writing files in a run folder without following links a third party may have planted there:
// whole files are written to a temp file created exclusively under a unique name (O_EXCL |
// O_NOFOLLOW) and renamed over the target (rename replaces a link, never what it points to);
// appends open with O_NOFOLLOW. Failures (a full disk, a planted link) name the file and say what
// was kept; a failed write leaves no temp file behind.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

const { O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW } = fs.constants;

function describeError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOSPC') return 'ENOSPC: no space left on device';
  if (err.code === 'ELOOP') return 'it is a symbolic link, which is never followed';
  if (err.code === 'EDQUOT') return 'EDQUOT: disk quota exceeded';
  return err.code ? `${err.code}: ${err.message}` : String(err.message ?? err);
}

/** A unique temp name beside `file`: .<name>.tmp-<pid>-<random>. */
export function tempName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
}

/**
 * Replaces `file` with `data` atomically: a fresh temp file (exclusive, no link followed),
 * fsync, rename. On failure the temp file is removed and the error names `file` and says the
 * previous contents (if any) are unchanged.
 */
export function writeFileSafe(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = tempName(file);
  let fd: number | null = null;
  try {
    fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== null) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    const existed = fs.existsSync(file);
    throw new Error(
      `${file}: not written (${describeError(e)}); ${existed ? 'the previous file is unchanged' : 'no file was there before'}`,
    );
  }
}

/** Opens `file` for appending (created if missing); refuses a symbolic link instead of following it. */
export function openAppendSafe(file: string): number {
  try {
    return fs.openSync(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o644);
  } catch (e) {
    throw new Error(`${file}: cannot open for appending (${describeError(e)})`);
  }
}

/** Appends to an fd from openAppendSafe; a failure (a full disk) names the file. */
export function appendSafe(fd: number, file: string, text: string): void {
  try {
    fs.writeSync(fd, text);
  } catch (e) {
    throw new Error(`${file}: append failed (${describeError(e)})`);
  }
}
