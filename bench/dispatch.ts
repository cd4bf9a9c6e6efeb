// Per-dispatch cost and a small MLP's training-loop rate: the engine's fixed overheads.
//   npx tsx bench/dispatch.ts
import * as E from '../engine/index.js';
import { Adam } from '../engine/index.js';
import { benchArgs } from './cli.js';

benchArgs('usage: npx tsx bench/dispatch.ts  (per-dispatch cost and a small MLP training-loop rate; no options)', {});

await E.initDevice();
console.log(`adapter: ${E.adapterName()}`);

// 1. dispatch cost: a chain of tiny elementwise ops in one command stream
const x = E.ones([4]);
const chain = (n: number) =>
  E.tidy(() => {
    let y = x;
    for (let i = 0; i < n; i++) y = E.add(y, 1);
  });
chain(100);
await E.sync();
const N = 2000;
let t0 = performance.now();
chain(N);
const record = (performance.now() - t0) / N;
await E.sync();
const total = (performance.now() - t0) / N;
console.log(
  `dispatch: ${(1000 * total).toFixed(1)} µs per tiny op end to end (${(1000 * record).toFixed(1)} µs of it recording on the host)`,
);

// 2. submit + readback round trip
const one = E.ones([1]);
await one.item();
t0 = performance.now();
for (let i = 0; i < 50; i++) await one.item();
console.log(`readback: ${((performance.now() - t0) / 50).toFixed(3)} ms per submit + read of one value`);

// 3. a small MLP training loop: 2 -> 64 -> 64 -> 1, batch 256, Adam, one submit per step
E.manualSeed(0);
const sizes = [2, 64, 64, 1];
const params: E.Tensor[] = [];
for (let i = 0; i + 1 < sizes.length; i++) {
  params.push(
    E.requireGrad(E.randUniform([sizes[i], sizes[i + 1]], -0.5, 0.5)),
    E.requireGrad(E.zeros([sizes[i + 1]])),
  );
}
const opt = new Adam(params, { lr: 1e-3 });
const xb = E.randUniform([256, 2], -1, 1);
const yb = E.tidy(() => E.sin(E.sum(xb, 1, true)));
const step = () =>
  E.tidy(() => {
    let h = xb;
    for (let i = 0; i < params.length; i += 2) {
      h = E.add(E.matmul(h, params[i]), params[i + 1]);
      if (i + 2 < params.length) h = E.relu(h);
    }
    opt.step(E.grad(E.mean(E.square(E.sub(h, yb))), params));
  });
for (let i = 0; i < 20; i++) step();
await E.sync();
const d0 = E.counters.dispatches;
const steps = 300;
t0 = performance.now();
for (let i = 0; i < steps; i++) {
  step();
  await E.endStep();
}
await E.sync();
const ms = (performance.now() - t0) / steps;
console.log(
  `MLP 2-64-64-1 batch 256 Adam: ${ms.toFixed(2)} ms/step = ${(1000 / ms).toFixed(0)} steps/s, ${(E.counters.dispatches - d0) / steps} dispatches/step`,
);
await E.releaseDevice();
