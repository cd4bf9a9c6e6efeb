// 2-D convolution (NCHW, square stride and padding) and its two gradients. The three ops are
// bilinear and each one's backward is made of the other two, so gradients of any order work.
// 3x3 stride-1 convolutions with >= 8 channels run as Winograd F(m x m, 3x3) (transforms plus
// batched GEMMs), everything else as implicit GEMMs. Each GEMM has two kernels computing
// identical bits; engine/tune.ts picks one per adapter (shaders/conv.ts explains both).
import { config } from '../config.js';
import { noGrad, record } from '../autograd.js';
import { shapeStr, Tensor, tidy } from '../tensor.js';
import { dispatch, kernel, Params, type Kernel } from '../runtime.js';
import { deviceInfo } from '../device.js';
import { any, checkOptions, unsupported, type OptionSpec } from '../options.js';
import { pick } from '../tune.js';
import {
  bgemmRegisterKernel,
  bgemmSubgroupKernel,
  bgemmTiledKernel,
  convRegisterKernel,
  convTiledKernel,
  REG_WG,
  sumChunksKernel,
  TILES,
  winoGradOutputKernel,
  winoInputKernel,
  winoOutputKernel,
  winoWeightGradKernel,
  winoWeightKernel,
  type Tile,
  type ConvBlock,
  type ConvDir,
  type WinoM,
} from '../../shaders/conv.js';
import { groups1d } from './map.js';
import { zeros } from './create.js';
import { capturing, noteFlops } from '../capture.js';
import type { StoreHost } from '../fusion.js';
import { sum } from './reduce.js';
import { matmul } from './matmul.js';
import { reshape } from './shape.js';
import { add } from './elementwise.js';

// stride and padding are checked (with their own messages) where the geometry is worked out
const CONV_SPEC: OptionSpec = {
  stride: any,
  padding: any,
  dilation: unsupported('dilated convolutions are not implemented', [1]),
  groups: unsupported('grouped convolutions are not implemented', [1]),
};

export interface Conv2dOptions {
  /** default 1 */
  stride?: number;
  /** zero padding on every side, default 0 */
  padding?: number;
}

const VARIANTS = [
  { name: 'register', cpu: true },
  { name: 'tiled', cpu: false },
] as const;

// Winograd's batched GEMMs also have a 'subgroup' kernel (where subgroups have one fixed size):
// sg lanes share up to 32 rows, 4 columns each (the matmul's measured best shape on lavapipe);
// 1.6x the register kernel at 128 channels, about even at 16.
function winoVariants() {
  const sg = deviceInfo().subgroupSize;
  return sg && 32 % sg === 0 ? [{ name: 'subgroup', cpu: true }, ...VARIANTS] : VARIANTS;
}

const OP: Record<ConvDir, string> = { fwd: 'conv2d', dx: 'conv2dInputGrad', dw: 'conv2dWeightGrad' };

// 'register' blocks: rows are channels (output channels; input channels for the input
// gradient), columns pixels (weight entries for the weight gradient; tiles in Winograd). On
// lavapipe every storage load costs about as much as ten FMAs, so big blocks win: 12x8 and 16x8
// did ~12 GFLOP per CPU-second of two cores against ~10 for 8x8; 16x16 was no better and took
// 30 s to compile. Few rows (3 input channels) get 4x16 rather than idle rows, and one or two
// rows (a grey-scale image's input gradient, a one-channel output) get 1x16 or 2x16 (1.5-1.7x
// the 4x4 block there); small problems (tests, tiny layers) get 4x4 (1x4, 2x4 for one or two
// rows), which compiles in a fraction of the time: Chromium's SwiftShader took minutes over a
// 16-wide block, long enough for the GPU watchdog to drop the device. The block never changes
// an output's summation order, so every choice gives the same bits.
const BIG_FLOPS = 2 ** 24;
function block(rows: number, flops: number): ConvBlock {
  if (flops < BIG_FLOPS) return { bo: Math.min(rows, 4) <= 2 ? rows : 4, bp: 4 };
  if (rows <= 2) return { bo: rows, bp: 16 };
  if (rows <= 4) return { bo: 4, bp: 16 };
  return Math.ceil(rows / 12) * 12 <= rows * 1.05 ? { bo: 12, bp: 8 } : { bo: 8, bp: 8 };
}

