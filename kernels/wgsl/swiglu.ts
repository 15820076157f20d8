// WGSL of the Llama MLP's activation: g = silu(g) · u, elementwise.
import { uniforms } from "../uniforms.ts";

export const SWIGLU_PARAMS = uniforms([["n", "u32", "elements"]]);

export function swigluWgsl(): string {
  return `
${SWIGLU_PARAMS.wgsl}@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> g: array<f32>;
@group(0) @binding(2) var<storage, read> u: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y * 65535u * 256u + gid.x;
  if (i >= p.n) { return; }
  let a = g[i];
  g[i] = a / (1.0 + exp(-a)) * u[i];
}`;
}
