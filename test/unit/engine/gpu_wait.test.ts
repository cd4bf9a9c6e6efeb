import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import { gpuWait } from '../../../engine/wait.js';
import { useGpu } from '../../support/gpu.js';

useGpu();

/** CPU time (ms) the calling thread has used, from Linux's /proc (null elsewhere). */
function threadCpuMs(): number | null {
  try {
    const fields = fs.readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1].split(' ');
    const ticksPerMs = 0.1; // USER_HZ = 100 on Linux
    return (Number(fields[11]) + Number(fields[12])) / ticksPerMs;
  } catch {
    return null;
  }
}

describe('gpuWait', () => {
  it('passes through values and rejections, including ones settled by timers while it naps', async () => {
    expect(await gpuWait(Promise.resolve(7))).toBe(7);
    await expect(gpuWait(Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    const late = new Promise<string>((resolve) => setTimeout(() => resolve('late'), 30));
    expect(await gpuWait(late)).toBe('late');
  });

  // dawn.node polls for finished work from a self-rescheduling setImmediate loop; a plain await
  // on onSubmittedWorkDone keeps the main thread busy for the whole GPU run (measured: 2.0 s of
  // CPU during a 3.0 s wait on lavapipe, where that thread competes with the driver's workers).
  it.runIf(threadCpuMs() !== null)('sleeps instead of spinning while the GPU works', async () => {
    const a = E.keep(E.randUniform([768, 768]));
    const b = E.keep(E.randUniform([768, 768]));
    E.matmul(a, b).dispose();
    await E.sync(); // compile and tune outside the measured wait
    let wall = 0;
    let cpu = 0;
    // long enough (several hundred ms) that a spinning wait would show: the work doubles each
    // round until it is, so a fast adapter gets there too
    for (let round = 0; round < 12 && wall < 300; round++) {
      E.tidy(() => {
        for (let i = 0; i < 8 << round; i++) E.matmul(a, b);
      });
      E.flush();
      const c0 = threadCpuMs()!;
      const t0 = performance.now();
      await E.sync();
      wall += performance.now() - t0;
      cpu += threadCpuMs()! - c0;
    }
    E.dispose([a, b]);
    expect(wall).toBeGreaterThan(100);
    // a spinning wait uses most of the wall time (on 2 cores shared with lavapipe: ~2/3)
    expect(cpu / wall, `main thread used ${cpu.toFixed(0)} ms of CPU while waiting ${wall.toFixed(0)} ms`).toBeLessThan(
      0.25,
    );
  });
});
