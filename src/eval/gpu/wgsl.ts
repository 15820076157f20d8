// WGSL for the Llama forward pass. Activations are f32; weights are `wt` (f32, or f16 with shader-f16);
// every sum accumulates in f32.

export type WeightType = "f32" | "f16";

const header = (wt: WeightType) => (wt === "f16" ? "enable f16;\nalias wt = f16;\n" : "alias wt = f32;\n");

/** Outputs per invocation along the rows of y (each invocation makes 4 rows of one column). */
export const MM_ROWS = 4;
export const MM_GROUP = 64;

/**
 * y[m, n] (+)= Σ_k x[xRow0 + m, k] · w[n, k]   (a linear layer xWᵀ with transformers' [out, in] weights).
 * `accumulate` = 1 adds to y (the residual stream) instead of overwriting it. K must be a multiple of 4.
 * No workgroup memory: on lavapipe (CPU Vulkan) barriers cost more than the reuse they buy, and this
 * form ran 1.5x faster there than a 64×64 shared-memory tile.
 */
export function matmulWgsl(wt: WeightType): string {
  return `${header(wt)}
struct P { M: u32, N: u32, K: u32, accumulate: u32, xRow0: u32, _a: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<vec4<wt>>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
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
    acc += vec4<f32>(dot(x[x0 + k], wv), dot(x[x1 + k], wv), dot(x[x2 + k], wv), dot(x[x3 + k], wv));
  }
  for (var i = 0u; i < 4u; i++) {
    let r = r0 + i;
    if (r >= p.M) { break; }
    let o = r * p.N + c;
    if (p.accumulate == 1u) { y[o] = y[o] + acc[i]; } else { y[o] = acc[i]; }
  }
}`;
}

/** x[t, :] = embedding[tokens[t], :]. */
export function embedWgsl(wt: WeightType): string {
  return `${header(wt)}
struct P { rows: u32, dim: u32, _a: u32, _b: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> tokens: array<u32>;
@group(0) @binding(2) var<storage, read> table: array<wt>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= p.rows * p.dim) { return; }
  let t = i / p.dim;
  x[i] = f32(table[tokens[t] * p.dim + i % p.dim]);
}`;
}

/** LlamaRMSNorm, one workgroup per row: out = x · rsqrt(mean(x²) + eps) · weight. */
export function rmsNormWgsl(): string {
  return `
struct P { rows: u32, dim: u32, eps: f32, _a: u32 }
@group(0) @binding(0) var<uniform> p: P;
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

/** g = silu(g) · u, elementwise. */
export function swigluWgsl(): string {
  return `
struct P { n: u32, _a: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<uniform> p: P;
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

/**
 * Next-token NLL, one workgroup per scored row: logits row r (of this chunk) predicts tokens[target0 + r].
 * nll = log Σ exp(l - max) + max - l[target].
 */
export function nllWgsl(): string {
  return `
struct P { rows: u32, vocab: u32, target0: u32, out0: u32 }
@group(0) @binding(0) var<uniform> p: P;
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
