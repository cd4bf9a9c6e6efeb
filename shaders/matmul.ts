// Batched matmul kernels. Both variants accumulate every output element as
// `acc = fma(a[m,k], b[k,n], acc)` for k = 0..K-1 in order, so they agree bit for bit.
// Transposes and batch broadcasting are index arithmetic; nothing is copied.
import { dimAt, read, uniformArray, write, type BufferDecl, type KernelDecl } from './kernel.js';

/** Compile-time choices shared by both variants. */
export interface MatmulLayout {
  transA: boolean;
  transB: boolean;
  /** A's contiguous axis (K, or M when transposed) is a multiple of 4: read A as vec4 */
  vecA: boolean;
  /** B's contiguous axis (N, or K when transposed) is a multiple of 4: read B as vec4 */
  vecB: boolean;
  /** N is a multiple of 4: write the output as vec4 */
  vecOut: boolean;
  /** epilogue: add bias[n] (binding 4, vec4 when vecOut), then relu; the same f32 operations as
   * the separate add and relu kernels, so the fused result has the same bits */
  bias?: boolean;
  relu?: boolean;
  /**
   * fused maps of the result, run in the stores (after bias and relu): `code` defines
   * `store(acc: f32, e: u32) -> f32` for output element e; its buffers bind after the others
   */
  store?: { code: string; buffers: BufferDecl[] };
  /** with A transposed and one matrix: the sums of A over K as well (see ColumnSums) */
  sums?: ColumnSums;
  /** B (vecB) read from a uniform array of this many vec4s instead of a storage array */
  uniformB?: number;
}

/**
 * The column sums of a transposed A ([K, M] in memory, summed over K: a bias gradient beside the
 * weight gradient it shares its input with), added in the order the chunked reduction kernel adds
 * them (shaders/reduce.ts): rows in chunks of `chunk` from 0.0, the chunk sums in order into a
 * total from 0.0 when `twoLevel` (empty trailing chunks included), so the sums
 * have the reduction's bits. Written to binding S (f32 per element), through `sumStore(acc, e)`
 * when `code` defines it (a reduction's fused epilogue); its buffers bind after S.
 */
export interface ColumnSums {
  chunk: number;
  /** chunks the reduction adds after the last one holding a row (each adds 0.0 to the total) */
  emptyChunks: number;
  twoLevel: boolean;
  code: string | null;
  buffers: BufferDecl[];
}

export interface RegisterShape {
  /** outputs per invocation: tm rows x tn columns (tm, tn multiples of 4) */
  tm: number;
  tn: number;
  /** workgroup size in x (column blocks) and y (row blocks) */
  wx: number;
  wy: number;
  /**
   * The 'subgroup' variant: a workgroup is one subgroup of this many invocations (wx = sg,
   * wy = 1) sharing the same tm rows; each loads tm / sg of them and the others arrive by
   * subgroupBroadcast. On lavapipe every lane's storage load is a bounds-checked scalar load
   * while a broadcast is a register shuffle, so this halves the load work (2x on 1024²).
   */
  sg?: number;
}

/** The tiled kernel's fixed geometry: 64x64 outputs per workgroup, 16x16 threads of 4x4. */
export const TILE = { tm: 64, tn: 64, tk: 16, wx: 16, wy: 16 } as const;

// yBase (first row) and zBase (first batch) split one op over several dispatches (65535 groups
// per dimension)
const PARAMS = `batchShape: array<vec4<u32>, 2>,
  aStrides: array<vec4<u32>, 2>,
  bStrides: array<vec4<u32>, 2>,
  M: u32,
  N: u32,
  K: u32,
  batchRank: u32,
  yBase: u32,
  zBase: u32,
  fence: u32,`;

const vec = (v: boolean) => (v ? 'vec4<f32>' : 'f32');
const buffers = (l: MatmulLayout) => [
  read('A', vec(l.vecA)),
  l.uniformB ? uniformArray('B', 'vec4<f32>', l.uniformB) : read('B', vec(l.vecB)),
  write('C', vec(l.vecOut)),
  ...(l.bias ? [read('Bias', vec(l.vecOut))] : []),
  ...(l.store?.buffers ?? []),
  ...(l.sums ? [write('S'), ...l.sums.buffers] : []),
];

