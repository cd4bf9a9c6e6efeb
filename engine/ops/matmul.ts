// Batched matrix multiplication with NumPy batch broadcasting and transpose flags. Two kernels
// compute identical bits; engine/tune.ts picks one per adapter and shape class.
import { record } from '../autograd.js';
import { numel, shapeStr, Tensor } from '../tensor.js';
import { device, deviceInfo } from '../device.js';
import { dispatch, kernel, Params, type Kernel } from '../runtime.js';
import { broadcastStrides } from '../shape_util.js';
import { pick } from '../tune.js';
import {
  matmulRegisterKernel,
  matmulTiledKernel,
  TILE,
  type MatmulLayout,
  type RegisterShape,
} from '../../shaders/matmul.js';
import { sumTo } from './reduce.js';
import { add, relu as reluOp, reluGrad } from './elementwise.js';
import { zeros } from './create.js';
import { bool, checkOptions } from '../options.js';
import { capturing, noteFlops } from '../capture.js';
import type { StoreHost } from '../fusion.js';
import type { RowProduct } from '../row_reuse.js';

export interface MatmulOptions {
  /** a is given as [..., K, M] */
  transA?: boolean;
  /** b is given as [..., N, K] */
  transB?: boolean;
}

// 'register' geometry. On lavapipe (2 cores) 8x8 outputs per invocation in 4x4 workgroups used
// ~30% less CPU time than 4x4 or 4x8 blocks from 256 up, and the workgroup shape mattered
// little; but the unrolled 8x8 kernel takes ~1.5 s longer to compile, so small products
// (tests, tiny layers) use 4x4 blocks.
const REGISTER_BIG: RegisterShape = { tm: 8, tn: 8, wx: 4, wy: 4 };
const REGISTER_SMALL: RegisterShape = { tm: 4, tn: 4, wx: 4, wy: 4 };
const registerShape = (p: Plan): RegisterShape => {
  if (p.M >= 32 && p.N >= 32 && p.M * p.N * p.K * numel(p.batch) >= 2 ** 21) return REGISTER_BIG;
  // a thin output (a layer of width 1, a weight gradient of two inputs): the invocations line up
  // along the long side, so none idles, and a row count below 4 computes no clamped copies
  if (p.N <= 4) return { tm: 4, tn: 4, wx: 1, wy: 16 };
  if (p.M <= 4) return { tm: p.M, tn: 4, wx: 16, wy: 1 };
  return REGISTER_SMALL;
};

// 'subgroup' geometry (sg lanes share tm rows): 32 x 4 per lane measured best on lavapipe
// (sg = 8; 8x4 ... 64x8 tried), 2x the 'register' kernel's GFLOP/s on 1024²; sg x 4 for short M.
const subgroupShape = (p: Plan, sg: number, transA: boolean): RegisterShape => {
  const tm = p.M > sg && 32 % sg === 0 ? 32 : sg;
  // a weight gradient (A transposed, K the batch) gains from 8 columns per lane: its A loads
  // are vec4s along M, shared by more outputs (15-20% on lavapipe at [128, 512]ᵀ x [512, 128]).
  // With 4-lane subgroups (SwiftShader, the browsers' software adapter) the other products
  // gain from 16: 1.2-1.3x at [256, 64] x [64, 64] and with B transposed (a toy critic's layers).
  const tn = transA ? (p.N >= 8 * sg ? 8 : 4) : sg === 4 && p.N >= 16 * sg ? 16 : 4;
  return { tm, tn, wx: sg, wy: 1, sg };
};

/**
 * 'subgroup' only where subgroups have one fixed size; it is the CPU adapters' first choice,
 * except for thin outputs (M or N at most 4), where its 32 x 4 block per lane computes mostly
 * clamped copies and 'register' lined up along the long side took 40-60% less time on lavapipe.
 * 'subgroup-uniform' is the same kernel reading B from a uniform binding, where B fits one
 * (`uniformB`): lavapipe loads a lane's element of a uniform array without the bounds check and
 * branch of each storage load, 1.2-1.3x faster at [512, 128] x [128, 128]; a GPU's constant
 * cache serialises such per-lane reads, which the tuner measures.
 */
