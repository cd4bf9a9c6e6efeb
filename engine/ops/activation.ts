// Smooth activations: erf, GELU (erf form, PyTorch's default, or its tanh approximation) and
// SiLU. Each forward and each first derivative is one fused elementwise kernel; the derivative's
// own backward is written with differentiable ops, so every order of derivative works (gradient
// penalties differentiate a GELU critic's input gradient again).
import { record } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { checkOptions, oneOf } from '../options.js';
import { map } from './map.js';
import { add, exp, mul, rsub, sigmoid, square, sub } from './elementwise.js';

// ---------- erf in WGSL ----------

/**
 * erf(x) as one WGSL expression, accurate to about 1 ulp in float32: Norbert Juffa's
 * minimax approximations (an odd polynomial for |x| <= 0.9277, 1 - exp(polynomial) beyond).
 * In float64 the approximation is within 2.2e-8 of erf everywhere; float32 rounding adds the rest.
 */
export function erfWGSL(x: string): string {
  const t = `abs(${x})`;
  const s = `(${x} * ${x})`;
  let big = `fma(fma(-1.72853470e-5, ${t}, 3.83197126e-4), ${s}, fma(-3.88396438e-3, ${t}, 2.42546219e-2))`;
  for (const c of ['-1.06777877e-1', '-6.34846687e-1', '-1.28717512e-1']) big = `fma(${big}, ${t}, ${c})`;
  big = `(sign(${x}) * (1.0 - exp(fma(${big}, ${t}, -${t}))))`;
  let small = '-5.96761703e-4';
  for (const c of ['4.99119423e-3', '-2.67681349e-2', '1.12819925e-1', '-3.76125336e-1', '1.28379166e-1'])
    small = `fma(${small}, ${s}, ${c})`;
  small = `fma(${small}, ${x}, ${x})`;
  return `select(${small}, ${big}, ${t} > 0.927734375)`;
}

const SQRT1_2 = '0.70710678118654752';
const INV_SQRT_2PI = '0.39894228040143268';
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
/** GELU tanh form: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) */
const C = Math.sqrt(2 / Math.PI);
const K = 0.044715;

/** A unary op with a fused derivative kernel `dexpr(a = g, b = x)` whose backward is `back2`. */
function smooth(name: string, expr: string, dexpr: string, back2: (x: Tensor) => Tensor): (x: Tensor) => Tensor {
  const grad = (g: Tensor, x: Tensor): Tensor => {
    const dx = map(`${name}Grad`, dexpr, [g, x], x.shape);
    // d(g·f'(x)) = gg·f'(x) for g, gg·g·f''(x) for x
    return record(dx, `${name}Grad`, [g, x], (gg, needs) => [
      needs[0] ? grad(gg, x) : null,
      needs[1] ? mul(mul(gg, g), back2(x)) : null,
    ]);
  };
  return (x: Tensor): Tensor => {
    const y = map(name, expr, [x], x.shape);
    return record(y, name, [x], (g) => [grad(g, x)]);
  };
}

/** erf(x) (torch.erf); derivative 2/√π·exp(-x²). */
export function erf(x: Tensor): Tensor {
  const y = map('erf', erfWGSL('a'), [x], x.shape);
  return record(y, 'erf', [x], (g) => [mul(g, mul(exp(mul(square(x), -1)), TWO_OVER_SQRT_PI))]);
}

/** φ(x) = exp(-x²/2)/√(2π), the standard normal density */
const normalPdf = (x: Tensor) => mul(exp(mul(square(x), -0.5)), 1 / Math.sqrt(2 * Math.PI));

// GELU (erf): x·Φ(x); f' = Φ(x) + x·φ(x); f'' = φ(x)·(2 - x²)
const geluErf = smooth(
  'gelu',
  `a * 0.5 * (1.0 + ${erfWGSL(`(a * ${SQRT1_2})`)})`,
  `a * (0.5 * (1.0 + ${erfWGSL(`(b * ${SQRT1_2})`)}) + b * ${INV_SQRT_2PI} * exp(-0.5 * b * b))`,
  (x) => mul(normalPdf(x), rsub(square(x), 2)),
);

// GELU (tanh): u = c·(x + k·x³); ½·x·(1 + tanh u) = x·σ(2u), written with σ(2u) = 1 / (1 + e),
// e = exp(-2u), so that neither tail cancels (1 + tanh u and 1 - tanh² u = 4σ(1 - σ) are tiny
// there). f' = σ + 2x·σ(1 - σ)·u'; with t = tanh u = 2σ - 1,
// f'' = 4σ(1 - σ)·(u' - x·t·u'² + ½·x·u''), u' = c·(1 + 3k·x²), u'' = 6ck·x.
// 2u is clamped at ±80 so e stays finite (σ is 0 or 1 to float32 there).
const E2U = (v: string) => `exp(-clamp(${2 * C} * (${v} + ${K} * ${v} * ${v} * ${v}), -80.0, 80.0))`;
const geluTanh = smooth(
  'geluTanh',
  `a / (1.0 + ${E2U('a')})`,
  `a * (1.0 / (1.0 + ${E2U('b')}) + 2.0 * b * ${E2U('b')} / ((1.0 + ${E2U('b')}) * (1.0 + ${E2U('b')})) * ${C} * (1.0 + ${3 * K} * b * b))`,
  (x) => {
    const s = sigmoid(mul(add(x, mul(mul(square(x), x), K)), 2 * C));
    const t = sub(mul(s, 2), 1);
    const up = mul(add(mul(square(x), 3 * K), 1), C);
    const inner = add(sub(up, mul(mul(x, t), square(up))), mul(square(x), 3 * C * K));
    return mul(mul(mul(s, rsub(s, 1)), 4), inner);
  },
);

export interface GeluOptions {
  /** 'none' (default): x·Φ(x) with the exact erf, as PyTorch's default; 'tanh': the tanh approximation */
  approximate?: 'none' | 'tanh';
}

/** GELU, F.gelu(x, approximate=...): x·Φ(x), Φ the standard normal CDF. */
export function gelu(x: Tensor, opts: GeluOptions = {}): Tensor {
  const o = checkOptions('gelu', opts, { approximate: oneOf(['none', 'tanh']) });
  return (o.approximate ?? 'none') === 'tanh' ? geluTanh(x) : geluErf(x);
}

// SiLU (swish): x·σ(x); f' = σ·(1 + x·(1 - σ)); f'' = σ·(1 - σ)·(2 + x·(1 - 2σ))
const SIG = (v: string) => `(1.0 / (1.0 + exp(-${v})))`;
const siluP = smooth('silu', `a * ${SIG('a')}`, `a * ${SIG('b')} * (1.0 + b * (1.0 - ${SIG('b')}))`, (x) => {
  const s = sigmoid(x);
  return mul(mul(s, rsub(s, 1)), add(mul(x, rsub(mul(s, 2), 1)), 2));
});

/** SiLU / swish, F.silu: x·σ(x). */
export function silu(x: Tensor): Tensor {
  return siluP(x);
}