/** Weight-gradient partial sums cover about this many output pixels each (images never split). */
const DW_CHUNK_PIXELS = 2048;

interface Geometry {
  N: number;
  C: number;
  H: number;
  W: number;
  O: number;
  kh: number;
  kw: number;
  Ho: number;
  Wo: number;
  s: number;
  p: number;
}

function stridePad(op: string, opts: Conv2dOptions): [number, number] {
  const s = opts.stride ?? 1;
  const p = opts.padding ?? 0;
  if (!Number.isInteger(s) || s < 1) throw new Error(`${op}: stride must be a positive integer, got ${s}`);
  if (!Number.isInteger(p) || p < 0) throw new Error(`${op}: padding must be a non-negative integer, got ${p}`);
  return [s, p];
}

function checkTensors(op: string, what: () => string, ...ts: Tensor[]): void {
  for (const t of ts) {
    if (t.dtype !== 'f32')
      throw new Error(`${op}: expected float32 tensors, got ${t.dtype} ${shapeStr(t.shape)}: ${what()}`);
  }
}

function checkShape(op: string, name: string, shape: readonly number[], what: () => string): void {
  if (shape.length !== 4 || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`${op}: ${name} must have rank 4 (NCHW / OIHW), got ${shapeStr(shape)}: ${what()}`);
  }
}

/** Validates an input shape and a weight shape; works out the output size. */
function geometry(
  op: string,
  xs: readonly number[],
  ws: readonly number[],
  opts: Conv2dOptions,
  what: () => string,
): Geometry {
  checkShape(op, 'the input', xs, what);
  checkShape(op, 'the weight', ws, what);
  const [s, p] = stridePad(op, opts);
  const [N, C, H, W] = xs;
  const [O, Cw, kh, kw] = ws;
  if (C !== Cw) throw new Error(`${op}: the input has ${C} channels but the weight expects ${Cw}: ${what()}`);
  if (kh < 1 || kw < 1) throw new Error(`${op}: empty kernel ${kh}x${kw}: ${what()}`);
  if (kh > H + 2 * p || kw > W + 2 * p) {
    throw new Error(`${op}: kernel ${kh}x${kw} is larger than the padded input ${H + 2 * p}x${W + 2 * p}: ${what()}`);
  }
  const Ho = Math.floor((H + 2 * p - kh) / s) + 1;
  const Wo = Math.floor((W + 2 * p - kw) / s) + 1;
  return { N, C, H, W, O, kh, kw, Ho, Wo, s, p };
}

function checkGradShape(op: string, gy: Tensor, g: Geometry, what: () => string): void {
  const want = [g.N, g.O, g.Ho, g.Wo];
  if (gy.shape.join() !== want.join()) {
    throw new Error(
      `${op}: the output gradient has shape ${shapeStr(gy.shape)}, expected ${shapeStr(want)}: ${what()}`,
    );
  }
}

const optsStr = (o: Conv2dOptions) => `stride ${o.stride ?? 1}, padding ${o.padding ?? 0}`;

// ---------- kernels and launch ----------

function convKernel(dir: ConvDir, variant: string, block: ConvBlock, tile: Tile): Kernel {
  const key =
    variant === 'tiled' ? `conv.${dir}.tiled:${tile.wx}x${tile.wy}` : `conv.${dir}.register:${block.bo}x${block.bp}`;
  return kernel(`${OP[dir]}.${variant}`, key, () =>
    variant === 'tiled' ? convTiledKernel(dir, tile) : convRegisterKernel(dir, block),
  );
}

/** A convolution's multiply-adds ×2, the same for its input and weight gradients. */
const convFlops = (g: Geometry) => 2 * g.N * g.Ho * g.Wo * g.O * g.C * g.kh * g.kw;

/** GEMM sizes of a direction: rows, columns, reduction length. */
function gemm(dir: ConvDir, g: Geometry): [number, number, number] {
  const khw = g.kh * g.kw;
  if (dir === 'fwd') return [g.N * g.Ho * g.Wo, g.O, khw * g.C];
  if (dir === 'dx') return [g.N * g.H * g.W, g.C, khw * g.O];
  return [g.O, g.C * khw, g.N * g.Ho * g.Wo];
}

