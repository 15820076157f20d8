// WGSL of the gated MLP's activation, elementwise: g = act(g) · u, with SwiGLU's silu or Gemma's GELU (tanh form).
import { uniforms } from "../uniforms.ts";
import { storageTypesWgsl, type WeightType } from "./weights.ts";

export const GLU_PARAMS = uniforms([["n", "u32", "elements"]]);

export type GluActivation = "silu" | "gelu-tanh";

const ACT: Record<GluActivation, string> = {
  silu: "a / (1.0 + exp(-a))",
  // gelu_pytorch_tanh: 0.5·a·(1 + tanh(√(2/π)·(a + 0.044715·a³))).
  "gelu-tanh": "0.5 * a * (1.0 + tanh(0.7978845608028654 * (a + 0.044715 * a * a * a)))",
};

/**
 * The kernel for one activation, g and u stored as `at` (computed in f32); dispatched over ceil(n / 256) workgroups, rows of 65535 groups.
 *
 * @example
 * device.createShaderModule({ code: gluWgsl("gelu-tanh") });
 */
export function gluWgsl(activation: GluActivation, at: WeightType = "f32"): string {
  return `${storageTypesWgsl({ at })}${GLU_PARAMS.wgsl}@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> g: array<at>;
@group(0) @binding(2) var<storage, read> u: array<at>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y * 65535u * 256u + gid.x;
  if (i >= p.n) { return; }
  let a = f32(g[i]);
  g[i] = at(${ACT[activation]} * f32(u[i]));
}`;
}