/** The prelude of a kernel with fused stores: their functions after the GEMM's own. */
const withStore = (l: MatmulLayout, prelude: string) =>
  [prelude, l.store?.code, l.sums?.code].filter((c) => c).join('\n');

// element offsets of batch z's matrices in A and B (broadcast axes have stride 0)
const BATCH_OFFSETS = `fn batchOffsets(z: u32) -> vec2<u32> {
  var rem = z;
  var off = vec2<u32>(0u, 0u);
  for (var d = u.batchRank; d > 0u; d--) {
    let s = ${dimAt('u.batchShape', 'd - 1u')};
    let c = rem % s;
    rem = rem / s;
    off += c * vec2<u32>(${dimAt('u.aStrides', 'd - 1u')}, ${dimAt('u.bStrides', 'd - 1u')});
  }
  return off;
}
`;

const COMP = ['x', 'y', 'z', 'w'];
const range = (n: number) => [...Array(n).keys()];

/** Scalar read of element `idx` from a buffer declared as vec4 or f32. */
const scalarAt = (buf: string, vec: boolean, idx: string) =>
  vec ? `${buf}[(${idx}) / 4u][(${idx}) % 4u]` : `${buf}[${idx}]`;

/**
 * The stored value: acc (+ bias) (then max with zero), as the elementwise add and relu kernels
 * write it, then any fused maps of it (`store`, per element: `e` is the flat output index).
 */
function epilogue(l: MatmulLayout, acc: string, bias: string, zero: string, e: string, vec: boolean): string {
  const v = l.bias ? `${acc} + ${bias}` : acc;
  const r = l.relu ? `max(${v}, ${zero})` : v;
  if (!l.store) return r;
  return vec ? `store4(${r}, ${e})` : `store(${r}, ${e})`;
}

/** store4: the fused stores of four neighbouring elements. */
const STORE4 =
  'fn store4(v: vec4<f32>, e: u32) -> vec4<f32> { return vec4<f32>(store(v.x, e), store(v.y, e + 1u), store(v.z, e + 2u), store(v.w, e + 3u)); }';

/**
 * Writes the tm x tn block at rows m0.., cols n0.. from accumulators acc_i_q (vec4 over 4 columns),
 * by a loop over a private copy of them, with the bias (one value per column) loaded before it.
 * Each load is a bounds-check branch on lavapipe, and unrolled per row (by us, or by LLVM for a
 * loop of constant length) every one sat among all the live accumulators: a 32 x 8 block with a
 * fused store took LLVM 45 s to compile, a 32 x 4 one with scalar stores, a bias and a fused
 * store 10.5 s; now about 1 and 0.6 s. The values stored are the same.
 */
function storeBlock(l: MatmulLayout, tm: number, tn: number): string {
  const lines = [`  var accs: array<vec4<f32>, ${(tm * tn) / 4}>;`];
  for (const i of range(tm)) for (const q of range(tn / 4)) lines.push(`  accs[${(i * tn) / 4 + q}] = acc_${i}_${q};`);
  // clamped: a column past N loads some bias and stores nothing
  if (l.bias) {
    for (const q of range(tn / 4)) {
      if (l.vecOut) lines.push(`  let bias_${q} = Bias[min(n0 / 4u + ${q}u, u.N / 4u - 1u)];`);
      else for (const j of range(4)) lines.push(`  let bias_${q}_${j} = Bias[min(n0 + ${4 * q + j}u, u.N - 1u)];`);
    }
  }
  // a trip count known only at run time: LLVM does not unroll the loop back into the block
  lines.push(`  let rows = min(${tm}u, max(u.M, m0) - m0);`);
  lines.push('  for (var i = 0u; i < rows; i++) {');
  lines.push('    let row = cOff + (m0 + i) * u.N;');
  for (const q of range(tn / 4)) {
    const n = `n0 + ${4 * q}u`;
    const acc = `accs[i * ${tn / 4}u + ${q}u]`;
    if (l.vecOut) {
      const v = epilogue(l, acc, `bias_${q}`, 'vec4<f32>(0.0)', `row + ${n}`, true);
      lines.push(`    if (${n} < u.N) { C[(row + ${n}) / 4u] = ${v}; }`);
    } else {
      for (const j of range(4)) {
        const v = epilogue(l, `${acc}.${COMP[j]}`, `bias_${q}_${j}`, '0.0', `row + ${n} + ${j}u`, false);
        lines.push(`    if (${n} + ${j}u < u.N) { C[row + ${n} + ${j}u] = ${v}; }`);
      }
    }
  }
  lines.push('  }');
  return lines.join('\n');
}

