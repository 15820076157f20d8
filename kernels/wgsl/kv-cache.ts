// WGSL of incremental decoding's two kernels: storing new rows' keys and values into a layer's K/V cache (keys,
// and the queries, rotated at their absolute positions), and attention of new query rows over the cache.
import { ropeWgsl } from "./rope.ts";
import { uniforms } from "../uniforms.ts";
import { storageTypesWgsl, type WeightType } from "./weights.ts";

export const ROPE_STORE_PARAMS = uniforms([
  ["rows", "u32", "tokens"],
  ["heads", "u32"],
  ["head_dim", "u32"],
  ["half", "u32", "rotary pairs per head (rotaryDim/2); 0 copies unrotated (values)"],
  ["pos0", "u32", "position of the first row"],
  ["dst_row0", "u32", "row of dst the first row goes to"],
  ["factor", "f32", "attention factor multiplying cos and sin"],
]);

/**
 * dst[dst_row0 + t, h, :] = src[t, h, :] with pair (j, j + half) rotated at position pos0 + t for j < half (NeoX
 * rotate-half, as the CPU path's applyRope) and the dims from 2·half on copied; one invocation per element, rows
 * of 65535 workgroups of 256.
 *
 * @example
 * device.createShaderModule({ code: ropeStoreWgsl() });
 */
export function ropeStoreWgsl(st: WeightType = "f32"): string {
  return `${storageTypesWgsl({ st })}${ROPE_STORE_PARAMS.wgsl}@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<st>;
@group(0) @binding(2) var<storage, read> freq: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
${ropeWgsl}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y * 65535u * 256u + gid.x;
  let width = p.heads * p.head_dim;
  if (i >= p.rows * width) { return; }
  let t = i / width;
  let d = i % p.head_dim;
  let o = (p.dst_row0 + t) * width + i % width;
  if (d >= 2u * p.half) { dst[o] = f32(src[i]); return; }
  let j = select(d - p.half, d, d < p.half);
  let cs = rope_cos_sin(p.pos0 + t, freq[j]) * p.factor;
  if (d < p.half) {
    dst[o] = f32(src[i]) * cs.x - f32(src[i + p.half]) * cs.y;
  } else {
    dst[o] = f32(src[i]) * cs.x + f32(src[i - p.half]) * cs.y;
  }
}`;
}

export const CACHED_ATTENTION_PARAMS = uniforms([
  ["rows", "u32", "query rows (new tokens)"],
  ["heads", "u32", "query heads"],
  ["kv_heads", "u32"],
  ["head_dim", "u32", "at most 256"],
  ["past", "u32", "tokens cached before the first query row"],
  ["window", "u32", "a query sees the `window` keys ending at its own; 0: every earlier key"],
  ["scale", "f32", "multiplies Q·Kᵀ"],
]);

/** Keys per tile of the cached attention (and invocations per workgroup). */
export const CACHED_ATTENTION_TILE = 64;

/**
 * out[r, h, :] = softmax(scale · q[r, h] · K[s]ᵀ) · V[s] over the cached keys s visible from position past + r,
 * with q and K already rotated; K and V are token-major [capacity, kv_heads, head_dim]. One workgroup per (row, head)
 * (dispatch rows × heads), 64 keys per tile and an online softmax: nothing grows with the square of the context.
 *
 * @example
 * device.createShaderModule({ code: cachedAttentionWgsl() });
 */
export function cachedAttentionWgsl(): string {
  const T = CACHED_ATTENTION_TILE;
  return `
${CACHED_ATTENTION_PARAMS.wgsl}@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
var<workgroup> qs: array<f32, 256>;
var<workgroup> probs: array<f32, ${T}>;
var<workgroup> red: array<f32, ${T}>;

// The workgroup's reduction of one value per invocation (max when is_max, else sum), returned to every invocation.
fn reduce(x: f32, lid: u32, is_max: bool) -> f32 {
  red[lid] = x;
  workgroupBarrier();
  for (var stride = ${T / 2}u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      red[lid] = select(red[lid] + red[lid + stride], max(red[lid], red[lid + stride]), is_max);
    }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(${T})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let lid = lid3.x;
  let r = wg.x;
  let h = wg.y;
  let D = p.head_dim;
  let t = p.past + r;
  let kvh = h / (p.heads / p.kv_heads);
  let qo = (r * p.heads + h) * D;
  for (var i = lid; i < D; i += ${T}u) { qs[i] = q[qo + i] * p.scale; }
  workgroupBarrier();
  var first = 0u;
  if (p.window > 0u && t + 1u > p.window) { first = t + 1u - p.window; }
  var m = -3.0e38;
  var l = 0.0;
  // Invocation lid owns output dims lid, lid + 64, lid + 128, lid + 192.
  var acc = vec4<f32>();
  for (var s0 = first; s0 <= t; s0 += ${T}u) {
    let s = s0 + lid;
    var score = -3.0e38;
    if (s <= t) {
      let ko = (s * p.kv_heads + kvh) * D;
      var dot = 0.0;
      for (var i = 0u; i < D; i++) { dot += qs[i] * k[ko + i]; }
      score = dot;
    }
    let m_new = max(m, reduce(score, lid, true));
    let e = select(0.0, exp(score - m_new), s <= t);
    probs[lid] = e;
    let c = exp(m - m_new);
    l = l * c + reduce(e, lid, false);
    acc *= c;
    m = m_new;
    let n = min(${T}u, t + 1u - s0);
    for (var j = 0u; j < n; j++) {
      let vo = ((s0 + j) * p.kv_heads + kvh) * D;
      for (var e4 = 0u; e4 < 4u; e4++) {
        let d = lid + e4 * ${T}u;
        if (d < D) { acc[e4] += probs[j] * v[vo + d]; }
      }
    }
    workgroupBarrier();
  }
  for (var e4 = 0u; e4 < 4u; e4++) {
    let d = lid + e4 * ${T}u;
    if (d < D) { out[qo + d] = acc[e4] / l; }
  }
}`;
}
