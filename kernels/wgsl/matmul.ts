// WGSL of the linear layers of the decoder forward pass: y (+)= x·Wᵀ with transformers' [out, in] weights.
import { uniforms } from "../uniforms.ts";
import { storageTypesWgsl, type WeightType } from "./weights.ts";

/** Outputs per invocation along the rows of y (each invocation makes 4 rows of one column). */
export const MM_ROWS = 4;
export const MM_GROUP = 64;

export const MATMUL_PARAMS = uniforms([
  ["M", "u32"],
  ["N", "u32"],
  ["K", "u32"],
  ["accumulate", "u32", "1: add to y (the residual stream) instead of overwriting it"],
  ["xRow0", "u32", "first row of x"],
  ["yRow0", "u32", "first row of y (row chunks of a longer y)"],
]);

/**
 * y[yRow0 + m, n] (+)= Σ_k x[xRow0 + m, k] · w[n, k]. K must be a multiple of 4. Weights `wt`, input `xt`, output
 * `yt` as stored; the sum is f32.
 * No workgroup memory: on lavapipe (CPU Vulkan) barriers cost more than the reuse they buy, and this
 * form ran 1.5x faster there than a 64×64 shared-memory tile.
 */
export function matmulWgsl(wt: WeightType, xt: WeightType = "f32", yt: WeightType = "f32"): string {
  return `${storageTypesWgsl({ wt, xt, yt })}
${MATMUL_PARAMS.wgsl}@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<xt>>;
@group(0) @binding(2) var<storage, read> w: array<vec4<wt>>;
@group(0) @binding(3) var<storage, read_write> y: array<yt>;
@compute @workgroup_size(${MM_GROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  let r0 = gid.y * 4u;
  if (c >= p.N || r0 >= p.M) { return; }
  let K4 = p.K / 4u;
  let last = p.M - 1u;
  let x0 = (p.xRow0 + r0) * K4;
  let x1 = (p.xRow0 + min(r0 + 1u, last)) * K4;
  let x2 = (p.xRow0 + min(r0 + 2u, last)) * K4;
  let x3 = (p.xRow0 + min(r0 + 3u, last)) * K4;
  var acc = vec4<f32>();
  for (var k = 0u; k < K4; k++) {
    let wv = vec4<f32>(w[c * K4 + k]);
    acc += vec4<f32>(dot(vec4<f32>(x[x0 + k]), wv), dot(vec4<f32>(x[x1 + k]), wv), dot(vec4<f32>(x[x2 + k]), wv), dot(vec4<f32>(x[x3 + k]), wv));
  }
  for (var i = 0u; i < 4u; i++) {
    let r = r0 + i;
    if (r >= p.M) { break; }
    let o = (p.yRow0 + r) * p.N + c;
    if (p.accumulate == 1u) { y[o] = yt(f32(y[o]) + acc[i]); } else { y[o] = yt(acc[i]); }
  }
}`;
}