/** Images per weight-gradient chunk (a function of the shape only, never of the variant). */
function dwChunk(g: Geometry): number {
  return Math.max(1, Math.min(g.N, Math.round(DW_CHUNK_PIXELS / (g.Ho * g.Wo))));
}

function params(g: Geometry, chunk: number, nt: number): Params {
  return new Params().u32(g.N, g.C, g.H, g.W, g.O, g.Ho, g.Wo, g.kh, g.kw, g.s, g.p, chunk, nt, 0, 0, 0);
}

/** Records one complete computation of `dir` with `variant` into `out` (chunk partials for dw). */
function launch(
  dir: ConvDir,
  variant: string,
  g: Geometry,
  inputs: Tensor[],
  out: Tensor,
  chunks: number,
  onTime?: (ns: number) => void,
) {
  const op = OP[dir];
  const [M, N, K] = gemm(dir, g);
  const blk = block(dir === 'dw' ? M : N, 2 * M * N * K);
  const tile = N <= 8 ? TILES.thin : TILES.wide;
  const k = convKernel(dir, variant, blk, tile);
  const bindings = [...inputs, out].map((t) => t.binding(op));
  const chunk = dwChunk(g);
  if (variant === 'tiled') {
    const nt = Math.ceil(N / (4 * tile.wx));
    const [gx, gy] = groups1d(Math.ceil(M / (4 * tile.wy)), 1);
    if (nt * chunks > 65535)
      throw new Error(
        `${op}: ${nt * chunks} workgroups in z exceed the limit of 65535 (${shapeStr([g.N, g.C, g.H, g.W])})`,
      );
    dispatch(k, bindings, params(g, chunk, nt), [gx, gy, nt * chunks], onTime);
  } else if (dir === 'dw') {
    const blocks = Math.ceil(N / blk.bp) * Math.ceil(M / blk.bo) * chunks;
    dispatch(k, bindings, params(g, chunk, chunks), groups1d(blocks, REG_WG), onTime);
  } else {
    // rows are channels (gid.z), columns pixels (flattened over x and y)
    const [gx, gy] = groups1d(Math.ceil(M / blk.bp), REG_WG);
    dispatch(k, bindings, params(g, chunk, 0), [gx, gy, Math.ceil(N / blk.bo)], onTime);
  }
}

// ---------- Winograd F(m x m, 3x3) (see shaders/conv.ts) ----------

/**
 * 3x3, stride 1 (padding <= 2, so that the input gradient's padding 2 - p exists), and enough
 * channels for the batched GEMMs to dominate the transforms. The results differ from the direct
 * kernels by rounding only.
 */
function useWinograd(g: Geometry): boolean {
  return g.kh === 3 && g.kw === 3 && g.s === 1 && g.p <= 2 && Math.min(g.C, g.O) >= 8;
}

/**
 * Tile size m. F(4x4) makes 36 products per 16 outputs (F(2x2): 64), ~1.7x faster on lavapipe,
 * but its transforms (entries up to 8, and 1/6) leave ~10x the rounding error of the direct sum
 * (still ~1e-6 of Σ|terms|): enough to make float32 finite differences noisy. So only big
 * problems (training layers, never gradchecks) get it, and only when its tiles fit the images.
 */
function winoM(g: Geometry, ho: number, wo: number): WinoM {
  const cost = (m: number) => Math.ceil(ho / m) * Math.ceil(wo / m) * (m + 2) ** 2;
  return 2 * g.N * g.O * g.C * g.Ho * g.Wo * 9 >= BIG_FLOPS && cost(4) <= cost(2) ? 4 : 2;
}

/** Elements of each transformed operand per chunk of images: 32 MB (ALR_CONV_WINO_CHUNK for tests). */
const winoChunkElements = () => config.convWinoChunk();

