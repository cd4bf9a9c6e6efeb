// Code generation for fused elementwise work. A fused group is a tree of elementwise maps, each
// a WGSL function computing its value at a flat element index of its own output shape; a map
// that feeds another is called from it instead of being stored and loaded again. The same
// functions serve as a standalone kernel (the tree's root writes its output), as the load step
// of a reduction (its input computed on the fly) and as the store step of a GEMM or a reduction
// (`acc`, the value the host kernel computed, is one input). Each map keeps its own f32
// expression, and every intermediate passes through `fence`, so no compiler contracts a multiply
// of one op with an add of the next: the element sees the same f32 operations as eagerly.
import { read, write, type BufferDecl, type KernelDecl } from './kernel.js';
import { POW_S } from './elementwise.js';

/** An input of a fused map: a buffer read through strides, another fused map, or the host kernel's value. */
export type FusedInput =
  | { kind: 'leaf'; leaf: number; strides: number[]; offset: number; vec4Load?: boolean }
  | { kind: 'map'; map: FusedMap; strides: number[]; offset: number }
  | { kind: 'acc' };

/** One elementwise map: `expr` over its inputs a, b, c and the scalars p0, p1, at each element of `shape`. */
export interface FusedMap {
  expr: string;
  p0: number;
  p1: number;
  shape: number[];
  inputs: FusedInput[];
}

/** A fused group's leaves: the buffers it reads, in binding order. */
export interface FusedLeaves {
  /** vec4: the buffer is declared array<vec4<f32>> (the root's vec4 loads use it) */
  decls: { vec4: boolean }[];
}

const f32Lit = (x: number) => {
  const u = new Uint32Array(new Float32Array([x]).buffer)[0];
  return `bitcast<f32>(0x${u.toString(16)}u)`;
};

const contiguous = (shape: number[]) => {
  const s: number[] = [];
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) (s[d] = acc), (acc *= shape[d]);
  return s;
};

/** Drops size-1 dims and merges neighbours every strided input walks contiguously. */
export function collapseDims(shape: number[], strides: number[][]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k][last] === s[d] * shape[d])) {
      outShape[last] *= shape[d];
      strides.forEach((s, k) => (outStrides[k][last] = s[d]));
    } else {
      outShape.push(shape[d]);
      strides.forEach((s, k) => outStrides[k].push(s[d]));
    }
  }
  if (outShape.length === 0) {
    outShape.push(1);
    strides.forEach((_, k) => outStrides[k].push(0));
  }
  return { shape: outShape, strides: outStrides };
}

/** `idx = offset + Σ c_d·stride_d` for each strided input, from the flat index `e` (constants baked in). */
function indexCode(
  shape: number[],
  inputs: { strides: number[]; offset: number }[],
  names: string[],
  e: string,
): string[] {
  const dims = collapseDims(
    shape,
    inputs.map((x) => x.strides),
  );
  const lines: string[] = [];
  const terms: string[][] = inputs.map((x) => (x.offset ? [`${x.offset}u`] : []));
  const rank = dims.shape.length;
  if (rank === 1) {
    inputs.forEach(
      (_, k) => dims.strides[k][0] && terms[k].push(dims.strides[k][0] === 1 ? e : `${e} * ${dims.strides[k][0]}u`),
    );
  } else {
    lines.push(`var rem = ${e};`);
    for (let d = rank - 1; d >= 0; d--) {
      if (d > 0) lines.push(`let c${d} = rem % ${dims.shape[d]}u;`, `rem = rem / ${dims.shape[d]}u;`);
      else lines.push('let c0 = rem;');
      inputs.forEach(
        (_, k) =>
          dims.strides[k][d] && terms[k].push(dims.strides[k][d] === 1 ? `c${d}` : `c${d} * ${dims.strides[k][d]}u`),
      );
    }
  }
  names.forEach((n, k) => lines.push(`let ${n} = ${terms[k].length ? terms[k].join(' + ') : '0u'};`));
  return lines;
}

/** A map's strided inputs (leaves and maps, with their input slots) and the code computing each one's index `i<slot>` from `e`. */
function indexOfInputs(m: FusedMap): {
  strided: { x: Exclude<FusedInput, { kind: 'acc' }>; i: number }[];
  body: string[];
} {
  const strided = m.inputs.flatMap((x, i) => (x.kind === 'acc' ? [] : [{ x, i }]));
  const body = indexCode(
    m.shape,
    strided.map((s) => s.x),
    strided.map((s) => `i${s.i}`),
    'e',
  );
  return { strided, body };
}

/** Numbers the maps of a tree (children first) so each gets one function. */
function order(root: FusedMap): FusedMap[] {
  const out: FusedMap[] = [];
  const visit = (m: FusedMap) => {
    for (const x of m.inputs) if (x.kind === 'map' && !out.includes(x.map)) visit(x.map);
    out.push(m);
  };
  visit(root);
  return out;
}

const hasAcc = (m: FusedMap): boolean => m.inputs.some((x) => x.kind === 'acc' || (x.kind === 'map' && hasAcc(x.map)));

/**
 * The WGSL of a fused tree: `op_k` (each distinct expression), `v_k(e[, acc])` (each map's value
 * at its flat index e), and for the root `v4(e[, acc])` when `vec4` (four elements e..e+3 along
 * the root's innermost dim, whose extent is a multiple of 4).
 */
