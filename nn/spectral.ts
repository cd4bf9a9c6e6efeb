// Spectral normalisation as torch.nn.utils.spectral_norm: the trainable weight becomes
// `weight_orig`, buffers `weight_u` [out] and `weight_v` [in·k·k] persist the power-iteration
// vectors, and forward uses W / σ with σ = uᵀ W v (W viewed as [out, -1]).
import {
  assign,
  div,
  keep,
  matmul,
  maximum,
  mul,
  noGrad,
  randNormal,
  reshape,
  sqrt,
  sum,
  tidy,
  type Tensor,
} from '../engine/web.js';
import { statUpdatesEnabled } from './module.js';
import { checkOptions, num, unsupported } from '../engine/options.js';
import type { Conv2d, Linear, WeightLayer } from './layers.js';

export interface SpectralNormOptions {
  /** power iterations per training-mode forward (default 1) */
  nPowerIterations?: number;
  /** normalisation guard: x / max(‖x‖, eps) (default 1e-12, as PyTorch) */
  eps?: number;
}

function normalize(x: Tensor, eps: number): Tensor {
  return div(x, maximum(sqrt(sum(mul(x, x))), eps));
}

/** W [out, k] times a vector [k] (or Wᵀ times [out]). */
function mv(w: Tensor, x: Tensor, transpose = false): Tensor {
  const y = matmul(w, reshape(x, [x.size, 1]), { transA: transpose });
  return reshape(y, [y.shape[0]]);
}

/**
 * Applies spectral normalisation to a Linear or Conv2d in place and returns it.
 * Training-mode forward: under noGrad, v = normalize(Wᵀu), u = normalize(Wv) (nPowerIterations
 * times), stored into weight_u/weight_v unless inside withoutStatUpdates(); then
 * σ = uᵀWv with the gradient flowing through W only. Eval mode uses the stored u, v.
 * u and v start as normalised N(0, I) draws from the engine RNG.
 */
export function spectralNorm<M extends Linear | Conv2d>(m: M, opts: SpectralNormOptions = {}): M {
  checkOptions('spectralNorm', opts, {
    nPowerIterations: num({ int: true, min: 1 }),
    eps: num({ gt: 0 }),
    name: unsupported("only 'weight' is normalised", ['weight']),
    dim: unsupported('the output axis (0) is the one kept', [0]),
  });
  if (typeof m?.renameParameter !== 'function') throw new Error('spectralNorm: expects an nn.Linear or nn.Conv2d');
  const iters = opts.nPowerIterations ?? 1;
  const eps = opts.eps ?? 1e-12;
  if (m.weightHook) throw new Error(`spectralNorm: ${m.constructor.name} already has a weight re-parametrisation`);
  const w = m.renameParameter('weight', 'weight_orig');
  const out = w.shape[0];
  const k = w.size / out;
  m.registerBuffer('weight_u', keep(tidy(() => noGrad(() => normalize(randNormal([out]), eps)))));
  m.registerBuffer('weight_v', keep(tidy(() => noGrad(() => normalize(randNormal([k]), eps)))));
  // the hook reads u, v and the mode from the layer it is called on (`this`), so a copy of the
  // layer (nn.EMA, nn.cloneModule) shares the function and uses its own buffers
  m.weightHook = function (this: WeightLayer, weight: Tensor): Tensor {
    const u = this.getBuffer('weight_u')!;
    const v = this.getBuffer('weight_v')!;
    const wm = reshape(weight, [out, k]);
    let uu = u;
    let vv = v;
    if (this.training && iters > 0) {
      // tidy frees the iteration's temporaries; the final u, v move to the caller's scope
      [uu, vv] = tidy(() =>
        noGrad(() => {
          let a = u;
          let b = v;
          for (let i = 0; i < iters; i++) {
            b = normalize(mv(wm, a, true), eps);
            a = normalize(mv(wm, b), eps);
          }
          return [a, b];
        }),
      );
      if (statUpdatesEnabled()) {
        assign(u, uu);
        assign(v, vv);
      }
    }
    const sigma = sum(mul(uu, mv(wm, vv))); // u, v are constants: no gradient through them
    return div(weight, sigma);
  };
  return m;
}

/** σ = uᵀWv from the stored u, v (no power iteration, no gradient). */
export function spectralSigma(m: Linear | Conv2d): Tensor {
  const u = m.getBuffer('weight_u');
  const v = m.getBuffer('weight_v');
  if (!u || !v) throw new Error(`spectralSigma: ${m.constructor.name} has no spectral norm`);
  return noGrad(() => sum(mul(u, mv(reshape(m.weight, [u.size, v.size]), v))));
}
