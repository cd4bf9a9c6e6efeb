// Elementwise ops: each is its WGSL expression next to its backward rule, written in
// differentiable ops (so second derivatives come for free).
import { record, sumToShape as sumTo } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { broadcastShapes, broadcastStrides, sameShape } from '../shape_util.js';
import { map } from './map.js';

type Operand = Tensor | number;

// ---------- unary ----------

/** A unary op `y = f(x; p0, p1)` with backward `dx = back(x, y, g, p0, p1)` (null: no gradient). */
function unary(
  name: string,
  expr: string,
  back: ((x: Tensor, y: Tensor, g: Tensor, p0: number, p1: number) => Tensor) | null,
) {
  return (x: Tensor, p0 = 0, p1 = 0): Tensor => {
    const y = map(name, expr, [x], x.shape, p0, p1);
    return back ? record(y, name, [x], (g) => [back(x, y, g, p0, p1)]) : y;
  };
}

// Masks and steps: piecewise constant, so their gradient is zero (they record nothing).
/** 1 where x > 0, else 0 (a mask; not torch.positive, which is the identity) */
export const positiveMask = unary('positive', 'select(0.0, 1.0, a > 0.0)', null);
/** 1 where x >= p0, else 0 */
const geScalarP = unary('geScalar', 'select(0.0, 1.0, a >= p0)', null);
/** sign(x) with sign(0) = 0 */
export const sign = unary('sign', 'sign(a)', null);
/** 1 where p0 <= x <= p1: the pass-through region of clamp */
const inRange = unary('inRange', 'select(0.0, 1.0, a >= p0 && a <= p1)', null);

export const neg = unary('neg', '-a', (_x, _y, g) => neg(g));
export const abs = unary('abs', 'abs(a)', (x, _y, g) => mul(g, sign(x))); // subgradient 0 at 0, as TF/PyTorch
export const square = unary('square', 'a * a', (x, _y, g) => mul(g, mul(x, 2)));
export const sqrt = unary('sqrt', 'sqrt(a)', (_x, y, g) => div(g, mul(y, 2)));
export const exp = unary('exp', 'exp(a)', (_x, y, g) => mul(g, y));
export const log = unary('log', 'log(a)', (x, _y, g) => div(g, x));
export const sin = unary('sin', 'sin(a)', (x, _y, g) => mul(g, cos(x)));
export const cos = unary('cos', 'cos(a)', (x, _y, g) => neg(mul(g, sin(x))));
export const reciprocal = unary('reciprocal', '1.0 / a', (_x, y, g) => neg(mul(g, square(y))));
export const relu = unary('relu', 'max(a, 0.0)', (x, _y, g) => reluGrad(g, x));
const leakyReluP = unary('leakyRelu', 'select(p0 * a, a, a > 0.0)', (x, _y, g, s) => leakyReluGrad(g, x, s));
/** leaky_relu's backward in one pass: g where x > 0, slope·g elsewhere (piecewise constant in x) */
function leakyReluGrad(g: Tensor, x: Tensor, slope: number): Tensor {
  const y = map('leakyReluGrad', 'select(p0 * a, a, b > 0.0)', [g, x], g.shape, slope);
  return record(y, 'leakyReluGrad', [g, x], (gg) => [leakyReluGrad(gg, x, slope), null]);
}
export const leakyRelu = (x: Tensor, slope = 0.01): Tensor => leakyReluP(x, slope);
export const tanh = unary('tanh', 'tanh(a)', (_x, y, g) => mul(g, rsub(square(y), 1)));
// written so that large |x| neither overflows nor loses precision
export const sigmoid = unary(
  'sigmoid',
  'select(exp(a) / (1.0 + exp(a)), 1.0 / (1.0 + exp(-a)), a >= 0.0)',
  (_x, y, g) => mul(g, mul(y, rsub(y, 1))),
);
const clampP = unary('clamp', 'clamp(a, p0, p1)', (x, _y, g, lo, hi) => mul(g, inRange(x, lo, hi)));
export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  if (!(lo <= hi)) throw new Error(`clamp: lower bound ${lo} is above upper bound ${hi}`);
  return clampP(x, lo, hi);
}
/** x^p for a scalar exponent */
const powScalarP = unary('powScalar', 'pow_s(a, p0)', (x, _y, g, p) => mul(g, mul(powScalarP(x, p - 1), p)));
/** a + s, a * s, s - a, s / a, max(a, s), min(a, s) */
const addScalar = unary('addScalar', 'a + p0', (_x, _y, g) => g);
const mulScalar = unary('mulScalar', 'a * p0', (_x, _y, g, s) => mulScalar(g, s));
const rsubScalar = unary('rsubScalar', 'p0 - a', (_x, _y, g) => neg(g));
const rdivScalar = unary('rdivScalar', 'p0 / a', (_x, y, g) => neg(div(mul(g, y), _x)));
const maxScalar = unary('maxScalar', 'max(a, p0)', (x, _y, g, s) => mul(g, geScalarP(x, s)));
const minScalar = unary('minScalar', 'min(a, p0)', (x, _y, g, s) => mul(g, rsub(geScalarP(x, s), 1)));

