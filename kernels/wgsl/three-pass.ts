// WGSL of the unfused baseline: a RoPE pass (rotated Q and K written out), then scores into an
// explicit [rows, seq] matrix, a softmax per row, and the weighted sum of V. The textbook way,
// kept plain on purpose: it is the reference for tests and the benchmark's baseline.
import { ropeRotateWgsl, ropeWgsl } from "./rope.ts";
import { uniforms } from "../uniforms.ts";

export interface ThreePassShape {
  headDim: number;
  rotaryDim: number;
  /** Constant loop bounds (unrollable) or bounds from the uniform; as FlashShape.unroll. */
  unroll: boolean;
}

/** The uniform every three-pass kernel reads. */
export const THREE_PASS_PARAMS = uniforms([
  ["seq", "u32"],
  ["rows", "u32", "rope pass: rows to rotate; other passes: query rows in this chunk"],
  ["row0", "u32", "first query row (token index) of the chunk"],
  ["q_row0", "u32", "first row of this query head in the rotated-Q buffer"],
  ["k_row0", "u32", "first row of its KV head in the K and V buffers"],
  ["d4", "u32", "head dim in vec4s, as a loop bound when not unrolled"],
  ["scale", "f32", "softmax scale (scores pass) or attention factor (rope pass)"],
  ["rh4", "u32", "vec4s in each rotated half, likewise"],
]);

const params = /* wgsl */ `${THREE_PASS_PARAMS.wgsl}@group(0) @binding(0) var<uniform> P: Params;
`;

export function ropePassWgsl(s: ThreePassShape): string {
  const d4 = s.headDim / 4;
  const rh4 = s.rotaryDim / 8;
  return /* wgsl */ `${params}
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> pos: array<u32>;
@group(0) @binding(3) var<storage, read> freq: array<vec2<u32>>;
@group(0) @binding(4) var<storage, read_write> dst: array<vec4<f32>>;
${ropeWgsl}
${ropeRotateWgsl("P.scale")}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  if (row >= P.rows) { return; }
  let base = row * ${d4}u;
  let p = pos[row % P.seq];
  for (var c = 0u; c < ${s.unroll ? `${rh4}u` : "P.rh4"}; c++) {
    let r = rope_rotate(src[base + c], src[base + c + ${rh4}u], p, c);
    dst[base + c] = r.lo;
    dst[base + c + ${rh4}u] = r.hi;
  }
  for (var c = ${2 * rh4}u; c < ${s.unroll ? `${d4}u` : "P.d4"}; c++) { dst[base + c] = src[base + c]; }
}
`;
}

export function scoresWgsl(s: ThreePassShape): string {
  const d4 = s.headDim / 4;
  return /* wgsl */ `${params}
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;

@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  let r = gid.y;
  let i = P.row0 + r;
  if (r >= P.rows || j > i) { return; }
  let qb = (P.q_row0 + i) * ${d4}u;
  let kb = (P.k_row0 + j) * ${d4}u;
  var d = 0.0;
  for (var c = 0u; c < ${s.unroll ? `${d4}u` : "P.d4"}; c++) { d += dot(q[qb + c], k[kb + c]); }
  scores[r * P.seq + j] = d * P.scale;
}
`;
}

export function softmaxWgsl(): string {
  return /* wgsl */ `${params}
@group(0) @binding(1) var<storage, read_write> scores: array<f32>;
var<workgroup> red: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wg.x;
  let n = P.row0 + r + 1u;
  let base = r * P.seq;
  var mx = -3.0e38;
  for (var j = lid; j < n; j += 64u) { mx = max(mx, scores[base + j]); }
  red[lid] = mx;
  workgroupBarrier();
  for (var w = 32u; w > 0u; w >>= 1u) {
    if (lid < w) { red[lid] = max(red[lid], red[lid + w]); }
    workgroupBarrier();
  }
  mx = red[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var j = lid; j < n; j += 64u) { sum += exp(scores[base + j] - mx); }
  red[lid] = sum;
  workgroupBarrier();
  for (var w = 32u; w > 0u; w >>= 1u) {
    if (lid < w) { red[lid] += red[lid + w]; }
    workgroupBarrier();
  }
  let inv = 1.0 / red[0];
  for (var j = lid; j < n; j += 64u) { scores[base + j] = exp(scores[base + j] - mx) * inv; }
}
`;
}

export function weightedSumWgsl(s: ThreePassShape): string {
  const d4 = s.headDim / 4;
  return /* wgsl */ `${params}
@group(0) @binding(1) var<storage, read> scores: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x / ${d4}u;
  let c = gid.x % ${d4}u;
  if (r >= P.rows) { return; }
  let i = P.row0 + r;
  var acc = vec4<f32>(0.0);
  for (var j = 0u; j <= i; j++) { acc += scores[r * P.seq + j] * v[(P.k_row0 + j) * ${d4}u + c]; }
  out[(P.q_row0 + i) * ${d4}u + c] = acc;
}
`;
}