/**
 * The subgroup variant's A loads for k .. k+kc-1: lane `lane` loads its share of the tm x kc
 * block (clamped to the matrix) and a[i][kk] is broadcast from the lane that loaded it.
 */
function subgroupALoads(l: MatmulLayout, tm: number, sg: number, kc: number, a: string[][]): string[] {
  const out: string[] = [];
  const row = (r: number) => `min(m0 + lane + ${sg * r}u, u.M - 1u)`;
  if (!l.transA && l.vecA && kc === 4) {
    // lane loads rows lane + sg·r as vec4 along K
    for (const r of range(tm / sg)) out.push(`    let al${r} = A[(aOff + ${row(r)} * u.K + k) / 4u];`);
    for (const i of range(tm)) {
      out.push(`    let ab${i} = subgroupBroadcast(al${Math.floor(i / sg)}, ${i % sg}u);`);
      for (const kk of range(4)) a[i][kk] = `ab${i}.${COMP[kk]}`;
    }
  } else if (l.transA && l.vecA && tm % (4 * sg) === 0) {
    // lane loads rows 4·(lane + sg·r) .. +3 as vec4 along M, for each k
    for (const kk of range(kc)) {
      for (const r of range(tm / (4 * sg))) {
        out.push(
          `    let al${kk}_${r} = A[(aOff + (k + ${kk}u) * u.M + min(m0 + 4u * (lane + ${sg * r}u), u.M - 4u)) / 4u];`,
        );
      }
      for (const g of range(tm / 4)) {
        out.push(`    let ab${kk}_${g} = subgroupBroadcast(al${kk}_${Math.floor(g / sg)}, ${g % sg}u);`);
        for (const c of range(4)) a[4 * g + c][kk] = `ab${kk}_${g}.${COMP[c]}`;
      }
    }
  } else {
    for (const kk of range(kc)) {
      for (const r of range(tm / sg)) {
        const idx = l.transA ? `aOff + (k + ${kk}u) * u.M + ${row(r)}` : `aOff + ${row(r)} * u.K + k + ${kk}u`;
        out.push(`    let al${kk}_${r} = ${scalarAt('A', l.vecA, idx)};`);
      }
      for (const i of range(tm)) {
        out.push(`    let ab${i}_${kk} = subgroupBroadcast(al${kk}_${Math.floor(i / sg)}, ${i % sg}u);`);
        a[i][kk] = `ab${i}_${kk}`;
      }
    }
  }
  return out;
}

/** A value an invocation loads for the GEMM whose sum over K it also keeps: rows row .. row+3 (vec4) or row. */
interface SumUnit {
  type: 'f32' | 'vec4<f32>';
  /** the loaded value at step k + kk */
  value: (kk: number) => string;
  /** its (first) row */
  row: string;
}

/** The A values each invocation loads (A transposed: rows are M), as the loads in step() name them. */
function columnSumUnits(l: MatmulLayout, s: RegisterShape): SumUnit[] {
  const { tm, sg } = s;
  if (!l.transA) throw new Error('matmul: column sums need A transposed');
  if (sg) {
    if (l.vecA && tm % (4 * sg) === 0)
      return range(tm / (4 * sg)).map((r) => ({
        type: 'vec4<f32>',
        value: (kk) => `al${kk}_${r}`,
        row: `m0 + 4u * (lane + ${sg * r}u)`,
      }));
    return range(tm / sg).map((r) => ({ type: 'f32', value: (kk) => `al${kk}_${r}`, row: `m0 + lane + ${sg * r}u` }));
  }
  if (l.vecA)
    return range(tm / 4).map((q) => ({ type: 'vec4<f32>', value: (kk) => `a${kk}_${q}`, row: `m0 + ${4 * q}u` }));
  return range(tm).map((i) => ({ type: 'f32', value: (kk) => `a${i}_${kk}`, row: `m0 + ${i}u` }));
}