function variants(p: Plan, uniformB: boolean) {
  const sg = deviceInfo().subgroupSize;
  const subgroup = sg
    ? [...(uniformB ? [{ name: 'subgroup-uniform', cpu: true }] : []), { name: 'subgroup', cpu: true }]
    : [];
  const register = { name: 'register', cpu: true };
  const thin = p.M <= 4 || p.N <= 4;
  return [...(thin ? [register, ...subgroup] : [...subgroup, register]), { name: 'tiled', cpu: false }];
}

/** B can bind as a uniform array: read as vec4s, and no larger than the adapter's uniform binding. */
const uniformBFits = (l: MatmulLayout, b: Tensor) =>
  l.vecB && b.size * 4 <= device().limits.maxUniformBufferBindingSize;

const MAX_GROUPS = 65535;
function matmulKernel(variant: string, l: MatmulLayout, rs: RegisterShape): Kernel {
  const sums = l.sums && `|s:${l.sums.chunk}.${l.sums.emptyChunks}.${+l.sums.twoLevel}|${l.sums.code}`;
  const flags = `${+l.transA}${+l.transB}${+l.vecA}${+l.vecB}${+l.vecOut}${l.bias ? 'b' : ''}${l.relu ? 'r' : ''}${l.uniformB ? `u${l.uniformB}` : ''}${l.store ? `|${l.store.code}` : ''}${sums ?? ''}`;
  const key =
    variant === 'tiled' ? `matmul.tiled:${flags}` : `matmul.${variant}:${flags}:${rs.tm}x${rs.tn}:${rs.wx}x${rs.wy}`;
  return kernel(`matmul.${variant}${l.sums ? '+reduce.sum' : ''}`, key, () =>
    variant === 'tiled' ? matmulTiledKernel(l) : matmulRegisterKernel(l, rs),
  );
}

const bucket = (n: number) => Math.ceil(Math.log2(Math.max(1, n)));

interface Plan {
  M: number;
  N: number;
  K: number;
  batch: number[];
  outShape: number[];
  aStrides: number[];
  bStrides: number[];
}

/** Validates shapes and works out the output shape and batch strides. */
function plan(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Plan {
  const what = () => `${shapeStr(a.shape)}${transA ? 'ᵀ' : ''} x ${shapeStr(b.shape)}${transB ? 'ᵀ' : ''}`;
  for (const t of [a, b]) {
    if (t.dtype !== 'f32') throw new Error(`matmul: expected float32 tensors, got ${a.dtype} x ${b.dtype}: ${what()}`);
  }
  if (a.rank < 2 || b.rank < 2) throw new Error(`matmul: both inputs need rank >= 2: ${what()}`);
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const [M, Ka] = transA ? [ac, ar] : [ar, ac];
  const [Kb, N] = transB ? [bc, br] : [br, bc];
  if (Ka !== Kb) throw new Error(`matmul: inner dimensions differ (${Ka} vs ${Kb}): ${what()}`);
  const ab = a.shape.slice(0, -2);
  const bb = b.shape.slice(0, -2);
  const rank = Math.max(ab.length, bb.length);
  const batch: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = ab[ab.length - rank + i] ?? 1;
    const y = bb[bb.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) {
      throw new Error(`matmul: batch dimensions cannot be broadcast (axis ${i}: ${x} vs ${y}): ${what()}`);
    }
    batch.push(x === 1 ? y : x);
  }
  if (rank > 6) throw new Error(`matmul: at most 6 batch dimensions are supported: ${what()}`);
  // batch strides in elements; broadcast axes read the same matrix (stride 0)
  const matStrides = (bs: readonly number[], size: number) => broadcastStrides(bs, batch).map((s) => s * size);
  return {
    M,
    N,
    K: Ka,
    batch,
    outShape: [...batch, M, N],
    aStrides: matStrides(ab, M * Ka),
    bStrides: matStrides(bb, Ka * N),
  };
}

