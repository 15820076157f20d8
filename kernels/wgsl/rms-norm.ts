// WGSL of RMSNorm, one workgroup per row: out (+)= x · rsqrt(mean(x²) + eps) · weight. Rows are a model's tokens
// (width hidden) or every head of every token (width head_dim: Qwen3's and Gemma's Q/K norms); `accumulate` adds the
// result to out, as Gemma's post-norms feed the residual stream.
import { uniforms } from "../uniforms.ts";
import { storageTypesWgsl, type WeightType } from "./weights.ts";

export const RMS_NORM_PARAMS = uniforms([
  ["rows", "u32"],
  ["dim", "u32"],
  ["eps", "f32"],
  ["accumulate", "u32", "1: out += the normed row (a residual add) instead of out = it"],
]);

/** Workgroups along x per row of the dispatch grid: rows past it continue on the next grid row. */
export const RMS_NORM_GRID_X = 65535;

/** The kernel reading rows stored as `xt` and storing `out` as `ot` (f16 activations of an f16 pass); f32 sums. */
export function rmsNormWgsl(ot: WeightType = "f32", xt: WeightType = "f32"): string {
  return `${storageTypesWgsl({ ot, xt })}${RMS_NORM_PARAMS.wgsl}@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<xt>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<ot>;
var<workgroup> part: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = wg.y * ${RMS_NORM_GRID_X}u + wg.x;
  // The whole workgroup leaves together, so the barriers below stay uniform.
  if (row >= p.rows) { return; }
  let base = row * p.dim;
  var s = 0.0;
  for (var i = lid.x; i < p.dim; i += 64u) { let v = f32(x[base + i]); s += v * v; }
  part[lid.x] = s;
  workgroupBarrier();
  for (var stride = 32u; stride > 0u; stride /= 2u) {
    if (lid.x < stride) { part[lid.x] += part[lid.x + stride]; }
    workgroupBarrier();
  }
  let r = inverseSqrt(part[0] / f32(p.dim) + p.eps);
  for (var i = lid.x; i < p.dim; i += 64u) {
    let y = weight[i] * (f32(x[base + i]) * r);
    if (p.accumulate == 1u) { out[base + i] = ot(f32(out[base + i]) + y); } else { out[base + i] = ot(y); }
  }
}`;
}