/** Adds step k + kk's values into the running chunk sums, first folding a finished chunk into the total. */
function columnSumSteps(c: ColumnSums, units: SumUnit[], kc: number): string[] {
  const out: string[] = [];
  for (const kk of range(kc)) {
    if (c.twoLevel && (kk === 0 || c.chunk % kc !== 0)) {
      const at = kk ? `k + ${kk}u` : 'k';
      const fold = units.map((u, j) => `st_${j} = st_${j} + sa_${j}; sa_${j} = ${u.type}(0.0);`).join(' ');
      out.push(`    if (${at} % ${c.chunk}u == 0u && ${at} != 0u) { ${fold} }`);
    }
    units.forEach((u, j) => out.push(`    sa_${j} = sa_${j} + ${u.value(kk)};`));
  }
  return out;
}

/** The last chunk (and any empty ones) into the total, then the stores of the invocations that own the sums. */
function columnSumStores(c: ColumnSums, units: SumUnit[], owner: string): string {
  const lines: string[] = [];
  if (c.twoLevel) {
    units.forEach((u, j) => {
      lines.push(`  st_${j} = st_${j} + sa_${j};`);
      for (let e = 0; e < c.emptyChunks; e++) lines.push(`  st_${j} = st_${j} + ${u.type}(0.0);`);
    });
  }
  const value = (j: number) => (c.twoLevel ? `st_${j}` : `sa_${j}`);
  const put = (row: string, v: string) => `if (${row} < u.M) { S[${row}] = ${c.code ? `sumStore(${v}, ${row})` : v}; }`;
  lines.push(`  if (${owner}) {`);
  units.forEach((u, j) => {
    if (u.type === 'f32') lines.push(`    ${put(u.row, value(j))}`);
    else {
      lines.push(`    let sr_${j} = ${u.row};`);
      for (const q of range(4)) lines.push(`    ${put(`sr_${j} + ${q}u`, `${value(j)}.${COMP[q]}`)}`);
    }
  });
  lines.push('  }');
  return lines.join('\n');
}

/**
 * Register-blocked kernel: no workgroup memory, no barriers. Each invocation owns a tm x tn
 * block and walks K four steps at a time, loading A and B straight from storage (vec4 where
 * the contiguous axis allows). Out-of-range rows and columns read clamped indices and are
 * not written.
 */