interface TileGrid {
  m: WinoM;
  /** tile positions (m + 2)² */
  xis: number;
  th: number;
  tw: number;
  /** images per chunk */
  nc: number;
  chunks: number;
}
/** Tiles over an ho x wo output; chunks of images whose transforms (xis x channels x tiles) fit. */
function tileGrid(m: WinoM, n: number, ho: number, wo: number, channels: number): TileGrid {
  const th = Math.ceil(ho / m);
  const tw = Math.ceil(wo / m);
  const xis = (m + 2) ** 2;
  const nc = Math.max(1, Math.min(n, Math.floor(winoChunkElements() / (xis * channels * th * tw))));
  return { m, xis, th, tw, nc, chunks: Math.ceil(n / nc) };
}

/** Transform-kernel uniforms: channels, input size and padding, output size, tile grid, chunk. */
function winoParams(
  ch: number,
  h: number,
  w: number,
  pad: number,
  ho: number,
  wo: number,
  t: TileGrid,
  n0: number,
  tiles: number,
) {
  return new Params().u32(ch, h, w, pad, ho, wo, t.th, t.tw, n0, tiles, ch * tiles, 0);
}

interface Bgemm {
  m: number;
  n: number;
  k: number;
  /** element strides of A (batch, row, k) and B (batch, k, column) */
  a: [number, number, number];
  b: [number, number, number];
  /** element offset of C in its buffer */
  co: number;
}

/** The (m + 2)² GEMMs of one chunk, with `variant`. */
function bgemm(
  op: string,
  variant: string,
  bs: number,
  A: Tensor,
  B: Tensor,
  C: Tensor,
  d: Bgemm,
  onTime?: (ns: number) => void,
): void {
  const bindings = [A, B, C].map((t) => t.binding(op));
  const params = (nt: number) => new Params().u32(d.m, d.n, d.k, nt, ...d.a, ...d.b, d.co, bs);
  if (variant === 'tiled') {
    const tile = d.n <= 8 ? TILES.thin : TILES.wide;
    const [ak, bk] = [d.a[2] === 1, d.b[1] === 1];
    const k = kernel(`${op}.winograd.tiled`, `conv.wino.gemm.tiled:${tile.wx}x${tile.wy}:${+ak}${+bk}`, () =>
      bgemmTiledKernel(tile, ak, bk),
    );
    const nt = Math.ceil(d.n / (4 * tile.wx));
    const [gx, gy] = groups1d(Math.ceil(d.m / (4 * tile.wy)), 1);
    dispatch(k, bindings, params(nt), [gx, gy, nt * bs], onTime);
  } else if (variant === 'subgroup') {
    const sg = deviceInfo().subgroupSize;
    const blk = { bo: Math.min(32, Math.ceil(d.m / sg) * sg), bp: 4 };
    const k = kernel(`${op}.winograd.subgroup`, `conv.wino.gemm.subgroup:${blk.bo}x${blk.bp}:${sg}`, () =>
      bgemmSubgroupKernel(blk, sg),
    );
    const groups = Math.ceil(d.n / (sg * blk.bp)) * Math.ceil(d.m / blk.bo) * bs;
    dispatch(k, bindings, params(0), groups1d(groups, 1), onTime);
  } else {
    const blk = block(d.m, 2 * bs * d.m * d.n * d.k);
    const k = kernel(`${op}.winograd.register`, `conv.wino.gemm.register:${blk.bo}x${blk.bp}`, () =>
      bgemmRegisterKernel(blk),
    );
    const blocks = Math.ceil(d.n / blk.bp) * Math.ceil(d.m / blk.bo) * bs;
    dispatch(k, bindings, params(0), groups1d(blocks, REG_WG), onTime);
  }
}

/**
 * Forward (x, w, bias -> y) or input gradient (gy, w -> dx, the forward convolution of gy with
 * the flipped, transposed weight and padding 2 - p): `rows` result channels from K source ones.
 */
