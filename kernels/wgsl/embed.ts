// WGSL of the embedding lookup: x[t, :] = embedding[tokens[t], :] · scale (Gemma scales by √hidden, others by 1).
import { uniforms } from "../uniforms.ts";
import { weightTypeWgsl, type WeightType } from "./weights.ts";

export const EMBED_PARAMS = uniforms([
  ["rows", "u32", "tokens"],
  ["dim", "u32", "hidden size"],
  ["scale", "f32", "multiplies every value"],
]);

export function embedWgsl(wt: WeightType): string {
  return `${weightTypeWgsl(wt)}
${EMBED_PARAMS.wgsl}@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> tokens: array<u32>;
@group(0) @binding(2) var<storage, read> table: array<wt>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y * 65535u * 256u + gid.x;
  if (i >= p.rows * p.dim) { return; }
  let t = i / p.dim;
  x[i] = f32(table[tokens[t] * p.dim + i % p.dim]) * p.scale;
}`;
}