export function matmulRegisterKernel(l: MatmulLayout, s: RegisterShape): KernelDecl {
  const { tm, tn, wx, wy, sg } = s;
  if (l.uniformB && !l.vecB) throw new Error('matmul: a uniform B is read as vec4s');
  if (sg && (tm % sg !== 0 || wx !== sg || wy !== 1))
    throw new Error(`matmul: subgroup shape ${JSON.stringify(s)} needs wx = sg, wy = 1, tm % sg = 0`);
  const decl: string[] = [];
  // clamped row / column indices (or vec4 group starts) so loads never leave the matrix
  if (!sg) for (const i of range(tm)) decl.push(`  let mi${i} = min(m0 + ${i}u, u.M - 1u);`);
  for (const j of range(tn)) decl.push(`  let nj${j} = min(n0 + ${j}u, u.N - 1u);`);
  if (!sg && l.transA && l.vecA)
    for (const q of range(tm / 4)) decl.push(`  let mq${q} = min(m0 + ${4 * q}u, u.M - 4u);`);
  if (!l.transB && l.vecB) for (const q of range(tn / 4)) decl.push(`  let nq${q} = min(n0 + ${4 * q}u, u.N - 4u);`);

  const kVec = (l.vecA && !l.transA) || (l.vecB && l.transB);
  const sums = l.sums ? columnSumUnits(l, s) : [];
  /** Loads for k .. k+kc-1 (kc = 4 or 1) and the fma steps, in k order. */
  const step = (kc: number): string => {
    const out: string[] = [];
    const a: string[][] = range(tm).map(() => []); // a[i][kk]: expression of A[m0+i, k+kk]
    const b: string[][] = range(kc).map(() => []); // b[kk][j]
    const bRow: string[][] = range(kc).map(() => []); // bRow[kk][q]: vec4 of B[k+kk, n0+4q ..]
    // A
    if (sg) {
      out.push(...subgroupALoads(l, tm, sg, kc, a));
    } else if (!l.transA && l.vecA && kc === 4) {
      for (const i of range(tm)) {
        out.push(`    let a${i} = A[(aOff + mi${i} * u.K + k) / 4u];`);
        for (const kk of range(kc)) a[i][kk] = `a${i}.${COMP[kk]}`;
      }
    } else if (l.transA && l.vecA) {
      for (const kk of range(kc)) {
        for (const q of range(tm / 4)) {
          out.push(`    let a${kk}_${q} = A[(aOff + (k + ${kk}u) * u.M + mq${q}) / 4u];`);
          for (const r of range(4)) a[4 * q + r][kk] = `a${kk}_${q}.${COMP[r]}`;
        }
      }
    } else {
      for (const i of range(tm)) {
        for (const kk of range(kc)) {
          const idx = l.transA ? `aOff + (k + ${kk}u) * u.M + mi${i}` : `aOff + mi${i} * u.K + k + ${kk}u`;
          out.push(`    let a${i}_${kk} = ${scalarAt('A', l.vecA, idx)};`);
          a[i][kk] = `a${i}_${kk}`;
        }
      }
    }
    if (l.sums) out.push(...columnSumSteps(l.sums, sums, kc));
    // B
    if (!l.transB && l.vecB) {
      for (const kk of range(kc)) {
        for (const q of range(tn / 4)) {
          out.push(`    let b${kk}_${q} = B[(bOff + (k + ${kk}u) * u.N + nq${q}) / 4u];`);
          bRow[kk][q] = `b${kk}_${q}`;
        }
      }
    } else if (l.transB && l.vecB && kc === 4) {
      for (const j of range(tn)) {
        out.push(`    let b${j} = B[(bOff + nj${j} * u.K + k) / 4u];`);
        for (const kk of range(kc)) b[kk][j] = `b${j}.${COMP[kk]}`;
      }
    } else {
      for (const j of range(tn)) {
        for (const kk of range(kc)) {
          const idx = l.transB ? `bOff + nj${j} * u.K + k + ${kk}u` : `bOff + (k + ${kk}u) * u.N + nj${j}`;
          out.push(`    let b${j}_${kk} = ${scalarAt('B', l.vecB, idx)};`);
          b[kk][j] = `b${j}_${kk}`;
        }
      }
    }
    for (const kk of range(kc)) {
      for (const q of range(tn / 4)) {
        if (bRow[kk][q]) continue; // already a vec4 load along N
        out.push(
          `    let bv${kk}_${q} = vec4<f32>(${range(4)
            .map((r) => b[kk][4 * q + r])
            .join(', ')});`,
        );
        bRow[kk][q] = `bv${kk}_${q}`;
      }
    }
    // accumulator-major: each accumulator takes its kc steps back to back (the same k order), so
    // where accumulators spill (lavapipe: one register per lane each) a spill covers kc fmas
    for (const i of range(tm)) {
      for (const q of range(tn / 4)) {
        for (const kk of range(kc)) {
          out.push(`    acc_${i}_${q} = fma(vec4<f32>(${a[i][kk]}), ${bRow[kk][q]}, acc_${i}_${q});`);
        }
      }
    }
    return out.join('\n');
  };

  // the subgroup variant never returns early: subgroupBroadcast needs every lane
  const entry = sg
    ? `
  let n0 = (wid.x * ${sg}u + lid.x) * ${tn}u;
  let m0 = u.yBase + wid.y * ${tm}u;
  let z = wid.z + u.zBase;`
    : `
  let n0 = gid.x * ${tn}u;
  let m0 = u.yBase + gid.y * ${tm}u;
  let z = gid.z + u.zBase;
  if (n0 >= u.N || m0 >= u.M) { return; }`;
  const body = `${entry}
  let offs = batchOffsets(z);
  let aOff = offs.x;
  let bOff = offs.y;
  let cOff = z * u.M * u.N;
${decl.join('\n')}
${range(tm)
  .flatMap((i) => range(tn / 4).map((q) => `  var acc_${i}_${q} = vec4<f32>(0.0);`))
  .join('\n')}
${sums.map((u, j) => `  var sa_${j} = ${u.type}(0.0);\n  var st_${j} = ${u.type}(0.0);`).join('\n')}
${
  // a vec4 load along K implies K % 4 == 0: four steps per iteration, no tail. Otherwise one
  // step per iteration (unrolling scalar loads only costs compile time).
  kVec
    ? `  for (var k = 0u; k < u.K; k += 4u) {\n${step(4)}\n  }`
    : `  for (var k = 0u; k < u.K; k++) {\n${step(1)}\n  }`
}
${l.sums ? columnSumStores(l.sums, sums, sg ? 'wid.x == 0u' : 'gid.x == 0u') : ''}
${storeBlock(l, tm, tn)}`;
  return {
    params: PARAMS,
    buffers: buffers(l),
    workgroup: sg ? sg : [wx, wy],
    builtins: sg ? ['wid', 'lid', 'lane'] : ['gid'],
    subgroups: !!sg,
    prelude: withStore(l, BATCH_OFFSETS + (l.store ? STORE4 : '')),
    body,
  };
}