function winoConv(
  dir: 'fwd' | 'dx',
  variant: string,
  g: Geometry,
  inputs: Tensor[],
  out: Tensor,
  onTime?: (ns: number) => void,
) {
  const op = OP[dir];
  const fwd = dir === 'fwd';
  const [src, w] = inputs;
  // source image (channels K, size h x w, padding) and result (channels rows, size ho x wo)
  const [K, h, wd, pad] = fwd ? [g.C, g.H, g.W, g.p] : [g.O, g.Ho, g.Wo, 2 - g.p];
  const [rows, ho, wo] = fwd ? [g.O, g.Ho, g.Wo] : [g.C, g.H, g.W];
  const t = tileGrid(winoM(g, ho, wo), g.N, ho, wo, Math.max(K, rows));
  const U = Tensor.empty([t.xis, K, rows]);
  const wk = kernel(`${op}.winograd.weight`, `conv.wino${t.m}.weight:kMajor:${+!fwd}`, () =>
    winoWeightKernel(t.m, !fwd),
  );
  dispatch(wk, [w.binding(op), U.binding(op)], new Params().u32(rows, K, rows * K, 0), groups1d(rows * K, 64));
  const ik = kernel(`${op}.winograd.input`, `conv.wino${t.m}.input`, () => winoInputKernel(t.m));
  const ok = kernel(`${op}.winograd.output`, `conv.wino${t.m}.output:${+fwd}`, () => winoOutputKernel(t.m, fwd));
  for (let c = 0; c < t.chunks; c++) {
    const n0 = c * t.nc;
    const T = (Math.min(g.N, n0 + t.nc) - n0) * t.th * t.tw;
    const V = Tensor.empty([t.xis, K, T]);
    dispatch(ik, [src.binding(op), V.binding(op)], winoParams(K, h, wd, pad, ho, wo, t, n0, T), groups1d(K * T, 64));
    const M = Tensor.empty([t.xis, rows, T]);
    const d: Bgemm = { m: rows, n: T, k: K, a: [rows * K, 1, rows], b: [K * T, T, 1], co: 0 };
    bgemm(op, variant, t.xis, U, V, M, d, c === 0 ? onTime : undefined);
    const outs = fwd ? [M, inputs[2], out] : [M, out];
    const bindings = outs.map((x) => x.binding(op));
    // one chunk writes the whole output: a captured step may run a map of it in these stores
    const stores: StoreHost | undefined =
      capturing() && t.chunks === 1
        ? {
            out: bindings[bindings.length - 1].buffer,
            outElements: out.size,
            withStore: (st) =>
              kernel(`${op}.winograd.output`, `conv.wino${t.m}.output:${+fwd}|${st.code}`, () =>
                winoOutputKernel(t.m, fwd, st),
              ),
          }
        : undefined;
    dispatch(
      ok,
      bindings,
      winoParams(rows, 0, 0, 0, ho, wo, t, n0, T),
      groups1d(rows * T, 64),
      undefined,
      stores && { stores },
    );
    V.dispose();
    M.dispose();
  }
  U.dispose();
}

/** Weight gradient: per chunk dU = (A gy Aᵀ) · (Bᵀ x B)ᵀ over tiles, then dw = Gᵀ Σ dU G. */
function winoWeightGrad(variant: string, g: Geometry, inputs: Tensor[], out: Tensor, onTime?: (ns: number) => void) {
  const op = OP.dw;
  const [x, gy] = inputs;
  const t = tileGrid(winoM(g, g.Ho, g.Wo), g.N, g.Ho, g.Wo, Math.max(g.C, g.O));
  const dU = Tensor.empty([t.chunks, t.xis, g.O, g.C]);
  // both transforms tile-major ([ξ, tile, channel]): the GEMM sums over tiles, and its lanes
  // (neighbouring channels) then read neighbouring addresses; the sum's order is unchanged
  const ik = kernel(`${op}.winograd.input`, `conv.wino${t.m}.input:tileMajor`, () => winoInputKernel(t.m, true));
  const gk = kernel(`${op}.winograd.gradOutput`, `conv.wino${t.m}.gradOutput:tileMajor`, () =>
    winoGradOutputKernel(t.m, true),
  );
  for (let c = 0; c < t.chunks; c++) {
    const n0 = c * t.nc;
    const T = (Math.min(g.N, n0 + t.nc) - n0) * t.th * t.tw;
    const V = Tensor.empty([t.xis, T, g.C]);
    dispatch(
      ik,
      [x.binding(op), V.binding(op)],
      winoParams(g.C, g.H, g.W, g.p, g.Ho, g.Wo, t, n0, T),
      groups1d(g.C * T, 64),
    );
    const dM = Tensor.empty([t.xis, T, g.O]);
    dispatch(
      gk,
      [gy.binding(op), dM.binding(op)],
      winoParams(g.O, 0, 0, 0, g.Ho, g.Wo, t, n0, T),
      groups1d(g.O * T, 64),
    );
    const d: Bgemm = { m: g.O, n: g.C, k: T, a: [g.O * T, 1, g.O], b: [g.C * T, g.C, 1], co: c * t.xis * g.O * g.C };
    bgemm(op, variant, t.xis, dM, V, dU, d, c === 0 ? onTime : undefined);
    V.dispose();
    dM.dispose();
  }
  const fk = kernel(`${op}.winograd.weightGrad`, `conv.wino${t.m}.weightGrad`, () => winoWeightGradKernel(t.m));
  dispatch(fk, [dU.binding(op), out.binding(op)], new Params().u32(g.O * g.C, t.chunks, 0, 0), groups1d(g.O * g.C, 64));
  dU.dispose();
}

