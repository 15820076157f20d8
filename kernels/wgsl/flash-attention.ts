// WGSL of the fused kernel: causal flash attention with RoPE applied to Q and K on load.
// One invocation owns one query row (its rotated q and its output accumulator in registers);
// the workgroup walks the key/value tiles up to its last query, staging each tile (K already
// rotated) in workgroup memory, with an online softmax, so no S×S matrix exists anywhere.
import { ropeRotateWgsl, ropeWgsl } from "./rope.ts";
import type { AttentionDtype } from "../params.ts";

export interface FlashShape {
  headDim: number;
  rotaryDim: number;
  dtype: AttentionDtype;
  /** Query rows per workgroup (= workgroup size). */
  blockQ: number;
  /** Keys per tile staged in workgroup memory. */
  blockK: number;
  /**
   * Whether loop trip counts are compile-time constants (the driver may unroll: best on GPUs) or
   * read from the uniform. lavapipe fully unrolls constant loops and then takes minutes to compile
   * this kernel from Dawn's SPIR-V; with uniform bounds it compiles in seconds.
   */
  unroll: boolean;
}

/** Size of the Params uniform in 32-bit words (the host writes it in this order). */
export const FLASH_UNIFORM_WORDS = 8;

/** The uniform's words, in the Params order of the shader. */
export function flashUniform(u: {
  seq: number; groupSize: number; qHeadOffset: number; headDim: number; rotaryDim: number; blockK: number; scaleLog2: number; attentionFactor: number;
}): ArrayBuffer {
  const words = new ArrayBuffer(FLASH_UNIFORM_WORDS * 4);
  new Uint32Array(words, 0, 6).set([u.seq, u.groupSize, u.qHeadOffset, u.headDim / 4, u.rotaryDim / 8, u.blockK]);
  new Float32Array(words, 24, 2).set([u.scaleLog2, u.attentionFactor]);
  return words;
}

export function flashAttentionWgsl(s: FlashShape): string {
  const d4 = s.headDim / 4;
  const rh4 = s.rotaryDim / 8;
  const units = rh4 + (s.headDim - s.rotaryDim) / 4;
  const t = s.dtype === "f16" ? "f16" : "f32";
  // Loop bounds: constants, or the same values read from the uniform (see FlashShape.unroll).
  const D4 = s.unroll ? "D4" : "P.d4";
  const RH4 = s.unroll ? "RH4" : "P.rh4";
  const BK = s.unroll ? "BK" : "P.bk";
  return /* wgsl */ `${s.dtype === "f16" ? "enable f16;" : ""}
const D4: u32 = ${d4}u;       // head dim in vec4s
const RH4: u32 = ${rh4}u;     // vec4s in each rotated half
const UNITS: u32 = ${units}u; // load units per key: rotated vec4 pairs + pass-through vec4s
const BQ: u32 = ${s.blockQ}u;
const BK: u32 = ${s.blockK}u;
const MASKED: f32 = -3.0e38;

struct Params {
  seq: u32,
  group_size: u32,     // query heads per KV head
  q_head_offset: u32,  // index in its KV group of this dispatch's first query head
  d4: u32,             // D4, RH4 and BK again, as loop bounds when not unrolled
  rh4: u32,
  bk: u32,
  scale_log2: f32,     // softmax scale × log2(e): the softmax runs on exp2
  attn_factor: f32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<${t}>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<${t}>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<${t}>>;
@group(0) @binding(4) var<storage, read> pos: array<u32>;
@group(0) @binding(5) var<storage, read> freq: array<vec2<u32>>;
@group(0) @binding(6) var<storage, read_write> out: array<vec4<f32>>;

var<workgroup> kt: array<vec4<${t}>, ${s.blockK * d4}>;
var<workgroup> vt: array<vec4<${t}>, ${s.blockK * d4}>;
${ropeWgsl}
${ropeRotateWgsl("P.attn_factor")}
@compute @workgroup_size(${s.blockQ})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let seq = P.seq;
  let hq = wg.y;
  let hk = (hq + P.q_head_offset) / P.group_size;
  let q_start = wg.x * BQ;
  let i = q_start + lid;
  let valid = i < seq;
  let qi = min(i, seq - 1u);

  var qv: array<vec4<f32>, D4>;
  let qrow = (hq * seq + qi) * D4;
  for (var c = 0u; c < ${D4}; c++) { qv[c] = vec4<f32>(q[qrow + c]); }
  let p = pos[qi];
  for (var c = 0u; c < ${RH4}; c++) {
    let r = rope_rotate(qv[c], qv[c + RH4], p, c);
    qv[c] = r.lo;
    qv[c + RH4] = r.hi;
  }
  for (var c = 0u; c < ${D4}; c++) { qv[c] *= P.scale_log2; }

  var acc: array<vec4<f32>, D4>;
  var m = MASKED;
  var l = 0.0;
  let kv_end = min(seq, q_start + BQ);
  for (var t0 = 0u; t0 < kv_end; t0 += BK) {
    workgroupBarrier();
    for (var u = lid; u < BK * UNITS; u += BQ) {
      let r = u / UNITS;
      let c = u % UNITS;
      let j = min(t0 + r, seq - 1u);  // rows past the end are loaded but always masked
      let row = (hk * seq + j) * D4;
      let trow = r * D4;
      if (c < RH4) {
        let ro = rope_rotate(vec4<f32>(k[row + c]), vec4<f32>(k[row + c + RH4]), pos[j], c);
        kt[trow + c] = vec4<${t}>(ro.lo);
        kt[trow + c + RH4] = vec4<${t}>(ro.hi);
        vt[trow + c] = v[row + c];
        vt[trow + c + RH4] = v[row + c + RH4];
      } else {
        let cc = c + RH4;
        kt[trow + cc] = k[row + cc];
        vt[trow + cc] = v[row + cc];
      }
    }
    workgroupBarrier();
    if (valid && t0 <= i) {
      // Masking by select, not branches: divergent branches in these loops are costly on SIMD back ends.
      var sc: array<f32, BK>;
      var tmax = MASKED;
      for (var r = 0u; r < ${BK}; r++) {
        var d = 0.0;
        for (var c = 0u; c < ${D4}; c++) { d += dot(qv[c], vec4<f32>(kt[r * D4 + c])); }
        let x = select(MASKED, d, t0 + r <= i);
        sc[r] = x;
        tmax = max(tmax, x);
      }
      let m_new = max(m, tmax);
      let corr = exp2(m - m_new);
      l *= corr;
      for (var c = 0u; c < ${D4}; c++) { acc[c] *= corr; }
      for (var r = 0u; r < ${BK}; r++) {
        let pr = select(0.0, exp2(sc[r] - m_new), t0 + r <= i);
        l += pr;
        for (var c = 0u; c < ${D4}; c++) { acc[c] += pr * vec4<f32>(vt[r * D4 + c]); }
      }
      m = m_new;
    }
  }
  if (valid) {
    let inv = 1.0 / l;
    let orow = (hq * seq + i) * D4;
    for (var c = 0u; c < ${D4}; c++) { out[orow + c] = acc[c] * inv; }
  }
}
`;
}
