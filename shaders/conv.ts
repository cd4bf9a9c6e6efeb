// 2-D convolution (NCHW) kernels, forward and both gradients, in two families:
//  - implicit GEMMs for any kernel, stride and padding (below); nothing is im2col'd, every
//    kernel gathers its operands straight from the NCHW tensors;
//  - Winograd F(2x2, 3x3) / F(4x4, 3x3) for 3x3 stride-1 convolutions (the end of the file).
//
//   forward     y[n,o,p]     = Σ_k w[o,k] · x(n,p; k) + bias[o]       k = (ky, kx, c)
//   input grad  dx[n,c,p]    = Σ_k w[o,c,ky,kx] · gy(n,p; k)          k = (ky, kx, o)
//   weight grad dw[o,q]      = Σ_chunk Σ_k gy[n,o,r] · x(n,r; q)      k = (n, oy, ox), q = (c, ky, kx)
//
// Every output element is summed as `acc = fma(a, b, acc)` over its k in exactly the listed
// (lexicographic) order, taps that fall into the padding (or between the strides of the input
// gradient) included as zeros, so the 'register' and 'tiled' kernels of a direction agree bit
// for bit. The weight gradient sums chunks of images separately (for parallelism over the
// long N·Ho·Wo axis) and then adds the partials in chunk order.
//
// 'register' is for CPU adapters (lavapipe): no workgroup memory, no barriers; each invocation
// owns a block of outputs. Lavapipe scalarises every storage load per SIMD lane (about ten
// instructions and three branches each), so loads, not FMAs, are the cost: blocks are sized so
// each loaded value feeds as many FMAs as registers allow.
// 'tiled' is for GPUs: output tiles (64x64, or 128x4 for thin problems) staged through workgroup
// memory in K steps of 16.

import { read, write, type BufferDecl, type KernelDecl } from './kernel.js';

export type ConvDir = 'fwd' | 'dx' | 'dw';

/** Uniform block shared by every conv kernel (16 u32). */
export const PARAMS = `n: u32, c: u32, h: u32, w: u32,
  o: u32, ho: u32, wo: u32, kh: u32,
  kw: u32, s: u32, pad: u32, chunk: u32,   // chunk: images per weight-gradient partial sum
  nt: u32, _p0: u32, _p1: u32, _p2: u32,    // nt: N tiles (tiled), chunks (register weight grad)`;

/** Storage bindings per direction (inputs, then the output). */
export const BINDINGS: Record<ConvDir, string[]> = {
  fwd: ['x', 'wt', 'bias', 'y'],
  dx: ['gy', 'wt', 'dx'],
  dw: ['x', 'gy', 'dw'],
};

/** A direction's storage buffers: its inputs, then the output. */
const buffers = (dir: ConvDir): BufferDecl[] =>
  BINDINGS[dir].map((b, i, all) => (i === all.length - 1 ? write(b) : read(b)));

const R = (n: number) => [...Array(n).keys()];
const lines = (n: number, f: (i: number) => string) => R(n).map(f).join('\n');

/** Register-block geometry: `bo` rows (channels) by `bp` columns (pixels or weight entries). */
export interface ConvBlock {
  bo: number;
  bp: number;
}

/** Invocations per workgroup of the register kernels (8 to 128 measured the same on lavapipe). */
export const REG_WG = 64;

/** A register kernel of direction `dir` (flat invocation index from gid and nwg). */
const register = (dir: ConvDir, body: string): KernelDecl => ({
  params: PARAMS,
  buffers: buffers(dir),
  workgroup: REG_WG,
  body,
});

/**
 * The innermost reduction loop. `load` declares a step's operands r{i} (rows) and c{j}
 * (columns); `advance` moves the running offsets to the next step. (Unrolling it, with the
 * steps as one nested fma chain per accumulator, measured slower on lavapipe.)
 */
function innerLoop(v: string, bound: string, b: ConvBlock, load: string[], advance: string[]): string {
  const body = [...load];
  for (const i of R(b.bo)) for (const j of R(b.bp)) body.push(`a${i}_${j} = fma(r${i}, c${j}, a${i}_${j});`);
  body.push(...advance);
  return `      for (var ${v} = 0u; ${v} < ${bound}; ${v}++) {\n${body.map((l) => `        ${l}`).join('\n')}\n      }`;
}

const accs = (b: ConvBlock) =>
  R(b.bo)
    .flatMap((i) => R(b.bp).map((j) => `  var a${i}_${j} = 0.0;`))
    .join('\n');

/**
 * Forward, register: an invocation computes bo output channels x bp consecutive output pixels
 * (flattened over N·Ho·Wo); the channel block is gid.z.
 */