/** Runs `dir` through the variant picker; returns the result tensor. */
function run(dir: ConvDir, g: Geometry, inputs: Tensor[], outShape: number[]): Tensor {
  const out = Tensor.empty(outShape);
  if (out.size === 0) return out;
  const [M, N, K] = gemm(dir, g);
  if (dir === 'dw' && K === 0) {
    // no images: nothing to sum (the other directions' kernels handle empty sums themselves)
    out.dispose();
    return zeros(outShape);
  }
  const classKey = `${g.N}x${g.C}x${g.H}x${g.W}:${g.O}x${g.kh}x${g.kw}:s${g.s}p${g.p}`;
  if (useWinograd(g)) {
    pick(OP[dir], classKey, winoVariants(), (variant, onTime) =>
      dir === 'dw' ? winoWeightGrad(variant, g, inputs, out, onTime) : winoConv(dir, variant, g, inputs, out, onTime),
    );
    noteFlops(convFlops(g));
    return out;
  }
  const chunks = dir === 'dw' ? Math.ceil(g.N / dwChunk(g)) : 1;
  const target = chunks > 1 ? Tensor.empty([chunks, M, N]) : out;
  pick(OP[dir], classKey, VARIANTS, (variant, onTime) => launch(dir, variant, g, inputs, target, chunks, onTime));
  if (chunks > 1) {
    const n = M * N;
    dispatch(
      kernel('conv2dWeightGrad.sum', 'conv.dw.sum', sumChunksKernel),
      [target.binding(OP[dir]), out.binding(OP[dir])],
      new Params().u32(n, chunks),
      groups1d(n, 256),
    );
    target.dispose();
  }
  noteFlops(convFlops(g));
  return out;
}

/**
 * 1x1, stride 1, no padding: per image a plain matrix product over pixels, which the matmul
 * kernels do 4-5x faster than the implicit GEMMs on lavapipe (subgroup variant).
 */
const isPointwise = (g: Geometry) => g.kh === 1 && g.kw === 1 && g.s === 1 && g.p === 0;

function pointwise(dir: ConvDir, g: Geometry, inputs: Tensor[], bias: Tensor | null): Tensor {
  const hw = g.H * g.W;
  return noGrad(() =>
    tidy(() => {
      if (dir === 'fwd') {
        const [x, w] = inputs;
        const y = matmul(reshape(w, [g.O, g.C]), reshape(x, [g.N, g.C, hw]));
        return reshape(bias ? add(y, reshape(bias, [g.O, 1])) : y, [g.N, g.O, g.H, g.W]);
      }
      if (dir === 'dx') {
        const [gy, w] = inputs;
        return reshape(matmul(reshape(w, [g.O, g.C]), reshape(gy, [g.N, g.O, hw]), { transA: true }), [
          g.N,
          g.C,
          g.H,
          g.W,
        ]);
      }
      // per-image products [N, O, C], summed over images
      const [x, gy] = inputs;
      const perImage = matmul(reshape(gy, [g.N, g.O, hw]), reshape(x, [g.N, g.C, hw]), { transB: true });
      return reshape(sum(perImage, 0), [g.O, g.C, 1, 1]);
    }),
  );
}

