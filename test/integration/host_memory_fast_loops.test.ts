// Host memory of fast small-model loops. Each step of a tiny WGAN is a few milliseconds, so
// anything the engine creates per dispatch (bind groups, staging buffers, kept tensors) piles up
// as native memory faster than V8 feels pressure; before the pool handed buffers out in a fixed
// order, this loop grew ~3 MB per iteration and Dawn/lavapipe crashed near iteration 160.
import { describe, expect, it } from 'vitest';
import * as E from '../../engine/index.js';
import { Adam } from '../../engine/optim.js';
import { toyCritic, toyGenerator } from '../../nn/index.js';
import {
  Monitor,
  criticStepMonitors,
  WGAN_ALP_DEFAULTS,
  wganAlpCriticLoss,
  wganGeneratorLoss,
} from '../../alr/index.js';
import { asCritic } from '../../nn/index.js';
import { useGpu } from '../support/gpu.js';

useGpu();

const MB = 2 ** 20;

describe('host memory of a small-model WGAN-ALP loop', () => {
  it('2400 critic steps: no new bind groups or buffers after warm-up, every cache bounded, RSS flat', async () => {
    E.manualSeed(0);
    const G = toyGenerator(8);
    const D = toyCritic(8);
    const critic = asCritic(D);
    const optG = new Adam(G.parameters(), { lr: 1e-4, betas: [0.5, 0.9] });
    const optD = new Adam(D.parameters(), { lr: 1e-4, betas: [0.5, 0.9] });
    const monitor = new Monitor(100);
    const real = E.randNormal([16, 2]);
    const iteration = async () => {
      for (let c = 0; c < 5; c++) {
        const mon = E.tidy(() => {
          const fake = E.noGrad(() => G.forward(E.randNormal([16, 2])));
          const s = wganAlpCriticLoss(critic, real, fake, WGAN_ALP_DEFAULTS);
          optD.step(E.grad(s.loss, D.parameters()));
          return criticStepMonitors(s);
        });
        if (c === 4) monitor.push(mon);
        E.dispose(mon);
      }
      E.tidy(() => {
        const loss = wganGeneratorLoss(critic, G.forward(E.randNormal([16, 2])));
        optG.step(E.grad(loss, G.parameters()));
      });
      await E.endStep();
      if (monitor.due) expect((await monitor.flush()).length).toBe(100);
    };
    for (let i = 0; i < 80; i++) await iteration();
    await E.sync();
    const warm = { counters: { ...E.counters }, memory: E.memoryStats(), rss: process.memoryUsage().rss };
    for (let i = 0; i < 400; i++) await iteration();
    await E.sync();
    const rss = process.memoryUsage().rss;
    const dispatches = E.counters.dispatches - warm.counters.dispatches;
    expect(dispatches).toBeGreaterThan(200_000);
    expect(E.counters.bindGroups - warm.counters.bindGroups, `bind groups created over ${dispatches} dispatches`).toBe(
      0,
    );
    expect(E.memoryStats().created - warm.memory.created, 'GPU buffers created after warm-up').toBe(0);
    expect(E.memoryStats().bytesAllocated).toBe(warm.memory.bytesAllocated);
    const caches = E.cacheStats();
    expect(caches.bindGroups).toBeLessThanOrEqual(4096);
    expect(caches.pipelines).toBeLessThanOrEqual(1024);
    expect(caches.stagingBuffers).toBeLessThanOrEqual(64);
    expect((rss - warm.rss) / MB, `RSS ${(warm.rss / MB).toFixed(0)} -> ${(rss / MB).toFixed(0)} MB`).toBeLessThan(48);
    monitor.dispose();
    E.dispose([real]);
    for (const m of [G, D]) m.dispose();
    optG.dispose();
    optD.dispose();
  });
});
