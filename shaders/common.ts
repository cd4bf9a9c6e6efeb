// Shared WGSL snippets.

/** Workgroup size of the 1-D elementwise family. */
export const WG = 256;

/** Flat invocation index for dispatches split over x and y (more than 65535 groups). */
export const flatIndex = (wg = WG) =>
  `let i = gid.x + gid.y * nwg.x * ${wg}u;`;

export const mainSignature = (wg: number | string = WG) =>
  `@compute @workgroup_size(${wg})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>)`;

/** Reads entry d of an `array<vec4<u32>, 2>` dims field. */
export const dimAt = (field: string, d: string) => `${field}[(${d}) / 4u][(${d}) % 4u]`;
