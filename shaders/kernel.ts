// A kernel is declared once: its uniform fields, its storage buffers in binding order, its
// workgroup size and the builtins its entry point reads. The WGSL header (uniform struct,
// bindings, entry signature, and for 1-D kernels the flat index with its bounds guard) is
// generated from that declaration, and the engine builds the bind-group layout from the same
// buffer list, so shader and layout cannot disagree.

export type Access = 'read' | 'write' | 'uniform';

export interface BufferDecl {
  name: string;
  access: Access;
  /** element type of the array, e.g. 'f32', 'vec4<f32>', 'u32' */
  type: string;
  /** a uniform array's fixed length (its binding is exactly this many elements) */
  length?: number;
}

/** A read-only storage array (binding order is the order of the list). */
export const read = (name: string, type = 'f32'): BufferDecl => ({ name, access: 'read', type });
/** A read-write storage array. */
export const write = (name: string, type = 'f32'): BufferDecl => ({ name, access: 'write', type });
/**
 * A read-only array in the uniform address space, of `length` elements of a 16-byte `type`. On
 * lavapipe a lane's load from it is a plain load, where a storage load is a bounds check and a
 * branch per lane and component; bindings are limited to 64 KiB.
 */
export const uniformArray = (name: string, type: string, length: number): BufferDecl => ({
  name,
  access: 'uniform',
  type,
  length,
});

/** The WGSL declaration of binding `binding`. */
function bufferVar(b: BufferDecl, binding: number): string {
  const at = `@group(0) @binding(${binding})`;
  if (b.access === 'uniform') return `${at} var<uniform> ${b.name}: array<${b.type}, ${b.length}>;`;
  return `${at} var<storage, ${b.access === 'read' ? 'read' : 'read_write'}> ${b.name}: array<${b.type}>;`;
}

/** Entry-point builtins by the names the kernels use for them. */
const BUILTINS = {
  gid: 'global_invocation_id',
  wid: 'workgroup_id',
  lid: 'local_invocation_id',
  nwg: 'num_workgroups',
  lane: 'subgroup_invocation_id',
} as const;
export type Builtin = keyof typeof BUILTINS;

export interface KernelDecl {
  /** fields of the uniform block `u`, in WGSL syntax ('n: u32, s: f32'); absent: no uniforms */
  params?: string;
  /** storage (or uniform) arrays, bound at 1, 2, ... (0 is the uniform block) */
  buffers: BufferDecl[];
  /** workgroup size, default 256 (x only) */
  workgroup?: number | readonly [number, number];
  /** builtins `main` receives; default gid and nwg */
  builtins?: readonly Builtin[];
  /** the kernel uses subgroup operations */
  subgroups?: boolean;
  /** module-scope code between the bindings and `main`: workgroup arrays, helper functions */
  prelude?: string;
  /**
   * 1-D kernels: the number of invocations that do work. `main` then starts with the flat
   * index `i` (dispatches split over x and y) and returns when `i >= guard`.
   */
  guard?: string;
  /** the statements of `main` */
  body: string;
}

/** Workgroup size of the 1-D families. */
export const WG = 256;

const wgSize = (d: KernelDecl) => (typeof d.workgroup === 'object' ? d.workgroup : [d.workgroup ?? WG, 1]);

/** The full WGSL module of a declaration. */
export function kernelWGSL(d: KernelDecl): string {
  const [wx, wy] = wgSize(d);
  const out: string[] = [];
  if (d.subgroups) out.push('enable subgroups;');
  if (d.params !== undefined) {
    out.push(`struct Params {\n  ${d.params.trim()}\n}`, '@group(0) @binding(0) var<uniform> u: Params;');
  }
  d.buffers.forEach((b, i) => out.push(bufferVar(b, i + 1)));
  if (d.prelude) out.push(d.prelude);
  const builtins = d.builtins ?? ['gid', 'nwg'];
  const args = builtins.map((b) => `@builtin(${BUILTINS[b]}) ${b}: ${b === 'lane' ? 'u32' : 'vec3<u32>'}`);
  out.push(`@compute @workgroup_size(${wx}${wy === 1 ? '' : `, ${wy}`})`, `fn main(${args.join(', ')}) {`);
  if (d.guard !== undefined) {
    if (!builtins.includes('gid') || !builtins.includes('nwg'))
      throw new Error('kernelWGSL: a guarded kernel needs the gid and nwg builtins');
    out.push(`  let i = gid.x + gid.y * nwg.x * ${wx}u;`, `  if (i >= ${d.guard}) { return; }`);
  }
  out.push(d.body.replace(/^\n+|\s+$/g, ''), '}', '');
  return out.join('\n');
}

/** Reads entry d of an `array<vec4<u32>, 2>` dims field. */
export const dimAt = (field: string, d: string) => `${field}[(${d}) / 4u][(${d}) % 4u]`;
