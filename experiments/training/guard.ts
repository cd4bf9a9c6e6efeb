import fs from 'node:fs';

// Stopping a run that went non-finite, and reading resume state that may be corrupt.
//
// Training steps never read back on their own: the scalars of every step wait on the GPU in a
// Monitor and come back in one readback every `--every` iterations. That readback is where a NaN
// or ±Inf is noticed, so a run stops at most `every` iterations after it diverged, and the step
// it names is exact (each row is one iteration). saveCheckpoint refuses non-finite tensors, so
// the checkpoint on disk is always the last finite one.

/** The first (step, quantity) whose value is NaN or ±Inf, or null. */
export function firstNonFinite(
  rows: readonly Record<string, number>[],
): { step: number; key: string; value: number } | null {
  for (const row of rows) {
    for (const [key, value] of Object.entries(row)) {
      if (key !== 'step' && !Number.isFinite(value)) return { step: row.step, key, value };
    }
  }
  return null;
}

/** Throws a one-line divergence error if any row holds a non-finite value. */
export function stopIfNonFinite(
  script: string,
  rows: readonly Record<string, number>[],
  detectedAt: number,
  checkpoint: string | null,
): void {
  const bad = firstNonFinite(rows);
  if (!bad) return;
  const kept =
    checkpoint === null
      ? ''
      : fs.existsSync(checkpoint)
        ? `; the last finite checkpoint is kept (${checkpoint})`
        : '; no checkpoint had been written yet';
  throw new Error(
    `${script}: training diverged: ${bad.key} became ${bad.value} at iteration ${bad.step} (noticed at the readback of iteration ` +
      `${detectedAt})${kept}; try a smaller lr or a different λ`,
  );
}

/** Throws naming `what` if any host value is NaN or ±Inf. */
export function requireFinite(script: string, what: string, values: ArrayLike<number>, iter: number): void {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) n++;
  if (n)
    throw new Error(
      `${script}: training diverged: ${what} hold ${n} non-finite value(s) of ${values.length} at iteration ${iter}`,
    );
}

/** A JSON value stored in checkpoint metadata; names the file and key when it is missing or corrupt. */
export function metadataJson<T>(metadata: Record<string, string>, key: string, file: string): T {
  const raw = metadata[key];
  if (raw === undefined)
    throw new Error(`${file}: checkpoint metadata has no '${key}' entry; cannot resume (start without --resume)`);
  try {
    return JSON.parse(raw) as T;
  } catch (e) {
    throw new Error(`${file}: checkpoint metadata '${key}' is not valid JSON (${(e as Error).message})`);
  }
}

/** The step a checkpoint resumes from: at most the run's length. */
export function resumeStep(step: number | null, total: number, file: string): number {
  if (step === null)
    throw new Error(`${file}: checkpoint has no 'step' metadata; cannot resume (start without --resume)`);
  if (step > total)
    throw new Error(
      `${file}: checkpoint is at step ${step}, beyond this run's ${total}; pass a larger count or a new --out`,
    );
  return step;
}
