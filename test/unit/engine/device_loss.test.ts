// Kept in its own file: it destroys the device of this worker.
import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import { useGpu } from '../../support/gpu.js';

useGpu();

describe('device loss', () => {
  it('an op after the device is lost raises an error that says so', async () => {
    const t = E.ones([4]);
    await E.sync();
    E.device().destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect(() => E.exp(t)).toThrow(/device lost/);
    await expect(E.sync()).rejects.toThrow(/device lost/);
  });
});
