// WGSL of a linear layer's bias (Qwen2's Q, K and V): y[r, c] += b[c] over rows of `width` values.
import { uniforms } from "../uniforms.ts";
import { storageTypesWgsl, type WeightType } from "./weights.ts";

export const BIAS_ADD_PARAMS = uniforms([
  ["n", "u32", "elements of y"],
  ["width", "u32", "values per row (the bias length)"],
]);

/**
 * The kernel, y stored as `yt` (the sum in f32); dispatched over ceil(n / 256) workgroups, rows of 65535 groups.
 *
 * @example
 * device.createShaderModule({ code: biasAddWgsl() });
 */
export function biasAddWgsl(yt: WeightType = "f32"): string {
  return `${storageTypesWgsl({ yt })}${BIAS_ADD_PARAMS.wgsl}@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> y: array<yt>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y * 65535u * 256u + gid.x;
  if (i >= p.n) { return; }
  y[i] = yt(f32(y[i]) + b[i % p.width]);
}`;
}