function fwdRegister(b: ConvBlock): KernelDecl {
  const { bo, bp } = b;
  return register(
    'fwd',
    `
  let pb = (gid.x + gid.y * nwg.x * ${REG_WG}u) * ${bp}u;
  let o0 = gid.z * ${bo}u;
  let hw = u.h * u.w;
  let howo = u.ho * u.wo;
  let khw = u.kh * u.kw;
  let np = u.n * howo;
${lines(
  bp,
  (j) => `  let p${j} = min(pb + ${j}u, np - 1u);
  let r${j} = p${j} % howo;
  let n${j} = p${j} / howo;
  let iy${j} = i32((r${j} / u.wo) * u.s) - i32(u.pad);
  let ix${j} = i32((r${j} % u.wo) * u.s) - i32(u.pad);
  let xb${j} = n${j} * u.c * hw;`,
)}
${lines(bo, (i) => `  let wb${i} = min(o0 + ${i}u, u.o - 1u) * u.c * khw;`)}
${accs(b)}
  for (var ky = 0u; ky < u.kh; ky++) {
    for (var kx = 0u; kx < u.kw; kx++) {
${lines(
  bp,
  (j) => `      let y${j} = iy${j} + i32(ky);
      let x${j} = ix${j} + i32(kx);
      let v${j} = y${j} >= 0 && y${j} < i32(u.h) && x${j} >= 0 && x${j} < i32(u.w);
      var xo${j} = select(0u, xb${j} + u32(y${j}) * u.w + u32(x${j}), v${j});`,
)}
      var wo = ky * u.kw + kx;
${innerLoop(
  'c',
  'u.c',
  b,
  [
    ...R(bp).map((j) => `let c${j} = select(0.0, x[xo${j}], v${j});`),
    ...R(bo).map((i) => `let r${i} = wt[wb${i} + wo];`),
  ],
  [...R(bp).map((j) => `xo${j} += hw;`), 'wo += khw;'],
)}
    }
  }
${lines(bo, (i) => `  let bias${i} = bias[min(o0 + ${i}u, u.o - 1u)];`)}
${lines(
  bp,
  (j) => `  if (pb + ${j}u < np) {
    let ob = n${j} * u.o * howo + r${j};
${lines(bo, (i) => `    if (o0 + ${i}u < u.o) { y[ob + (o0 + ${i}u) * howo] = a${i}_${j} + bias${i}; }`)}
  }`,
)}
`,
  );
}

/**
 * Input gradient, register: an invocation computes bo input channels x bp consecutive input
 * pixels (flattened over N·H·W), walking every tap and gathering the upstream gradient where the
 * tap lands on an output pixel (in range and on the stride grid), zero elsewhere.
 */
function dxRegister(b: ConvBlock): KernelDecl {
  const { bo, bp } = b;
  return register(
    'dx',
    `
  let pb = (gid.x + gid.y * nwg.x * ${REG_WG}u) * ${bp}u;
  let c0 = gid.z * ${bo}u;
  let hw = u.h * u.w;
  let howo = u.ho * u.wo;
  let khw = u.kh * u.kw;
  let ckhw = u.c * khw;
  let np = u.n * hw;
${lines(
  bp,
  (j) => `  let p${j} = min(pb + ${j}u, np - 1u);
  let r${j} = p${j} % hw;
  let n${j} = p${j} / hw;
  let ty${j} = i32(r${j} / u.w) + i32(u.pad);
  let tx${j} = i32(r${j} % u.w) + i32(u.pad);
  let gb${j} = n${j} * u.o * howo;`,
)}
${lines(bo, (i) => `  let wb${i} = min(c0 + ${i}u, u.c - 1u) * khw;`)}
${accs(b)}
  for (var ky = 0u; ky < u.kh; ky++) {
    for (var kx = 0u; kx < u.kw; kx++) {
${lines(
  bp,
  (j) => `      let sy${j} = ty${j} - i32(ky);
      let sx${j} = tx${j} - i32(kx);
      let oy${j} = u32(max(sy${j}, 0)) / u.s;
      let ox${j} = u32(max(sx${j}, 0)) / u.s;
      let v${j} = sy${j} >= 0 && sx${j} >= 0 && oy${j} * u.s == u32(sy${j}) && ox${j} * u.s == u32(sx${j}) && oy${j} < u.ho && ox${j} < u.wo;
      var go${j} = select(0u, gb${j} + oy${j} * u.wo + ox${j}, v${j});`,
)}
      var wo = ky * u.kw + kx;
${innerLoop(
  'o',
  'u.o',
  b,
  [
    ...R(bp).map((j) => `let c${j} = select(0.0, gy[go${j}], v${j});`),
    ...R(bo).map((i) => `let r${i} = wt[wb${i} + wo];`),
  ],
  [...R(bp).map((j) => `go${j} += howo;`), 'wo += ckhw;'],
)}
    }
  }
${lines(
  bp,
  (j) => `  if (pb + ${j}u < np) {
    let ob = n${j} * u.c * hw + r${j};
${lines(bo, (i) => `    if (c0 + ${i}u < u.c) { dx[ob + (c0 + ${i}u) * hw] = a${i}_${j}; }`)}
  }`,
)}
`,
  );
}

/**
 * Weight gradient, register: an invocation computes bo output channels x bp consecutive weight
 * entries q = (c, ky, kx) for one chunk of images, summing over those images' output pixels.
 * Output: partial sums [chunks (u.nt), O, C·kh·kw]. Surplus invocations compute the last block
 * again but write nothing.
 */
