// WGSL of LlamaRMSNorm, one workgroup per row: out = x · rsqrt(mean(x²) + eps) · weight.
import { uniforms } from "../uniforms.ts";

export const RMS_NORM_PARAMS = uniforms([
  ["rows", "u32"],
  ["dim", "u32"],
  ["eps", "f32"],
]);

export function rmsNormWgsl(): string {
  return `
${RMS_NORM_PARAMS.wgsl}@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
var<workgroup> part: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let base = wg.x * p.dim;
  var s = 0.0;
  for (var i = lid.x; i < p.dim; i += 64u) { let v = x[base + i]; s += v * v; }
  part[lid.x] = s;
  workgroupBarrier();
  for (var stride = 32u; stride > 0u; stride /= 2u) {
    if (lid.x < stride) { part[lid.x] += part[lid.x + stride]; }
    workgroupBarrier();
  }
  let r = inverseSqrt(part[0] / f32(p.dim) + p.eps);
  for (var i = lid.x; i < p.dim; i += 64u) { out[base + i] = weight[i] * (x[base + i] * r); }
}`;
}
