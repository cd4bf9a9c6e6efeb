// alr/ against PyTorch (bench/conformance/fixtures/gen_alr.py): the search, the penalty and its parameter
// gradients, the full WGAN-ALP critic loss, and GP/LP/gradient-norm penalties.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as E from '../../../engine/index.js';
import * as A from '../../../alr/index.js';
import * as TC from '../../../bench/conformance/toy_critics.js';
import { expectClose, useGpu } from '../../support/gpu.js';

useGpu();

interface Enc {
  shape: number[];
  data: number[];
}
type Clip = [number, number] | null;
const fx = JSON.parse(readFileSync(new URL('../../../bench/conformance/fixtures/alr.json', import.meta.url), 'utf8'));
const T = (e: Enc) => E.tensor(e.data, e.shape);

/** A critic rebuilt from the fixture's weights (fresh tensors for each case). */
function critic(name: string): A.Critic {
  const c = fx.critics[name];
  if (name === 'conv')
    return TC.convCritic(['w1', 'b1', 'w2', 'b2', 'W', 'b'].map((k) => T(c[k])) as TC.ConvCriticWeights);
  const layers = c.layers.map((l: { W: Enc; b: Enc }) => ({ W: T(l.W), b: T(l.b) }));
  if (!c.norms) return TC.mlpCritic(layers);
  const norms = c.norms.map((n: { gamma: Enc; beta: Enc }) => ({
    gamma: T(n.gamma),
    beta: T(n.beta),
    runningMean: E.zeros([n.gamma.shape[0]]),
    runningVar: E.ones([n.gamma.shape[0]]),
  }));
  return TC.mlpCritic(layers, { norms });
}

function data(name: string) {
  const d = fx.data;
  return name === 'conv'
    ? { real: T(d.imgReal), fake: T(d.imgFake), r0: T(d.r0Img) }
    : { real: T(d.real), fake: T(d.fake), r0: T(d.r0) };
}

async function expectTensor(t: E.Tensor, e: Enc, what: string, atol = 2e-5, rtol = 2e-4) {
  expect(t.shape, what).toEqual(e.shape);
  try {
    expectClose(await t.toFloat32(), e.data, atol, rtol);
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}`);
  }
}

async function expectGrads(loss: E.Tensor, c: A.Critic, expected: Enc[], what: string) {
  const gs = E.grad(loss, c.parameters());
  expect(gs.length).toBe(expected.length);
  // float32 cancellation (e.g. a bias before BN, exactly 0 in float64) scales with the largest gradient
  const scale = Math.max(...expected.flatMap((e) => e.data.map(Math.abs)));
  for (let i = 0; i < gs.length; i++)
    await expectTensor(gs[i], expected[i], `${what} grad of parameter ${i}`, 5e-5 + 1e-5 * scale, 5e-4);
}

describe('adversarial search and penalty vs PyTorch', () => {
  for (const c of fx.alp) {
    const title = `${c.critic}: k=${c.k} ${c.form} xi=${c.xi} clip=${JSON.stringify(c.clip)}`;
    it(title, async () => {
      const net = critic(c.critic);
      const { real, fake, r0 } = data(c.critic);
      const x = E.concat([real, fake], 0);
      const res = A.adversarialLipschitzPenalty(net, x, {
        k: c.k,
        form: c.form,
        xi: c.xi,
        clip: c.clip as Clip,
        K: c.K,
        lambda: c.lambda,
        r0,
        epsValues: T(fx.data.eps),
      });
      if (c.searchGrad) await expectTensor(res.searchGrad!, c.searchGrad, 'search gradient', 1e-6, 5e-4);
      else expect(res.searchGrad).toBeNull();
      await expectTensor(res.direction, c.direction, 'direction');
      await expectTensor(res.rAdv, c.rAdv, 'r_adv');
      await expectTensor(res.dX, c.dX, 'd_X');
      await expectTensor(res.ratio, c.ratio, 'ratio');
      await expectTensor(res.alp, c.alp, 'alp');
      await expectTensor(E.reshape(res.loss, [1]), { shape: [1], data: c.loss.data }, 'penalty');
      expect(await res.monitors.violations.item()).toBe(c.violations);
      await expectGrads(res.loss, net, c.paramGrads, 'penalty');
    });
  }
});

describe('WGAN-ALP critic loss vs PyTorch', () => {
  for (const c of fx.wganAlp) {
    it(`${c.critic}: mean D(fake) - mean D(real) + 100 * L_alp`, async () => {
      const net = critic(c.critic);
      const { real, fake, r0 } = data(c.critic);
      const s = A.wganAlpCriticLoss(net, real, fake, { clip: c.clip as Clip, r0, epsValues: T(fx.data.eps) });
      await expectTensor(E.reshape(s.loss, [1]), { shape: [1], data: c.loss.data }, 'loss', 1e-4, 5e-4);
      await expectTensor(E.reshape(s.wasserstein, [1]), { shape: [1], data: c.wasserstein.data }, 'wasserstein');
      await expectTensor(E.reshape(s.penalty.loss, [1]), { shape: [1], data: c.penalty.data }, 'penalty', 1e-4, 5e-4);
      await expectGrads(s.loss, net, c.paramGrads, 'WGAN-ALP');
    });
  }
});

describe('gradient-norm penalties vs PyTorch (double backprop)', () => {
  for (const c of fx.gradientPenalty) {
    it(`${c.critic}: ${c.norm} ${c.g}`, async () => {
      const net = critic(c.critic);
      const { real, fake } = data(c.critic);
      const p = A.gradientNormPenalty(net, real, fake, { norm: c.norm, g: c.g, lambda: c.lambda, u: T(fx.data.u) });
      await expectTensor(p.gradNorm, c.gradNorm, 'gradient norm');
      await expectTensor(E.reshape(p.loss, [1]), { shape: [1], data: c.loss.data }, 'penalty', 1e-4, 5e-4);
      await expectGrads(p.loss, net, c.paramGrads, 'gradient penalty');
    });
  }
});