/** Records the dispatches of one variant; splits grids beyond 65535 groups per dimension. */
function launch(
  variant: string,
  p: Plan,
  layout: MatmulLayout,
  a: Tensor,
  b: Tensor,
  bias: Tensor | null,
  out: Tensor,
  onTime?: (ns: number) => void,
): void {
  // offered only where B fits (uniformBFits); every tensor's pool buffer allows a uniform binding
  const l = variant === 'subgroup-uniform' ? { ...layout, uniformB: b.size / 4 } : layout;
  const rs = variant.startsWith('subgroup') ? subgroupShape(p, deviceInfo().subgroupSize, l.transA) : registerShape(p);
  const [bm, bn] = variant === 'tiled' ? [TILE.tm, TILE.tn] : [rs.tm * rs.wy, rs.tn * rs.wx];
  const gx = Math.ceil(p.N / bn);
  const gy = Math.ceil(p.M / bm);
  const gz = numel(p.batch);
  if (gx > MAX_GROUPS) throw new Error(`matmul: N = ${p.N} needs ${gx} workgroups in x; the limit is ${MAX_GROUPS}`);
  const k = matmulKernel(variant, l, rs);
  const bindings = [a, b, out, ...(bias ? [bias] : [])].map((t) => t.binding('matmul'));
  // one dispatch: the fusion pass of a captured step may run a map of the result in its stores
  const info: StoreHost | undefined =
    capturing() && gy <= MAX_GROUPS && gz <= MAX_GROUPS
      ? {
          out: bindings[2].buffer,
          outElements: out.size,
          withStore: (store) => matmulKernel(variant, { ...l, store }, rs),
          // a weight gradient's bias gradient (the sum of A over K) in the same pass over A
          columnSums:
            l.transA && gz === 1 && variant !== 'tiled'
              ? {
                  of: bindings[0].buffer,
                  rows: p.K,
                  columns: p.M,
                  withSums: (store, sums) => matmulKernel(variant, { ...l, store: store ?? undefined, sums }, rs),
                }
              : undefined,
        }
      : undefined;
  // row i of the output from row i of A alone: a captured step may reuse products of row blocks
  const rows: RowProduct | undefined =
    info && !l.transA && gz === 1
      ? {
          a: bindings[0].buffer,
          out: bindings[2].buffer,
          rows: p.M,
          rowBytesA: p.K * 4,
          rowBytesOut: p.N * 4,
          b: bindings[1].buffer,
          bias: bias ? bindings[3].buffer : null,
          same: `${+l.transB}:${p.N}:${p.K}:${l.relu ? 1 : 0}`,
        }
      : undefined;
  let first = true;
  for (let z0 = 0; z0 < gz; z0 += MAX_GROUPS) {
    for (let y0 = 0; y0 < gy; y0 += MAX_GROUPS) {
      const params = new Params()
        .dims8(p.batch, 1)
        .dims8(p.aStrides)
        .dims8(p.bStrides)
        .u32(p.M, p.N, p.K, p.batch.length, y0 * bm, z0, 0);
      // the tuner expects one timing per launch: time the first dispatch only
      dispatch(
        k,
        bindings,
        params,
        [gx, Math.min(MAX_GROUPS, gy - y0), Math.min(MAX_GROUPS, gz - z0)],
        first ? onTime : undefined,
        info && { stores: info, rows },
      );
      first = false;
    }
  }
  noteFlops(2 * p.M * p.N * p.K * gz);
}

