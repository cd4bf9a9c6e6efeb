import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import { hostRng } from '../../../engine/gradcheck.js';
import { expectClose, useGpu } from '../../support/gpu.js';
import { adamKernel, sgdKernel } from '../../../shaders/optim.js';

useGpu();

function randHost(n: number, seed: number, lo = -2, hi = 2): Float32Array {
  const r = hostRng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

// sizes: a vec4 kernel length, an odd length (scalar kernel), a matrix
const shapes = [[8], [7], [3, 5]];
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const gradsAt = (step: number) => shapes.map((s, i) => randHost(size(s), 1000 * step + i));
const lrAt = (step: number) => (step < 3 ? 0.01 : 0.003); // changed between steps

/** float64 torch.optim.Adam */
function adamRef(
  p: Float64Array[],
  steps: number,
  o: { b1: number; b2: number; eps: number; wd: number },
  grads: (t: number) => Float32Array[] = gradsAt,
  lr: (t: number) => number = lrAt,
) {
  const m = p.map((x) => new Float64Array(x.length));
  const v = p.map((x) => new Float64Array(x.length));
  for (let t = 1; t <= steps; t++) {
    const gs = grads(t);
    p.forEach((x, i) => {
      for (let k = 0; k < x.length; k++) {
        const g = gs[i][k] + o.wd * x[k];
        m[i][k] = o.b1 * m[i][k] + (1 - o.b1) * g;
        v[i][k] = o.b2 * v[i][k] + (1 - o.b2) * g * g;
        const mh = m[i][k] / (1 - o.b1 ** t);
        const vh = v[i][k] / (1 - o.b2 ** t);
        x[k] -= (lr(t) * mh) / (Math.sqrt(vh) + o.eps);
      }
    });
  }
  return { p, m, v };
}

/**
 * float64 torch.optim.SGD, transcribed from torch/optim/sgd.py (_single_tensor_sgd):
 * d_p = grad + wd·p; buf = d_p at the first step, else buf·momentum + (1 − dampening)·d_p;
 * d_p = d_p + momentum·buf with nesterov, else buf; p -= lr·d_p.
 */
function sgdRef(p: Float64Array[], steps: number, momentum: number, wd: number, dampening = 0, nesterov = false) {
  const buf = p.map((x) => new Float64Array(x.length));
  for (let t = 1; t <= steps; t++) {
    const gs = gradsAt(t);
    p.forEach((x, i) => {
      for (let k = 0; k < x.length; k++) {
        let d = gs[i][k] + wd * x[k];
        if (momentum > 0) {
          buf[i][k] = t === 1 ? d : momentum * buf[i][k] + (1 - dampening) * d;
          d = nesterov ? d + momentum * buf[i][k] : buf[i][k];
        }
        x[k] -= lrAt(t) * d;
      }
    });
  }
  return p;
}

const initial = () => shapes.map((s, i) => randHost(size(s), 50 + i));
const makeParams = (init: Float32Array[]) => init.map((x, i) => E.tensor(x, shapes[i]));

describe('Adam', () => {
  for (const wd of [0, 0.05]) {
    it(`5 steps with an lr change match float64 torch semantics (weightDecay ${wd})`, async () => {
      const init = initial();
      const params = makeParams(init);
      // created inside a scope: the state must survive it
      const opt = E.tidy(() => new E.Adam(params, { lr: lrAt(1), betas: [0.8, 0.99], eps: 1e-6, weightDecay: wd }));
      for (let t = 1; t <= 5; t++) {
        opt.lr = lrAt(t);
        if (t % 2) {
          E.tidy(() => opt.step(gradsAt(t).map((g, i) => E.tensor(g, shapes[i]))));
        } else {
          // default: each parameter's .grad
          params.forEach((p, i) => (p.grad = E.tensor(gradsAt(t)[i], shapes[i])));
          opt.step();
          E.zeroGrad(params);
        }
      }
      const ref = adamRef(
        init.map((x) => Float64Array.from(x)),
        5,
        { b1: 0.8, b2: 0.99, eps: 1e-6, wd },
      );
      for (let i = 0; i < params.length; i++) {
        expectClose(await params[i].toFloat32(), ref.p[i], 1e-7, 1e-6);
        const st = opt.state();
        expectClose(await st.m[i].toFloat32(), ref.m[i], 1e-7, 1e-5);
        expectClose(await st.v[i].toFloat32(), ref.v[i], 1e-7, 1e-5);
      }
      expect(opt.state().step).toBe(5);
      opt.dispose();
      E.dispose(params);
    });
  }

  it('state() / loadState() round trip continues identically', async () => {
    const init = initial();
    const opts = { lr: 0.01, betas: [0.9, 0.999] as [number, number] };
    const stepWith = (o: E.Adam, t: number) => E.tidy(() => o.step(gradsAt(t).map((g, i) => E.tensor(g, shapes[i]))));
    const a = makeParams(init);
    const optA = new E.Adam(a, opts);
    for (let t = 1; t <= 5; t++) stepWith(optA, t);

    const b = makeParams(init);
    const optB = new E.Adam(b, opts);
    for (let t = 1; t <= 3; t++) stepWith(optB, t);
    const st = optB.state();
    const saved = {
      step: st.step,
      m: await Promise.all(st.m.map((t) => t.toFloat32())),
      v: await Promise.all(st.v.map((t) => t.toFloat32())),
    };
    const c = makeParams(await Promise.all(b.map((t) => t.toFloat32())));
    const optC = new E.Adam(c, opts);
    optC.loadState(saved);
    expect(optC.state().step).toBe(3);
    for (let t = 4; t <= 5; t++) stepWith(optC, t);
    for (let i = 0; i < a.length; i++) expectClose(await c[i].toFloat32(), await a[i].toFloat32(), 0, 0);
    expect(() => optC.loadState({ ...saved, m: saved.m.slice(1) })).toThrow(
      /Adam.loadState: m has 2 arrays for 3 parameters/,
    );
    expect(() => optC.loadState({ ...saved, v: [saved.v[1], saved.v[0], saved.v[2]] })).toThrow(
      /Adam.loadState: v\[0\] has 7 values, parameter 0 \[8\] has 8/,
    );
    for (const o of [optA, optB, optC]) o.dispose();
    E.dispose([a, b, c]);
  });

  it('allocates nothing per step; state outlives tidy scopes; dispose releases it', async () => {
    const params = makeParams(initial());
    const grads = makeParams(initial());
    const before = E.memoryStats().liveBuffers;
    const opt = E.tidy(() => new E.Adam(params));
    expect(E.memoryStats().liveBuffers).toBe(before + 2 * params.length);
    for (let i = 0; i < 3; i++) E.tidy(() => opt.step(grads));
    await E.sync();
    expect(E.memoryStats().liveBuffers).toBe(before + 2 * params.length);
    expect(opt.state().m.every((t) => !t.disposed)).toBe(true);
    opt.dispose();
    expect(E.memoryStats().liveBuffers).toBe(before);
    E.dispose([params, grads]);
  });

  it('validates hyperparameters, gradients and lifetime', () => {
    const p = [E.zeros([2, 3]), E.zeros([4])];
    expect(() => new E.Adam(p, { lr: -1 })).toThrow(/Adam: lr must be a finite number >= 0, got -1/);
    expect(() => new E.Adam(p, { betas: [0.9, 1] })).toThrow(/Adam: betas\[1\] must be in \[0, 1\), got 1/);
    expect(() => new E.Adam(p, { betas: [-0.1, 0.9] })).toThrow(/Adam: betas\[0\] must be in \[0, 1\)/);
    expect(() => new E.Adam(p, { eps: 0 })).toThrow(/Adam: eps must be > 0, got 0/);
    expect(() => new E.Adam([p[0], p[0]])).toThrow(/Adam: params\[1\] \[2, 3\] appears more than once/);
    const opt = new E.Adam(p);
    expect(() => (opt.lr = -0.5)).toThrow(/Adam: lr must be/);
    expect(() => opt.step([E.zeros([2, 3])])).toThrow(/Adam.step: got 1 gradients for 2 parameters/);
    expect(() => opt.step([E.zeros([2, 3]), E.zeros([5])])).toThrow(
      /Adam.step: gradient 1 has shape \[5\], parameter 1 has \[4\]/,
    );
    expect(() => opt.step()).toThrow(/Adam.step: parameter 0 \[2, 3\] has no gradient/);
    expect(opt.state().step).toBe(0); // failed steps do not count
    opt.dispose();
    expect(() => opt.step([E.zeros([2, 3]), E.zeros([4])])).toThrow(/Adam.step: the optimiser was disposed/);
  });

  it('updates many tensors per dispatch exactly as one optimiser per tensor does', async () => {
    // more tensors than one bind group holds, sizes around the vec4 and workgroup boundaries
    const sizes = [1, 3, 4, 5, 1023, 1024, 1025, 0, 4097, 7, 2, 300, 8];
    const inits = sizes.map((n, i) => randHost(n, 70 + i));
    const grads = (t: number) => sizes.map((n, i) => randHost(n, 900 + 31 * t + i));
    const together = inits.map((x) => E.tensor(x, [x.length]));
    const alone = inits.map((x) => E.tensor(x, [x.length]));
    const opts = { lr: 0.02, betas: [0.7, 0.95] as [number, number], weightDecay: 0.01 };
    const optAll = new E.Adam(together, opts);
    const optEach = alone.map((p) => new E.Adam([p], opts));
    const d0 = E.counters.dispatches;
    E.tidy(() => optAll.step(grads(1).map((g) => E.tensor(g, [g.length]))));
    const dispatches = E.counters.dispatches - d0;
    expect(dispatches).toBeLessThan(sizes.length / 2);
    for (let t = 2; t <= 3; t++) E.tidy(() => optAll.step(grads(t).map((g) => E.tensor(g, [g.length]))));
    for (let t = 1; t <= 3; t++) E.tidy(() => optEach.forEach((o, i) => o.step([E.tensor(grads(t)[i], [sizes[i]])])));
    const ref = adamRef(
      inits.map((x) => Float64Array.from(x)),
      3,
      { b1: 0.7, b2: 0.95, eps: 1e-8, wd: 0.01 },
      grads,
      () => 0.02,
    );
    for (let i = 0; i < sizes.length; i++) {
      expectClose(await together[i].toFloat32(), ref.p[i], 1e-7, 1e-6);
      expect(Array.from(await together[i].toFloat32()), `tensor ${i} (${sizes[i]} values)`).toEqual(
        Array.from(await alone[i].toFloat32()),
      );
      expect(Array.from(await optAll.state().v[i].toFloat32())).toEqual(
        Array.from(await optEach[i].state().v[0].toFloat32()),
      );
    }
    optAll.dispose();
    optEach.forEach((o) => o.dispose());
    E.dispose([together, alone]);
  });

  it('measures ms per step over 1M parameters (one tensor, and 20 tensors)', async () => {
    const layouts = [[[1024, 1024]], [...Array(19).fill([52429]), [52425]]];
    for (const shapesB of layouts) {
      const params = shapesB.map((s) => E.randNormal(s));
      const grads = shapesB.map((s) => E.randNormal(s));
      const opt = new E.Adam(params, { lr: 1e-3 });
      for (let i = 0; i < 3; i++) opt.step(grads);
      await E.sync();
      const times: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t0 = performance.now();
        opt.step(grads);
        await E.sync();
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      const total = params.reduce((a, p) => a + p.size, 0);
      console.log(
        `Adam step, ${total} parameters in ${params.length} tensor(s): median ${times[10].toFixed(2)} ms, min ${times[0].toFixed(2)} ms`,
      );
      const v = await params[params.length - 1].toFloat32();
      expect(v.every(Number.isFinite)).toBe(true);
      opt.dispose();
      E.dispose([params, grads]);
    }
  });
});

it('the scalar kernels (fallback for buffers not padded to 16 bytes) compile', async () => {
  const cases: [string, () => E.KernelDecl][] = [
    ['adam', () => adamKernel(false)],
    ['adam3', () => adamKernel(false, 3)],
    ['sgd', () => sgdKernel(false, true)],
    ['sgd0', () => sgdKernel(false, false)],
  ];
  for (const [key, declare] of cases) {
    await E.checkKernel(E.kernel(`test.${key}`, `test.${key}`, declare));
  }
});

describe('SGD', () => {
  for (const [momentum, wd, dampening, nesterov] of [
    [0, 0, 0, false],
    [0.9, 0.1, 0, false],
    [0.9, 0.1, 0, true],
    [0.8, 0, 0.5, false],
    [0.5, 0.05, 1, false],
  ] as const) {
    it(`5 steps with an lr change match float64 torch semantics (momentum ${momentum}, weightDecay ${wd}, dampening ${dampening}, nesterov ${nesterov})`, async () => {
      const init = initial();
      const params = makeParams(init);
      const opt = E.tidy(() => new E.SGD(params, { lr: lrAt(1), momentum, weightDecay: wd, dampening, nesterov }));
      for (let t = 1; t <= 5; t++) {
        opt.lr = lrAt(t);
        E.tidy(() => opt.step(gradsAt(t).map((g, i) => E.tensor(g, shapes[i]))));
      }
      const ref = sgdRef(
        init.map((x) => Float64Array.from(x)),
        5,
        momentum,
        wd,
        dampening,
        nesterov,
      );
      for (let i = 0; i < params.length; i++) expectClose(await params[i].toFloat32(), ref[i], 1e-7, 1e-6);
      opt.dispose();
      E.dispose(params);
    });
  }

  it('validates hyperparameters', () => {
    const p = [E.zeros([3])];
    expect(() => new E.SGD(p, { lr: -0.1 })).toThrow(/SGD: lr must be a finite number >= 0, got -0.1/);
    expect(() => new E.SGD(p, { momentum: -1 })).toThrow(/SGD: momentum must be >= 0, got -1/);
    expect(() => new E.SGD(p, { weightDecay: -1 })).toThrow(/SGD: weightDecay must be a finite number >= 0, got -1/);
    expect(() => new E.SGD(p, { nesterov: true })).toThrow(/SGD: nesterov needs momentum > 0 and dampening 0/);
    expect(() => new E.SGD(p, { momentum: 0.9, dampening: 0.1, nesterov: true })).toThrow(
      /SGD: nesterov needs momentum > 0 and dampening 0/,
    );
    expect(() => new E.SGD(p, { momentum: 0.9, dampening: 2 })).toThrow(
      /SGD: option 'dampening' must be a finite number >= 0 and <= 1, got 2/,
    );
    expect(() => new E.SGD(p).step([E.zeros([4])])).toThrow(
      /SGD.step: gradient 0 has shape \[4\], parameter 0 has \[3\]/,
    );
  });
});