/**
 * Workgroup-tiled kernel: each workgroup stages a 64 x 16 slice of A and a 16 x 64 slice of B
 * in workgroup memory per K step; each of its 16 x 16 invocations owns a 4 x 4 output block.
 */
export function matmulTiledKernel(l: MatmulLayout): KernelDecl {
  const { tm, tn, tk, wx, wy } = TILE;
  const threads = wx * wy;
  const loads = (tm * tk) / threads; // elements of each tile per invocation
  // consecutive invocations read consecutive addresses along the matrix's contiguous axis
  const tileA = l.transA ? `let kk = e / ${tm}u; let mm = e % ${tm}u;` : `let mm = e / ${tk}u; let kk = e % ${tk}u;`;
  const tileB = l.transB ? `let nn = e / ${tk}u; let kk = e % ${tk}u;` : `let kk = e / ${tn}u; let nn = e % ${tn}u;`;
  const aIdx = l.transA ? 'aOff + k * u.M + m' : 'aOff + m * u.K + k';
  const bIdx = l.transB ? 'bOff + n * u.K + k' : 'bOff + k * u.N + n';
  return {
    params: PARAMS,
    buffers: buffers(l),
    workgroup: [wx, wy],
    builtins: ['wid', 'lid'],
    prelude: withStore(
      l,
      `${BATCH_OFFSETS}${l.store ? STORE4 : ''}
// As[kk * tm + m] holds A[tileM + m, k0 + kk]; Bs[kk * tn + n] holds B[k0 + kk, tileN + n]
var<workgroup> As: array<f32, ${tk * tm}>;
var<workgroup> Bs: array<f32, ${tk * tn}>;`,
    ),
    body: `
  let tileM = u.yBase + wid.y * ${tm}u;
  let tileN = wid.x * ${tn}u;
  let z = wid.z + u.zBase;
  let offs = batchOffsets(z);
  let aOff = offs.x;
  let bOff = offs.y;
  let cOff = z * u.M * u.N;
  let t = lid.y * ${wx}u + lid.x;
  let m0 = tileM + lid.y * 4u;
  let n0 = tileN + lid.x * 4u;
${range(4)
  .flatMap((i) => [`  var acc_${i}_0 = vec4<f32>(0.0);`])
  .join('\n')}
  for (var k0 = 0u; k0 < u.K; k0 += ${tk}u) {
    for (var r = 0u; r < ${loads}u; r++) {
      let e = t + r * ${threads}u;
      {
        ${tileA}
        let m = tileM + mm;
        let k = k0 + kk;
        var v = 0.0;
        if (m < u.M && k < u.K) { v = ${scalarAt('A', l.vecA, aIdx)}; }
        As[kk * ${tm}u + mm] = v;
      }
      {
        ${tileB}
        let n = tileN + nn;
        let k = k0 + kk;
        var v = 0.0;
        if (n < u.N && k < u.K) { v = ${scalarAt('B', l.vecB, bIdx)}; }
        Bs[kk * ${tn}u + nn] = v;
      }
    }
    workgroupBarrier();
    // only the K - k0 valid steps: padding never enters a sum, so the order matches 'register'
    let kmax = min(${tk}u, u.K - k0);
    for (var kk = 0u; kk < kmax; kk++) {
      let ai = kk * ${tm}u + lid.y * 4u;
      let bi = kk * ${tn}u + lid.x * 4u;
      let a = vec4<f32>(As[ai], As[ai + 1u], As[ai + 2u], As[ai + 3u]);
      let b = vec4<f32>(Bs[bi], Bs[bi + 1u], Bs[bi + 2u], Bs[bi + 3u]);
${range(4)
  .map((i) => `      acc_${i}_0 = fma(vec4<f32>(a.${COMP[i]}), b, acc_${i}_0);`)
  .join('\n')}
    }
    workgroupBarrier();
  }
${storeBlock(l, 4, 4)}`,
  };
}