function dwRegister(b: ConvBlock): KernelDecl {
  const { bo, bp } = b;
  return register(
    'dw',
    `
  let khw = u.kh * u.kw;
  let nq = u.c * khw;
  // one flat index over (q block, o block, chunk), q fastest: no idle lanes when C·kh·kw is small
  let nqb = (nq + ${bp - 1}u) / ${bp}u;
  let nob = (u.o + ${bo - 1}u) / ${bo}u;
  let flat = gid.x + gid.y * nwg.x * ${REG_WG}u;
  let live = flat < nqb * nob * u.nt;
  let idx = min(flat, nqb * nob * u.nt - 1u);
  let qb = (idx % nqb) * ${bp}u;
  let o0 = ((idx / nqb) % nob) * ${bo}u;
  let chunk = idx / (nqb * nob);
  let hw = u.h * u.w;
  let howo = u.ho * u.wo;
${lines(
  bp,
  (j) => `  let q${j} = min(qb + ${j}u, nq - 1u);
  let t${j} = q${j} % khw;
  let xc${j} = (q${j} / khw) * hw;
  let dy${j} = i32(t${j} / u.kw) - i32(u.pad);
  let dx${j} = i32(t${j} % u.kw) - i32(u.pad);`,
)}
${lines(bo, (i) => `  let gb${i} = min(o0 + ${i}u, u.o - 1u) * howo;`)}
${accs(b)}
  let n0 = chunk * u.chunk;
  let n1 = min(n0 + u.chunk, u.n);
  for (var n = n0; n < n1; n++) {
    let xn = n * u.c * hw;
    let gn = n * u.o * howo;
    for (var oy = 0u; oy < u.ho; oy++) {
      let gr = gn + oy * u.wo;
${lines(
  bp,
  (j) => `      let y${j} = i32(oy * u.s) + dy${j};
      let rv${j} = y${j} >= 0 && y${j} < i32(u.h);
      let xr${j} = xn + xc${j} + u32(y${j}) * u.w;`,
)}
${innerLoop(
  'ox',
  'u.wo',
  b,
  [
    ...R(bp).map(
      (j) => `let x${j} = i32(ox * u.s) + dx${j};
        let v${j} = rv${j} && x${j} >= 0 && x${j} < i32(u.w);
        let c${j} = select(0.0, x[select(0u, xr${j} + u32(x${j}), v${j})], v${j});`,
    ),
    ...R(bo).map((i) => `let r${i} = gy[gb${i} + gr + ox];`),
  ],
  [],
)}
    }
  }
  let ob = chunk * u.o * nq;
${lines(
  bp,
  (j) => `  if (live && qb + ${j}u < nq) {
${lines(bo, (i) => `    if (o0 + ${i}u < u.o) { dw[ob + (o0 + ${i}u) * nq + q${j}] = a${i}_${j}; }`)}
  }`,
)}
`,
  );
}

export function convRegisterKernel(dir: ConvDir, block: ConvBlock): KernelDecl {
  return dir === 'fwd' ? fwdRegister(block) : dir === 'dx' ? dxRegister(block) : dwRegister(block);
}

/**
 * Geometry of a tiled kernel: wx x wy invocations of 4x4 outputs, so 4wy rows by 4wx columns per
 * workgroup, K steps of 16. 'wide' (64x64) is the usual; 'thin' (128x4) serves GEMMs with a
 * handful of columns (an input gradient with 3 input channels) without idling 60 of 64 columns.
 */
export interface Tile {
  wx: number;
  wy: number;
}
export const TILES = { wide: { wx: 16, wy: 16 }, thin: { wx: 1, wy: 32 } } as const satisfies Record<string, Tile>;
export const TILE_K = 16;

/**
 * Per direction, the implicit GEMM C[M, N] = Σ_k A(m, k) · B(k, n): its sizes and WGSL bodies
 * of `fn loadA(m, k) -> f32`, `fn loadB(k, n) -> f32` (zero outside) and `fn store(m, n, acc)`.
 * `z` is the weight gradient's chunk.
 */