// ---------- binary (NumPy broadcasting) ----------

function binary(
  name: string,
  expr: string,
  back: (a: Tensor, b: Tensor, y: Tensor, g: Tensor) => [Tensor | null, Tensor | null],
) {
  return (a: Tensor, b: Tensor): Tensor => {
    const shape = broadcastShapes(name, a.shape, b.shape);
    const view = (t: Tensor) =>
      sameShape(t.shape, shape) ? t : { tensor: t, strides: broadcastStrides(t.shape, shape), offset: 0 };
    const y = map(name, expr, [view(a), view(b)], shape);
    return record(y, name, [a, b], (g) => {
      const [ga, gb] = back(a, b, y, g);
      return [ga && sumTo(ga, a.shape), gb && sumTo(gb, b.shape)];
    });
  };
}

const addT = binary('add', 'a + b', (_a, _b, _y, g) => [g, g]);
/** relu's backward in one pass: g where x > 0, else 0 (piecewise constant in x) */
export const reluGrad: (g: Tensor, x: Tensor) => Tensor = binary(
  'reluGrad',
  'select(0.0, a, b > 0.0)',
  (_a, b, _y, gg) => [reluGrad(gg, b), null],
);
const subT = binary('sub', 'a - b', (_a, _b, _y, g) => [g, neg(g)]);
const mulT = binary('mul', 'a * b', (a, b, _y, g) => [mul(g, b), mul(g, a)]);
const divT = binary('div', 'a / b', (a, b, y, g) => {
  const ga = div(g, b);
  return [ga, neg(mul(ga, y))];
});
const maxT = binary('maximum', 'max(a, b)', (a, b, _y, g) => {
  const m = geMask(a, b);
  return [mul(g, m), mul(g, rsub(m, 1))];
});
const minT = binary('minimum', 'min(a, b)', (a, b, _y, g) => {
  const m = geMask(b, a);
  return [mul(g, m), mul(g, rsub(m, 1))];
});
const powT = binary('pow', 'pow_s(a, b)', (a, b, y, g) => [mul(g, mul(b, pow(a, sub(b, 1)))), mul(g, mul(y, log(a)))]);
/** 1 where a >= b, else 0: at ties the whole gradient of maximum/minimum goes to the first operand */
function geMask(a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes('ge', a.shape, b.shape);
  const view = (t: Tensor) => ({ tensor: t, strides: broadcastStrides(t.shape, shape), offset: 0 });
  return map('ge', 'select(0.0, 1.0, a >= b)', [view(a), view(b)], shape);
}

export function add(a: Tensor, b: Operand): Tensor {
  return typeof b === 'number' ? addScalar(a, b) : addT(a, b);
}
export function sub(a: Tensor, b: Operand): Tensor {
  return typeof b === 'number' ? addScalar(a, -b) : subT(a, b);
}
/** s - a */
export function rsub(a: Tensor, s: number): Tensor {
  return rsubScalar(a, s);
}
export function mul(a: Tensor, b: Operand): Tensor {
  return typeof b === 'number' ? mulScalar(a, b) : mulT(a, b);
}
export function div(a: Tensor, b: Operand): Tensor {
  return typeof b === 'number' ? mulScalar(a, 1 / b) : divT(a, b);
}
/** s / a */
export function rdiv(a: Tensor, s: number): Tensor {
  return rdivScalar(a, s);
}
export function maximum(a: Tensor, b: Operand): Tensor {
  return typeof b === 'number' ? maxScalar(a, b) : maxT(a, b);
}
export function minimum(a: Tensor, b: Operand): Tensor {
  return typeof b === 'number' ? minScalar(a, b) : minT(a, b);
}
export function pow(a: Tensor, b: Operand): Tensor {
  return typeof b === 'number' ? powScalarP(a, b) : powT(a, b);
}
/** 1 where a >= b, else 0 (no gradient) */
export function ge(a: Tensor, b: Operand): Tensor {
  return typeof b === 'number' ? geScalarP(a, b) : geMask(a, b);
}

/** @deprecated the name reads as torch.positive (the identity); use positiveMask (1 where x > 0) */
export const positive = positiveMask;
/** @deprecated use ge(x, s) */
export const geScalar = (x: Tensor, s: number): Tensor => geScalarP(x, s);

/** cond ? a : b elementwise, with cond a 0/1 mask (broadcast); no gradient flows into cond. */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes('where', cond.shape, a.shape, b.shape);
  const view = (t: Tensor) => ({ tensor: t, strides: broadcastStrides(t.shape, shape), offset: 0 });
  const y = map('where', 'select(c, b, a != 0.0)', [view(cond), view(a), view(b)], shape);
  return record(y, 'where', [cond, a, b], (g) => {
    const zeros = mul(g, 0);
    return [null, sumTo(where(cond, g, zeros), a.shape), sumTo(where(cond, zeros, g), b.shape)];
  });
}
