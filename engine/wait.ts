// Waiting for the GPU without stealing a CPU core from it.
//
// dawn.node delivers promise results by polling its event queue from a setImmediate loop that
// reschedules itself for as long as any promise is pending, so a plain `await` on
// onSubmittedWorkDone / mapAsync keeps the main thread busy for the whole GPU run. On a software
// adapter (lavapipe runs one worker thread per core) that busy thread takes a third of a
// two-core machine away from the kernels. Here the thread sleeps in short, growing naps and
// lets the poller run once between naps.

const nap = new Int32Array(new SharedArrayBuffer(4));
const MAX_NAP_MS = 0.5;

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Awaits a Dawn promise, sleeping (not spinning) while it is pending. */
export async function gpuWait<T>(p: Promise<T>): Promise<T> {
  let settled = false;
  const done = () => void (settled = true);
  p.then(done, done);
  for (let ms = 0.02; ; ms = Math.min(2 * ms, MAX_NAP_MS)) {
    // two turns of the event loop: the poller's setImmediate may be queued behind ours
    await tick();
    await tick();
    if (settled) return p;
    Atomics.wait(nap, 0, 0, ms);
  }
}