interface Gemm {
  M: string;
  N: string;
  K: string;
  a: string;
  b: string;
  store: string;
  /** the operand is contiguous along k: neighbouring invocations stage neighbouring k */
  aAlongK: boolean;
  bAlongK: boolean;
}
const GEMM: Record<ConvDir, Gemm> = {
  fwd: {
    aAlongK: false,
    bAlongK: true,
    M: 'u.n * u.ho * u.wo',
    N: 'u.o',
    K: 'u.kh * u.kw * u.c',
    a: `let howo = u.ho * u.wo;
  let r = m % howo;
  let nimg = m / howo;
  let tap = k / u.c;
  let c = k % u.c;
  let iy = i32((r / u.wo) * u.s + tap / u.kw) - i32(u.pad);
  let ix = i32((r % u.wo) * u.s + tap % u.kw) - i32(u.pad);
  if (iy < 0 || iy >= i32(u.h) || ix < 0 || ix >= i32(u.w)) { return 0.0; }
  return x[((nimg * u.c + c) * u.h + u32(iy)) * u.w + u32(ix)];`,
    b: `return wt[(n * u.c + k % u.c) * u.kh * u.kw + k / u.c];`,
    store: `let howo = u.ho * u.wo;
  y[((m / howo) * u.o + n) * howo + m % howo] = acc + bias[n];`,
  },
  dx: {
    aAlongK: false,
    bAlongK: false,
    M: 'u.n * u.h * u.w',
    N: 'u.c',
    K: 'u.kh * u.kw * u.o',
    a: `let hw = u.h * u.w;
  let r = m % hw;
  let nimg = m / hw;
  let tap = k / u.o;
  let o = k % u.o;
  let sy = i32(r / u.w + u.pad) - i32(tap / u.kw);
  let sx = i32(r % u.w + u.pad) - i32(tap % u.kw);
  if (sy < 0 || sx < 0) { return 0.0; }
  let oy = u32(sy) / u.s;
  let ox = u32(sx) / u.s;
  if (oy * u.s != u32(sy) || ox * u.s != u32(sx) || oy >= u.ho || ox >= u.wo) { return 0.0; }
  return gy[((nimg * u.o + o) * u.ho + oy) * u.wo + ox];`,
    b: `return wt[((k % u.o) * u.c + n) * u.kh * u.kw + k / u.o];`,
    store: `let hw = u.h * u.w;
  dx[((m / hw) * u.c + n) * hw + m % hw] = acc;`,
  },
  dw: {
    aAlongK: true,
    bAlongK: true,
    M: 'u.o',
    N: 'u.c * u.kh * u.kw',
    K: '(min(z * u.chunk + u.chunk, u.n) - z * u.chunk) * u.ho * u.wo',
    a: `let howo = u.ho * u.wo;
  return gy[((z * u.chunk + k / howo) * u.o + m) * howo + k % howo];`,
    b: `let howo = u.ho * u.wo;
  let r = k % howo;
  let nimg = z * u.chunk + k / howo;
  let khw = u.kh * u.kw;
  let c = n / khw;
  let tap = n % khw;
  let iy = i32((r / u.wo) * u.s + tap / u.kw) - i32(u.pad);
  let ix = i32((r % u.wo) * u.s + tap % u.kw) - i32(u.pad);
  if (iy < 0 || iy >= i32(u.h) || ix < 0 || ix >= i32(u.w)) { return 0.0; }
  return x[((nimg * u.c + c) * u.h + u32(iy)) * u.w + u32(ix)];`,
    store: `let nq = u.c * u.kh * u.kw;
  dw[(z * u.o + m) * nq + n] = acc;`,
  },
};

/** Splits a staging index e into (row, kk), k fastest or row fastest. */
const stage = (alongK: boolean, rows: number, bk: number, row: string) =>
  alongK ? `let kk = e % ${bk}u; let ${row} = e / ${bk}u;` : `let ${row} = e % ${rows}u; let kk = e / ${rows}u;`;

/**
 * Tiled: a workgroup owns a tile of C; per K step it stages A and B slices in workgroup memory;
 * invocation (lx, ly) owns rows 4ly.., columns 4lx.. of the tile. Workgroup index:
 * M tile = wid.x + wid.y · nwg.x; wid.z = N tile + u.nt · chunk.
 */
export function convTiledKernel(dir: ConvDir, tile: Tile): KernelDecl {
  return tiled(PARAMS, buffers(dir), GEMM[dir], tile);
}

function tiled(params: string, bufs: BufferDecl[], g: Gemm, tile: Tile): KernelDecl {
  const { wx, wy } = tile;
  const [bm, bn, bk] = [4 * wy, 4 * wx, TILE_K];
  const threads = wx * wy;
  return {
    params,
    buffers: bufs,
    workgroup: [wx, wy],
    builtins: ['wid', 'nwg', 'lid'],
    prelude: `var<workgroup> As: array<f32, ${bk * bm}>;
var<workgroup> Bs: array<f32, ${bk * bn}>;

fn loadA(m: u32, k: u32, z: u32) -> f32 {
  ${g.a}
}
fn loadB(k: u32, n: u32, z: u32) -> f32 {
  ${g.b}
}
fn store(m: u32, n: u32, z: u32, acc: f32) {
  ${g.store}
}`,
    body: `
  let z = wid.z / u.nt;
  let M = ${g.M};
  let N = ${g.N};
  let K = ${g.K};
  let tileM = (wid.x + wid.y * nwg.x) * ${bm}u;
  let tileN = (wid.z % u.nt) * ${bn}u;
  let t = lid.y * ${wx}u + lid.x;
${R(4)
  .flatMap((i) => R(4).map((j) => `  var a${i}_${j} = 0.0;`))
  .join('\n')}
  for (var k0 = 0u; k0 < K; k0 += ${bk}u) {
    for (var e = t; e < ${bk * bm}u; e += ${threads}u) {
      ${stage(g.aAlongK, bm, bk, 'mm')}
      let m = tileM + mm;
      let k = k0 + kk;
      var v = 0.0;
      if (m < M && k < K) { v = loadA(m, k, z); }
      As[kk * ${bm}u + mm] = v;
    }
    for (var e = t; e < ${bk * bn}u; e += ${threads}u) {
      ${stage(g.bAlongK, bn, bk, 'nn')}
      let n = tileN + nn;
      let k = k0 + kk;
      var v = 0.0;
      if (n < N && k < K) { v = loadB(k, n, z); }
      Bs[kk * ${bn}u + nn] = v;
    }
    workgroupBarrier();
    // only the K - k0 real steps: the sum has exactly the register kernel's terms
    let kmax = min(${bk}u, K - k0);
    for (var kk = 0u; kk < kmax; kk++) {
${R(4)
  .map((i) => `      let av${i} = As[kk * ${bm}u + lid.y * 4u + ${i}u];`)
  .join('\n')}
${R(4)
  .map((j) => `      let bv${j} = Bs[kk * ${bn}u + lid.x * 4u + ${j}u];`)
  .join('\n')}
${R(4)
  .flatMap((i) => R(4).map((j) => `      a${i}_${j} = fma(av${i}, bv${j}, a${i}_${j});`))
  .join('\n')}
    }
    workgroupBarrier();
  }
${R(4)
  .flatMap((i) =>
    R(4).map(
      (j) =>
        `  if (tileM + lid.y * 4u + ${i}u < M && tileN + lid.x * 4u + ${j}u < N) { store(tileM + lid.y * 4u + ${i}u, tileN + lid.x * 4u + ${j}u, z, a${i}_${j}); }`,
    ),
  )
  .join('\n')}`,
  };
}