/** Matmul without autograd, optionally followed by + bias[n] and relu in the same kernel. */
function matmulRaw(
  a: Tensor,
  b: Tensor,
  transA: boolean,
  transB: boolean,
  bias: Tensor | null = null,
  relu = false,
): Tensor {
  const p = plan(a, b, transA, transB);
  if (p.K === 0) return zeros(p.outShape); // an empty sum (and no bindable A or B); linear() never fuses K = 0
  const out = Tensor.empty(p.outShape);
  if (out.size === 0) return out;
  const l: MatmulLayout = {
    transA,
    transB,
    vecA: (transA ? p.M : p.K) % 4 === 0,
    vecB: (transB ? p.K : p.N) % 4 === 0,
    vecOut: p.N % 4 === 0,
    bias: bias !== null,
    relu,
  };
  const uniformB = uniformBFits(l, b);
  const classKey = `${bucket(p.M)}.${bucket(p.N)}.${bucket(p.K)}.${bucket(numel(p.batch))}.${+transA}${+transB}${uniformB ? 'u' : ''}`;
  pick('matmul', classKey, variants(p, uniformB), (v, onTime) => launch(v, p, l, a, b, bias, out, onTime));
  return out;
}

/**
 * a @ b over the last two axes; leading (batch) axes broadcast like NumPy.
 * a: [..., M, K] ([..., K, M] with transA), b: [..., K, N] ([..., N, K] with transB).
 * Returns [...batch, M, N].
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  checkOptions('matmul', opts, { transA: bool, transB: bool });
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const y = matmulRaw(a, b, transA, transB);
  return record(y, 'matmul', [a, b], (g, needs) => {
    // C = op(A) op(B): d op(A) = G op(B)ᵀ, d op(B) = op(A)ᵀ G; transposed inputs take the transpose
    const ga = !needs[0]
      ? null
      : transA
        ? matmul(b, g, { transA: transB, transB: true })
        : matmul(g, b, { transB: !transB });
    const gb = !needs[1]
      ? null
      : transB
        ? matmul(g, a, { transA: true, transB: transA })
        : matmul(a, g, { transA: !transA });
    return [ga && sumTo(ga, a.shape), gb && sumTo(gb, b.shape)];
  });
}

/**
 * y = x wᵀ + b (then relu) for x [N, in], w [out, in] (torch's layout), b [out]: one kernel
 * (bias and relu in the matmul's epilogue) instead of three, with the same bits as
 * relu(add(matmul(x, w, {transB}), b)), and the backward that composition would run.
 */
export function linear(x: Tensor, w: Tensor, b: Tensor | null, opts: { relu?: boolean } = {}): Tensor {
  checkOptions('linear', opts, { relu: bool });
  const relu = opts.relu ?? false;
  const what = () => `x ${shapeStr(x.shape)}, w ${shapeStr(w.shape)}${b ? `, b ${shapeStr(b.shape)}` : ''}`;
  if (x.rank !== 2 || w.rank !== 2 || x.shape[1] !== w.shape[1]) {
    throw new Error(`linear: expected x [N, in] and w [out, in] with the same in, got ${what()}`);
  }
  if (b && (b.rank !== 1 || b.shape[0] !== w.shape[0]))
    throw new Error(`linear: expected b [${w.shape[0]}], got ${what()}`);
  if (b && b.dtype !== 'f32') throw new Error(`linear: expected a float32 bias, got ${b.dtype}: ${what()}`);
  if (x.shape[1] === 0) {
    // nothing to multiply: the unfused composition handles the empty sum
    const z = b ? add(matmul(x, w, { transB: true }), b) : matmul(x, w, { transB: true });
    return relu ? reluOp(z) : z;
  }
  const y = matmulRaw(x, w, false, true, b, relu);
  return record(y, 'linear', b ? [x, w, b] : [x, w], (g, needs) => {
    // as relu(add(matmul(x, w, {transB}), b)) would: relu's mask (y > 0 iff x wᵀ + b > 0),
    // add's bias sum, matmul's two products
    const gz = relu ? reluGrad(g, y) : g;
    return [
      needs[0] ? matmul(gz, w) : null,
      needs[1] ? matmul(gz, x, { transA: true }) : null,
      b && needs[2] ? sumTo(gz, b.shape) : null,
    ];
  });
}