export function fusedFunctions(root: FusedMap, leaves: FusedLeaves, vec4: boolean, prefix = ''): string {
  const maps = order(root);
  const exprs: string[] = [];
  const opName = (expr: string) => {
    let i = exprs.indexOf(expr);
    if (i < 0) i = exprs.push(expr) - 1;
    return `${prefix}op_${i}`;
  };
  const leafAt = (leaf: number, idx: string) =>
    leaves.decls[leaf].vec4 ? `${prefix}in_${leaf}[(${idx}) / 4u][(${idx}) % 4u]` : `${prefix}in_${leaf}[${idx}]`;
  const fns: string[] = [];
  const call = (m: FusedMap, args: string[]) =>
    `${opName(m.expr)}(${[0, 1, 2].map((i) => args[i] ?? '0.0').join(', ')}, ${f32Lit(m.p0)}, ${f32Lit(m.p1)})`;
  maps.forEach((m, k) => {
    const acc = hasAcc(m);
    const { strided, body } = indexOfInputs(m);
    const args = m.inputs.map((x, i) => {
      if (x.kind === 'acc') return 'acc';
      if (x.kind === 'leaf') return leafAt(x.leaf, `i${i}`);
      return `${prefix}v_${maps.indexOf(x.map)}(i${i}${hasAcc(x.map) ? ', acc' : ''})`;
    });
    args.forEach((a, i) => body.push(`let a${i} = fence(${a});`));
    body.push(
      `return ${call(
        m,
        m.inputs.map((_, i) => `a${i}`),
      )};`,
    );
    fns.push(`fn ${prefix}v_${k}(e: u32${acc ? ', acc: f32' : ''}) -> f32 {\n  ${body.join('\n  ')}\n}`);
  });
  if (vec4) {
    // the root, four elements at a time: index math once, a vec4 load where the input allows
    const m = root;
    const acc = hasAcc(m);
    const { strided, body } = indexOfInputs(m);
    const dims = collapseDims(
      m.shape,
      strided.map((s) => s.x.strides),
    );
    const lastStride = (j: number) => dims.strides[j][dims.shape.length - 1];
    strided.forEach((s, j) => {
      const st = lastStride(j);
      const at = (t: number) => (st === 0 || t === 0 ? `i${s.i}` : `i${s.i} + ${t * st}u`);
      if (s.x.kind === 'leaf' && s.x.vec4Load && leaves.decls[s.x.leaf].vec4 && st === 1)
        body.push(`let a${s.i} = ${prefix}in_${s.x.leaf}[i${s.i} / 4u];`);
      else if (s.x.kind === 'leaf')
        body.push(
          `let a${s.i} = vec4<f32>(${[0, 1, 2, 3].map((t) => leafAt((s.x as { leaf: number }).leaf, at(t))).join(', ')});`,
        );
      else {
        const f = `${prefix}v_${maps.indexOf(s.x.map)}`;
        const extra = hasAcc(s.x.map) ? ', acc.x' : '';
        body.push(`let a${s.i} = vec4<f32>(${[0, 1, 2, 3].map((t) => `${f}(${at(t)}${extra})`).join(', ')});`);
      }
    });
    m.inputs.forEach((x, i) => x.kind === 'acc' && body.push(`let a${i} = acc;`));
    const comps = ['x', 'y', 'z', 'w'].map(
      (c) =>
        `fence(${call(
          m,
          m.inputs.map((_, i) => `a${i}.${c}`),
        )})`,
    );
    body.push(`return vec4<f32>(${comps.join(', ')});`);
    fns.push(`fn ${prefix}v4(e: u32${acc ? ', acc: vec4<f32>' : ''}) -> vec4<f32> {\n  ${body.join('\n  ')}\n}`);
  }
  const ops = exprs.map(
    (x, i) => `fn ${prefix}op_${i}(a: f32, b: f32, c: f32, p0: f32, p1: f32) -> f32 { return ${x}; }`,
  );
  return [...ops, ...fns].join('\n');
}

/** What every kernel with fused functions needs once: pow_s, and `fence`, an opaque identity (u.fence is 0, which no compiler can know). */
export const FUSED_HELPERS = `${POW_S}\nfn fence(v: f32) -> f32 { return select(v, 0.0, u.fence != 0u); }`;

/** The name of a tree's value function (the root's scalar one). */
export const rootFn = (root: FusedMap, prefix = '') => `${prefix}v_${order(root).length - 1}`;

/** The leaves' storage declarations (bindings after the host kernel's own). */
export function leafBuffers(leaves: FusedLeaves, prefix = ''): BufferDecl[] {
  return leaves.decls.map((d, i) => read(`${prefix}in_${i}`, d.vec4 ? 'vec4<f32>' : 'f32'));
}

/** True when the root can run four elements per invocation (innermost extent a multiple of 4). */
export function rootVec4(root: FusedMap): boolean {
  const strided = root.inputs.filter((x) => x.kind !== 'acc') as Exclude<FusedInput, { kind: 'acc' }>[];
  const dims = collapseDims(
    root.shape,
    strided.map((x) => x.strides),
  );
  return dims.shape[dims.shape.length - 1] % 4 === 0;
}

/** A fused elementwise kernel: the root map's value stored at every element. */
export function fusedMapKernel(root: FusedMap, leaves: FusedLeaves, n: number): KernelDecl {
  const vec4 = rootVec4(root);
  return {
    params: 'fence: u32, n: u32,',
    buffers: [...leafBuffers(leaves), write('out', vec4 ? 'vec4<f32>' : 'f32')],
    prelude: `${FUSED_HELPERS}\n${fusedFunctions(root, leaves, vec4)}`,
    guard: vec4 ? `${n / 4}u` : `${Math.ceil(n / 4)}u`,
    body: vec4
      ? '  out[i] = v4(i * 4u);'
      : `  for (var k = 0u; k < 4u; k++) {\n    let e = i * 4u + k;\n    if (e >= ${n}u) { return; }\n    out[e] = ${rootFn(root)}(e);\n  }`,
  };
}

export { contiguous as contiguousStridesOf };