/** out[i] = Σ_s part[s·n + i], summed in chunk order (weight-gradient partials). */
export const sumChunksKernel = (): KernelDecl => ({
  params: 'n: u32, chunks: u32',
  buffers: [read('part'), write('out')],
  guard: 'u.n',
  body: `
  var acc = part[i];
  for (var s = 1u; s < u.chunks; s++) {
    acc = acc + part[s * u.n + i];
  }
  out[i] = acc;`,
});

// ---------- Winograd F(m x m, 3x3): 3x3 stride-1 convolutions ----------
//
// An m x m output tile is Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A for the (m+2)² input tile d under it:
// (m+2)² products per m² outputs instead of 9 m² (F(4x4): 36 per 16 outputs, 4x fewer).
// Per direction the channel sums of those products are one batched GEMM over the (m+2)² tile
// positions ξ (the 'register' / 'tiled' pair, same k order, so again bit-identical); the
// transforms are single kernels shared by both variants.
//   forward / input grad  M[ξ] (R x T) = U[ξ]ᵀ · V[ξ] (K x T), U[ξ] stored K x R, then
//                         y = Aᵀ M A (+ bias)
//   weight grad           dU[ξ] (O x C) = dM[ξ]ᵀ · V[ξ], dM[ξ] (T x O) = A dy Aᵀ (the adjoint of
//                         the output step) and V[ξ] (T x C) tile-major, summed over image chunks,
//                         then dw = Gᵀ dU G
// T counts the output tiles of a chunk of images, t = (image in chunk, tile row, tile col).
// The input gradient is the forward convolution of gy with the weight flipped and transposed,
// padding 2 - p.

/** Transform matrices (Lavin & Gray) for F(2x2, 3x3) and F(4x4, 3x3): Bᵀ, G, Aᵀ. */
interface WinoMatrices {
  BT: number[][];
  G: number[][];
  AT: number[][];
}
export const WINO: Record<2 | 4, WinoMatrices> = {
  2: {
    BT: [
      [1, 0, -1, 0],
      [0, 1, 1, 0],
      [0, -1, 1, 0],
      [0, 1, 0, -1],
    ],
    G: [
      [1, 0, 0],
      [0.5, 0.5, 0.5],
      [0.5, -0.5, 0.5],
      [0, 0, 1],
    ],
    AT: [
      [1, 1, 1, 0],
      [0, 1, -1, -1],
    ],
  },
  4: {
    BT: [
      [4, 0, -5, 0, 1, 0],
      [0, -4, -4, 1, 1, 0],
      [0, 4, -4, -1, 1, 0],
      [0, -2, -1, 2, 1, 0],
      [0, 2, -1, -2, 1, 0],
      [0, 4, 0, -5, 0, 1],
    ],
    G: [
      [1 / 4, 0, 0],
      [-1 / 6, -1 / 6, -1 / 6],
      [-1 / 6, 1 / 6, -1 / 6],
      [1 / 24, 1 / 12, 1 / 6],
      [1 / 24, -1 / 12, 1 / 6],
      [0, 0, 1],
    ],
    AT: [
      [1, 1, 1, 1, 1, 0],
      [0, 1, -1, 2, -2, 0],
      [0, 1, 1, 4, 4, 0],
      [0, 1, -1, 8, -8, 1],
    ],
  },
};
export type WinoM = keyof typeof WINO;

const col = <T>(mat: T[][], j: number): T[] => mat.map((r) => r[j]);

/** Σ_k c[k]·v[k] as a WGSL expression: zero terms dropped, ±1 without a multiply. */
function lin(c: number[], v: string[]): string {
  const terms = c.flatMap((k, i) =>
    k === 0 ? [] : [k === 1 ? `+ ${v[i]}` : k === -1 ? `- ${v[i]}` : k < 0 ? `- ${-k} * ${v[i]}` : `+ ${k} * ${v[i]}`],
  );
  if (!terms.length) return '0.0';
  const e = terms.join(' ');
  return e.startsWith('+ ') ? e.slice(2) : `-${e.slice(2)}`;
}