// ---------- public ops ----------

/**
 * Cross-correlation of x [N, C, H, W] with w [O, C, kh, kw] (PyTorch's conv2d), plus bias [O].
 * Output [N, O, Ho, Wo], Ho = floor((H + 2·padding - kh) / stride) + 1.
 */
export function conv2d(x: Tensor, w: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  checkOptions('conv2d', opts, CONV_SPEC);
  const what = () =>
    `x ${shapeStr(x.shape)}, w ${shapeStr(w.shape)}${bias ? `, bias ${shapeStr(bias.shape)}` : ''}, ${optsStr(opts)}`;
  checkTensors('conv2d', what, x, w, ...(bias ? [bias] : []));
  const g = geometry('conv2d', x.shape, w.shape, opts, what);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== g.O)) {
    throw new Error(`conv2d: bias must have shape [${g.O}], got ${shapeStr(bias.shape)}: ${what()}`);
  }
  let y: Tensor;
  if (isPointwise(g)) {
    y = pointwise('fwd', g, [x, w], bias ?? null);
  } else {
    const b = bias ?? zeros([g.O]);
    y = run('fwd', g, [x, w, b], [g.N, g.O, g.Ho, g.Wo]);
    if (!bias) b.dispose();
  }
  const inputs = bias ? [x, w, bias] : [x, w];
  return record(y, 'conv2d', inputs, (gy, needs) => [
    needs[0] ? conv2dInputGrad(gy, w, x.shape, opts) : null,
    needs[1] ? conv2dWeightGrad(x, gy, w.shape, opts) : null,
    ...(bias ? [needs[2] ? sum(gy, [0, 2, 3]) : null] : []),
  ]);
}

/**
 * The gradient of conv2d with respect to its input (a transposed convolution): gy [N, O, Ho, Wo]
 * and w [O, C, kh, kw] give [N, C, H, W] = inputShape (which settles the stride's rounding).
 */
export function conv2dInputGrad(
  gy: Tensor,
  w: Tensor,
  inputShape: readonly number[],
  opts: Conv2dOptions = {},
): Tensor {
  checkOptions('conv2dInputGrad', opts, CONV_SPEC);
  const op = 'conv2dInputGrad';
  const what = () =>
    `gy ${shapeStr(gy.shape)}, w ${shapeStr(w.shape)}, input ${shapeStr(inputShape)}, ${optsStr(opts)}`;
  checkTensors(op, what, gy, w);
  const g = geometry(op, inputShape, w.shape, opts, what);
  checkGradShape(op, gy, g, what);
  const dx = isPointwise(g) ? pointwise('dx', g, [gy, w], null) : run('dx', g, [gy, w], [g.N, g.C, g.H, g.W]);
  return record(dx, op, [gy, w], (gg, needs) => [
    needs[0] ? conv2d(gg, w, null, opts) : null,
    needs[1] ? conv2dWeightGrad(gg, gy, w.shape, opts) : null,
  ]);
}

/**
 * The gradient of conv2d with respect to its weight: x [N, C, H, W] and gy [N, O, Ho, Wo] give
 * [O, C, kh, kw] = weightShape.
 */
export function conv2dWeightGrad(
  x: Tensor,
  gy: Tensor,
  weightShape: readonly number[],
  opts: Conv2dOptions = {},
): Tensor {
  checkOptions('conv2dWeightGrad', opts, CONV_SPEC);
  const op = 'conv2dWeightGrad';
  const what = () =>
    `x ${shapeStr(x.shape)}, gy ${shapeStr(gy.shape)}, weight ${shapeStr(weightShape)}, ${optsStr(opts)}`;
  checkTensors(op, what, x, gy);
  const g = geometry(op, x.shape, weightShape, opts, what);
  checkGradShape(op, gy, g, what);
  const dw = isPointwise(g) ? pointwise('dw', g, [x, gy], null) : run('dw', g, [x, gy], [g.O, g.C, g.kh, g.kw]);
  return record(dw, op, [x, gy], (gg, needs) => [
    needs[0] ? conv2dInputGrad(gy, gg, x.shape, opts) : null,
    needs[1] ? conv2d(x, gg, null, opts) : null,
  ]);
}
