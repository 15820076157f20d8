// WGSL of the next-token NLL, one workgroup per scored row: nll = log Σ exp(l - max) + max - l[target].
import { uniforms } from "../uniforms.ts";

export const NLL_PARAMS = uniforms([
  ["rows", "u32", "logits rows in this chunk"],
  ["vocab", "u32"],
  ["target0", "u32", "logits row r predicts tokens[target0 + r]"],
  ["out0", "u32", "and its NLL goes to nll[out0 + r]"],
]);

export function nllWgsl(): string {
  return `
${NLL_PARAMS.wgsl}@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> tokens: array<u32>;
@group(0) @binding(3) var<storage, read_write> nll: array<f32>;
var<workgroup> part: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let base = wg.x * p.vocab;
  var m = -3.0e38;
  for (var i = lid.x; i < p.vocab; i += 256u) { m = max(m, logits[base + i]); }
  part[lid.x] = m;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s /= 2u) {
    if (lid.x < s) { part[lid.x] = max(part[lid.x], part[lid.x + s]); }
    workgroupBarrier();
  }
  let mx = part[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var i = lid.x; i < p.vocab; i += 256u) { sum += exp(logits[base + i] - mx); }
  part[lid.x] = sum;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s /= 2u) {
    if (lid.x < s) { part[lid.x] += part[lid.x + s]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    let tgt = tokens[p.target0 + wg.x];
    nll[p.out0 + wg.x] = log(part[0]) + mx - logits[base + tgt];
  }
}`;
}