/**
 * `out[a][b] = L[a] · X · R[b]` for a 2-D array of WGSL names X (two passes of lin), declared as
 * `let {name}{a}_{b}`; returns the code.
 */
function sandwich(name: string, L: number[][], X: string[][], R: number[][]): string {
  const out: string[] = [];
  L.forEach((l, a) => X[0].forEach((_, q) => out.push(`  let ${name}t${a}_${q} = ${lin(l, col(X, q))};`)));
  L.forEach((_, a) =>
    R.forEach((r, b) =>
      out.push(
        `  let ${name}${a}_${b} = ${lin(
          r,
          X[0].map((_, q) => `${name}t${a}_${q}`),
        )};`,
      ),
    ),
  );
  return out.join('\n');
}

const grid = (rows: number, cols: number, f: (r: number, c: number) => string) =>
  R(rows).map((r) => R(cols).map((c) => f(r, c)));

/**
 * U[ξ, k, r] = (G g Gᵀ)[ξ] with g = w[r, k] (fwd) or w[k, r] flipped in both axes (dx); stored
 * k-major so that the GEMM's lanes (neighbouring rows r) read neighbouring addresses.
 */
export function winoWeightKernel(m: WinoM, flip: boolean): KernelDecl {
  const { G } = WINO[m];
  const a = m + 2;
  return {
    params: 'rows: u32, cols: u32, total: u32, _p: u32',
    buffers: [read('w'), write('U')],
    workgroup: 64,
    guard: 'u.total',
    body: `
  let r = i / u.cols;
  let k = i % u.cols;
  let base = ${flip ? '(k * u.rows + r) * 9u' : '(r * u.cols + k) * 9u'};
${grid(3, 3, (ky, kx) => `  let g${ky}_${kx} = w[base + ${flip ? 8 - (3 * ky + kx) : 3 * ky + kx}u];`)
  .flat()
  .join('\n')}
${sandwich(
  'u',
  G,
  grid(3, 3, (ky, kx) => `g${ky}_${kx}`),
  G,
)}
${grid(a, a, (i, j) => `  U[${i * a + j}u * u.total + k * u.rows + r] = u${i}_${j};`)
  .flat()
  .join('\n')}`,
  };
}

/** Tile geometry of one chunk of images, shared by the transforms. */
const WINO_PARAMS = `ch: u32, h: u32, w: u32, pad: u32,      // channels, input size, padding
  ho: u32, wo: u32, th: u32, tw: u32,     // output size, tiles per column / row
  n0: u32, tiles: u32, total: u32, fence: u32, // first image of the chunk, tiles in the chunk, ch · tiles; 0 (fused stores)`;

/** A transform kernel: one invocation per (channel, tile) of the chunk, located by `tileIndex`. */
const transform = (buffers: BufferDecl[], body: string): KernelDecl => ({
  params: WINO_PARAMS,
  buffers,
  workgroup: 64,
  guard: 'u.total',
  body,
});

/**
 * Locates invocation i's (channel, tile); i is also its column in each ξ slab of the output, so
 * the slab is [ch, tile] (tile fastest: the forward GEMM's operand, k = channel) or, tile-major,
 * [tile, ch] (channel fastest: the weight gradient's, k = tile, so that neighbouring GEMM lanes
 * read neighbouring addresses).
 */
const tileIndex = (
  tileMajor: boolean,
) => `${tileMajor ? 'let ch = i % u.ch;\n  let t = i / u.ch;' : 'let t = i % u.tiles;\n  let ch = i / u.tiles;'}
  let tx = t % u.tw;
  let ty = (t / u.tw) % u.th;
  let n = u.n0 + t / (u.tw * u.th);`;

/** V[ξ, c, t] (or V[ξ, t, c]) = (Bᵀ d B)[ξ], d the zero-padded (m+2)² input tile at (m·ty - p, m·tx - p). */
export function winoInputKernel(m: WinoM, tileMajor = false): KernelDecl {
  const { BT } = WINO[m];
  const a = m + 2;
  return transform(
    [read('x'), write('V')],
    `
  ${tileIndex(tileMajor)}
  let y0 = i32(${m}u * ty) - i32(u.pad);
  let x0 = i32(${m}u * tx) - i32(u.pad);
  let base = (n * u.ch + ch) * u.h * u.w;
${R(a)
  .map((r) => `  let rv${r} = y0 + ${r} >= 0 && y0 + ${r} < i32(u.h);`)
  .join('\n')}
${R(a)
  .map((q) => `  let cv${q} = x0 + ${q} >= 0 && x0 + ${q} < i32(u.w);`)
  .join('\n')}
${grid(
  a,
  a,
  (r, q) =>
    `  let d${r}_${q} = select(0.0, x[select(0u, base + u32(y0 + ${r}) * u.w + u32(x0 + ${q}), rv${r} && cv${q})], rv${r} && cv${q});`,
)
  .flat()
  .join('\n')}
${sandwich(
  'v',
  BT,
  grid(a, a, (r, q) => `d${r}_${q}`),
  BT,
)}
${grid(a, a, (i, j) => `  V[${i * a + j}u * u.total + i] = v${i}_${j};`)
  .flat()
  .join('\n')}`,
  );
}

/**
 * y[n, r, m·ty + a, m·tx + b] = (Aᵀ M[·, r, t] A)[a, b] (+ bias[r]), inside the output only.
 * `store` (fused maps of the result, see shaders/fused.ts) defines `store(v: f32, e: u32) -> f32`
 * for output element e; its buffers bind after y.
 */
export function winoOutputKernel(m: WinoM, bias: boolean, store?: { code: string; buffers: BufferDecl[] }): KernelDecl {
  const { AT } = WINO[m];
  const a = m + 2;
  const put = (idx: string, v: string) => `y[${idx}] = ${store ? `store(${v}, ${idx})` : v};`;
  const d = transform(
    [read('M'), ...(bias ? [read('bias')] : []), write('y'), ...(store?.buffers ?? [])],
    `
  ${tileIndex(false)}
${grid(a, a, (i, j) => `  let m${i}_${j} = M[${i * a + j}u * u.total + i];`)
  .flat()
  .join('\n')}
${sandwich(
  'y',
  AT,
  grid(a, a, (i, j) => `m${i}_${j}`),
  AT,
)}
  let oy = ${m}u * ty;
  let ox = ${m}u * tx;
  let base = (n * u.ch + ch) * u.ho * u.wo + oy * u.wo + ox;
  let b = ${bias ? 'bias[ch]' : '0.0'};
${R(m)
  .map(
    (r) => `  if (oy + ${r}u < u.ho) {
${R(m)
  .map((q) => `    if (ox + ${q}u < u.wo) { ${put(`base + ${r}u * u.wo + ${q}u`, `y${r}_${q}${bias ? ' + b' : ''}`)} }`)
  .join('\n')}
  }`,
  )
  .join('\n')}`,
  );
  return store ? { ...d, prelude: `${d.prelude ?? ''}\n${store.code}` } : d;
}

/** dM[ξ, o, t] (or dM[ξ, t, o]) = (A dy Aᵀ)[ξ], dy the m x m output-gradient tile (zero outside the output). */
export function winoGradOutputKernel(m: WinoM, tileMajor = false): KernelDecl {
  const { AT } = WINO[m];
  const a = m + 2;
  const A = R(a).map((i) => col(AT, i));
  return transform(
    [read('gy'), write('dM')],
    `
  ${tileIndex(tileMajor)}
  let oy = ${m}u * ty;
  let ox = ${m}u * tx;
  let base = (n * u.ch + ch) * u.ho * u.wo;
${grid(
  m,
  m,
  (r, q) => `  let v${r}_${q} = oy + ${r}u < u.ho && ox + ${q}u < u.wo;
  let e${r}_${q} = select(0.0, gy[select(0u, base + (oy + ${r}u) * u.wo + ox + ${q}u, v${r}_${q})], v${r}_${q});`,
)
  .flat()
  .join('\n')}
${sandwich(
  's',
  A,
  grid(m, m, (r, q) => `e${r}_${q}`),
  A,
)}
${grid(a, a, (i, j) => `  dM[${i * a + j}u * u.total + i] = s${i}_${j};`)
  .flat()
  .join('\n')}`,
  );
}

/** dw[o, c] = Gᵀ (Σ_chunk dU[chunk, ·, o, c]) G, the chunks summed in order. */
export function winoWeightGradKernel(m: WinoM): KernelDecl {
  const { G } = WINO[m];
  const a = m + 2;
  const GT = R(3).map((k) => col(G, k));
  return {
    params: 'total: u32, chunks: u32, _p0: u32, _p1: u32',
    buffers: [read('dU'), write('dw')],
    workgroup: 64,
    guard: 'u.total',
    body: `
${grid(a, a, (r, q) => {
  const e = r * a + q;
  return `  var m${r}_${q} = dU[${e}u * u.total + i];
  for (var c = 1u; c < u.chunks; c++) { m${r}_${q} = m${r}_${q} + dU[(c * ${a * a}u + ${e}u) * u.total + i]; }`;
})
  .flat()
  .join('\n')}
${sandwich(
  'g',
  GT,
  grid(a, a, (r, q) => `m${r}_${q}`),
  GT,
)}
${grid(3, 3, (ky, kx) => `  dw[i * 9u + ${3 * ky + kx}u] = g${ky}_${kx};`)
  .flat()
  .join('\n')}`,
  };
}

/**
 * Batched GEMM C[co + (b·m + m)·n + n] = Σ_k A[b·ab + m·am + k·ak] · B[b·bb + k·bk + n·bn]
 * (b < bs; nt is the tiled kernel's N tiles).
 */
const BGEMM_PARAMS = `m: u32, n: u32, k: u32, nt: u32,
  ab: u32, am: u32, ak: u32, bb: u32,
  bk: u32, bn: u32, co: u32, bs: u32,`;
const BGEMM_BUFFERS = [read('A'), read('B'), write('C')];

/** Stores the bo x bp block at (m0, n0) of batch entry bt (live: the invocation has a block). */
const bgemmStore = ({ bo, bp }: ConvBlock) => `  let cb = u.co + bt * u.m * u.n;
${lines(
  bo,
  (i) => `  if (live && m0 + ${i}u < u.m) {
${lines(bp, (j) => `    if (n0 + ${j}u < u.n) { C[cb + (m0 + ${i}u) * u.n + n0 + ${j}u] = a${i}_${j}; }`)}
  }`,
)}`;

/**
 * The GEMM after the block's A row offsets ra*: B column offsets, accumulators, the k loop
 * (B's bp values, then `aLoads` defining r0 .. r{bo-1}, then the fmas) and the store.
 */
const bgemmBody = (
  b: ConvBlock,
  aLoads: string[],
) => `${lines(b.bp, (j) => `  let cb${j} = bt * u.bb + min(n0 + ${j}u, u.n - 1u) * u.bn;`)}
${accs(b)}
  var ka = 0u;
  var kb = 0u;
${innerLoop('k', 'u.k', b, [...R(b.bp).map((j) => `let c${j} = B[cb${j} + kb];`), ...aLoads], ['ka += u.ak;', 'kb += u.bk;'])}
${bgemmStore(b)}`;

/** Register variant: bo rows x bp columns per invocation, one flat index over (columns, rows, batch). */
export function bgemmRegisterKernel(b: ConvBlock): KernelDecl {
  const { bo, bp } = b;
  return {
    params: BGEMM_PARAMS,
    buffers: BGEMM_BUFFERS,
    workgroup: REG_WG,
    body: `
  let nb = (u.n + ${bp - 1}u) / ${bp}u;
  let mb = (u.m + ${bo - 1}u) / ${bo}u;
  let flat = gid.x + gid.y * nwg.x * ${REG_WG}u;
  let live = flat < nb * mb * u.bs;
  let idx = min(flat, nb * mb * u.bs - 1u);
  let n0 = (idx % nb) * ${bp}u;
  let m0 = ((idx / nb) % mb) * ${bo}u;
  let bt = idx / (nb * mb);
${lines(bo, (i) => `  let ra${i} = bt * u.ab + min(m0 + ${i}u, u.m - 1u) * u.am;`)}
${bgemmBody(
  b,
  R(bo).map((i) => `let r${i} = A[ra${i} + ka];`),
)}`,
  };
}

/**
 * Subgroup variant: a workgroup is one subgroup of sg lanes sharing bo rows of one batch entry;
 * each lane owns bp columns, loads bo / sg of the rows' A values per k and receives the others
 * by subgroupBroadcast (a register shuffle on lavapipe, where each lane's storage load costs ~10
 * instructions). Same fma order as the other variants, so the same bits.
 */
export function bgemmSubgroupKernel(b: ConvBlock, sg: number): KernelDecl {
  const { bo, bp } = b;
  if (bo % sg !== 0)
    throw new Error(`conv: subgroup GEMM block ${bo} rows is not a multiple of the subgroup size ${sg}`);
  return {
    params: BGEMM_PARAMS,
    buffers: BGEMM_BUFFERS,
    workgroup: sg,
    builtins: ['wid', 'nwg', 'lid', 'lane'],
    subgroups: true,
    body: `
  let nb = (u.n + ${sg * bp - 1}u) / ${sg * bp}u;
  let mb = (u.m + ${bo - 1}u) / ${bo}u;
  // one flat index per workgroup (uniform), so no lane leaves before the broadcasts
  let flat = wid.x + wid.y * nwg.x;
  let idx = min(flat, nb * mb * u.bs - 1u);
  let n0 = (idx % nb) * ${sg * bp}u + lid.x * ${bp}u;
  let m0 = ((idx / nb) % mb) * ${bo}u;
  let bt = idx / (nb * mb);
  let live = flat < nb * mb * u.bs;
${lines(bo / sg, (r) => `  let ra${r} = bt * u.ab + min(m0 + lane + ${sg * r}u, u.m - 1u) * u.am;`)}
${bgemmBody(b, [
  ...R(bo / sg).map((r) => `let l${r} = A[ra${r} + ka];`),
  ...R(bo).map((i) => `let r${i} = subgroupBroadcast(l${Math.floor(i / sg)}, ${i % sg}u);`),
])}`,
  };
}

/** Tiled variant of the batched GEMM (z = batch). */
export function bgemmTiledKernel(tile: Tile, aAlongK: boolean, bAlongK: boolean): KernelDecl {
  return tiled(
    BGEMM_PARAMS,
    BGEMM_BUFFERS,
    {
      M: 'u.m',
      N: 'u.n',
      K: 'u.k',
      a: 'return A[z * u.ab + m * u.am + k * u.ak];',
      b: 'return B[z * u.bb + k * u.bk + n * u.bn];',
      store: 'C[u.co + (z * u.m + m) * u.n + n] = acc;',
      aAlongK,
      bAlongK,
    },
    tile,
  );
}
