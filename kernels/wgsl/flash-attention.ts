// WGSL of the fused kernel: causal flash attention with RoPE applied to Q and K on load.
//
// A workgroup owns 64 query rows of one head and walks the 64-key tiles up to its last row (tiles
// above the diagonal are never touched), with an online softmax, so no S×S matrix exists anywhere.
// Both products are register-blocked as in a SIMT GEMM: with R rows per invocation (4 or 8; 256 or
// 128 invocations), invocation (ty, tx) of the (64/R)×16 grid holds the scores of rows
// R·ty..R·ty+R−1 × keys tx, tx+16, tx+32, tx+48 and the output of the same rows × vec4 columns
// tx, tx+16, ..., so each vec4 read from workgroup memory feeds 4 to 32 multiply-adds.
//
// Q·Kᵀ runs over the head dim in chunks of DC dims staged in workgroup memory. Dims are visited in
// an order that keeps each rotary pair (j, j + rotaryDim/2) inside one chunk, so K is rotated as it
// is staged; a dot product does not care about the order. Q is rotated and scaled once, at the
// start, into this block's rows of `out` (no other workgroup touches them), and each invocation
// later reads back only what it wrote there, so no cross-invocation storage ordering is needed;
// the final output overwrites those rows.
import { ropeRotateWgsl, ropeWgsl } from "./rope.ts";
import type { AttentionDtype } from "../params.ts";
import { uniforms } from "../uniforms.ts";

/** Query rows and keys per tile. */
export const FLASH_BLOCK = 64;

export interface FlashShape {
  headDim: number;
  rotaryDim: number;
  dtype: AttentionDtype;
  /** Head dims per Q·Kᵀ chunk (32 or 64): the workgroup memory the kernel needs grows with it. */
  chunkDims: number;
  /** Query rows per invocation, 4 or 8: more reuse of each value read, more registers. */
  rowsPerThread: number;
  /**
   * Whether inner loop trip counts are compile-time constants (the driver may unroll: best on
   * GPUs) or read from the uniform. lavapipe fully unrolls constant loops and then compiles for
   * minutes; with uniform bounds it compiles in seconds.
   */
  unroll: boolean;
}

/** Workgroup memory of the kernel in bytes: the Q-chunk/P region plus the padded K/V region. */
export function flashWorkgroupBytes(chunkDims: number): number {
  return regionWords(chunkDims) * 16 + FLASH_BLOCK * (chunkDims / 4 + 1) * 16;
}

function regionWords(chunkDims: number): number {
  return FLASH_BLOCK * Math.max(FLASH_BLOCK, chunkDims) / 4;
}

/** Keys per V chunk: the largest power of two whose rows fit the K/V region. */
function valueChunkKeys(headDim: number, chunkDims: number): number {
  const fit = Math.floor((FLASH_BLOCK * (chunkDims / 4 + 1)) / (headDim / 4));
  let kc = 1;
  while (kc * 2 <= Math.min(fit, FLASH_BLOCK)) kc *= 2;
  return kc;
}

/**
 * Where head h, token t of a tensor starts, in vec4s: h·head + t·row. Head-major [heads, seq, D]
 * is the problem's layout (and PyTorch's); token-major [seq, heads·D] is what a model's
 * projections produce.
 */
export interface FlashStrides { qHead: number; qRow: number; kvHead: number; kvRow: number }

export type FlashLayout = "head-major" | "token-major";

export function flashStrides(layout: FlashLayout, u: { seq: number; nHeads: number; nKvHeads: number; headDim: number }): FlashStrides {
  const d4 = u.headDim / 4;
  return layout === "head-major"
    ? { qHead: u.seq * d4, qRow: d4, kvHead: u.seq * d4, kvRow: d4 }
    : { qHead: d4, qRow: u.nHeads * d4, kvHead: d4, kvRow: u.nKvHeads * d4 };
}

/** The kernel's uniform, packed by `flashUniform`. */
export const FLASH_PARAMS = uniforms([
  ["seq", "u32"],
  ["group_size", "u32", "query heads per KV head"],
  ["q_head_offset", "u32", "index in its KV group of this dispatch's first query head"],
  ["blocks", "u32", "query blocks (workgroups along x)"],
  ["dc4", "u32", "DC4 and KC again, as loop bounds when not unrolled"],
  ["kc", "u32"],
  ["q_head", "u32", "strides in vec4s (FlashStrides), for q and out"],
  ["q_row", "u32"],
  ["kv_head", "u32", "and for k and v"],
  ["kv_row", "u32"],
  ["scale_log2", "f32", "softmax scale × log2(e): the softmax runs on exp2"],
  ["attn_factor", "f32"],
  ["window", "u32", "a row sees keys row − window < key ≤ row (0xffffffff: all)"],
]);

/** The window value that lets every row see all its earlier keys. */
export const FLASH_NO_WINDOW = 0xffffffff;

/** The uniform of one dispatch: what the shader derives from the shape is filled in here. */
export function flashUniform(s: FlashShape, u: {
  seq: number; groupSize: number; qHeadOffset: number; strides: FlashStrides; scaleLog2: number; attentionFactor: number;
  /** Sliding window in keys (0 or absent: none). */
  window?: number;
}): ArrayBuffer {
  const { qHead, qRow, kvHead, kvRow } = u.strides;
  return FLASH_PARAMS.pack({
    seq: u.seq,
    group_size: u.groupSize,
    q_head_offset: u.qHeadOffset,
    blocks: Math.ceil(u.seq / FLASH_BLOCK),
    dc4: s.chunkDims / 4,
    kc: valueChunkKeys(s.headDim, s.chunkDims),
    q_head: qHead,
    q_row: qRow,
    kv_head: kvHead,
    kv_row: kvRow,
    scale_log2: u.scaleLog2,
    attn_factor: u.attentionFactor,
    window: u.window ? u.window : FLASH_NO_WINDOW,
  });
}

export function flashAttentionWgsl(s: FlashShape): string {
  const B = FLASH_BLOCK;
  const d4 = s.headDim / 4;
  const rh4 = s.rotaryDim / 8;
  const dc4 = s.chunkDims / 4;
  const chunks = Math.ceil(d4 / dc4);
  const kc = valueChunkKeys(s.headDim, s.chunkDims);
  const dv = Math.ceil(d4 / 16); // output vec4 columns per invocation
  const t = s.dtype === "f16" ? "f16" : "f32";
  const DC4 = s.unroll ? "DC4" : "P.dc4";
  const KC = s.unroll ? "KC" : "P.kc";
  const R = s.rowsPerThread;
  const THREADS = 16 * (B / R);
  const R4 = R / 4; // vec4s per invocation for per-row values (maxima, sums, a key's P column)
  const rows = Array.from({ length: R }, (_, i) => i);
  const keys = [0, 1, 2, 3];
  const groups = Array.from({ length: R4 }, (_, g) => g);
  const row4 = (i: number) => `[${i >> 2}][${i & 3}]`; // row i's element in an array of vec4s
  const cols = Array.from({ length: dv }, (_, e) => e);
  // Output columns past the head dim exist only when it is not a multiple of 64.
  const colGuard = (e: number, body: string) => (16 * e + 15 < d4 ? body : `if (tx + ${16 * e}u < D4) { ${body} }`);
  return /* wgsl */ `${s.dtype === "f16" ? "enable f16;" : ""}
const B: u32 = ${B}u;          // query rows and keys per tile
const D4: u32 = ${d4}u;        // head dim in vec4s
const RH4: u32 = ${rh4}u;      // vec4s in each rotated half
const DC4: u32 = ${dc4}u;      // vec4s per Q·Kᵀ chunk
const NCH: u32 = ${chunks}u;   // chunks per head dim
const KS: u32 = ${dc4 + 1}u;   // K row stride in vec4s (padded: conflict-free reads of keys tx + 16j)
const KC: u32 = ${kc}u;        // keys per V chunk
const MASKED: f32 = -3.0e38;

${FLASH_PARAMS.wgsl}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<${t}>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<${t}>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<${t}>>;
@group(0) @binding(4) var<storage, read> pos: array<u32>;
@group(0) @binding(5) var<storage, read> freq: array<vec2<u32>>;
@group(0) @binding(6) var<storage, read_write> out: array<vec4<f32>>;

// Q chunk [row][DC4] during Q·Kᵀ; then the per-invocation row partials; then P [key][row/4].
var<workgroup> rq: array<vec4<f32>, ${regionWords(s.chunkDims)}>;
// K chunk [key][KS] during Q·Kᵀ; V chunk [key][D4] during P·V.
var<workgroup> kv: array<vec4<f32>, ${B * (dc4 + 1)}>;
${ropeWgsl}
${ropeRotateWgsl("P.attn_factor")}
// Slot g of the chunked dim order: rotary pairs first (vec4 u at 2u, its partner u + RH4 at 2u + 1),
// then the pass-through vec4s in place.
fn rotated_slot(g: u32) -> bool { return g < 2u * RH4; }

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let seq = P.seq;
  let hq = wg.y;
  let hk = (hq + P.q_head_offset) / P.group_size;
  let q0 = (P.blocks - 1u - wg.x) * B;  // longest (last) blocks first: the causal tail is short
  let tx = lid & 15u;
  let ty = lid >> 4u;
  let qbase = hq * P.q_head;
  let kbase = hk * P.kv_head;

  // Rotate and scale Q into this block's rows of out, in slot order, exactly the entries this
  // invocation will stage later.
  for (var c = 0u; c < NCH; c++) {
    for (var u = lid; u < B * DC4; u += ${THREADS}u) {
      let row = q0 + u % B;
      let g = c * DC4 + u / B;
      if (row < seq && g < D4) {
        let src = qbase + row * P.q_row;
        var x: vec4<f32>;
        if (rotated_slot(g)) {
          let r = rope_rotate(vec4<f32>(q[src + g / 2u]), vec4<f32>(q[src + g / 2u + RH4]), pos[row], g / 2u);
          x = select(r.lo, r.hi, (g & 1u) == 1u);
        } else {
          x = vec4<f32>(q[src + g]);
        }
        out[src + g] = x * P.scale_log2;
      }
    }
  }

  var o: array<vec4<f32>, ${R * dv}>;  // o[i * ${dv} + e]: row ${R}ty + i, vec4 column tx + 16e
  var m = array<vec4<f32>, ${R4}>(${groups.map(() => "vec4<f32>(MASKED)").join(", ")});  // running max per row (log2 domain)
  var l = array<vec4<f32>, ${R4}>();   // this invocation's part of each row's sum
  let kv_end = min(seq, q0 + B);
  // A sliding window skips the tiles wholly before the first key this block's first row sees.
  var t_start = 0u;
  if (q0 + 1u > P.window) { t_start = ((q0 + 1u - P.window) / B) * B; }
  for (var t0 = t_start; t0 < kv_end; t0 += B) {
    // Zeroed explicitly: not every compiler re-zeroes a bare var declared inside a loop.
    var s = array<vec4<f32>, ${R}>();     // s[i][j]: row ${R}ty + i, key t0 + tx + 16j
    for (var c = 0u; c < NCH; c++) {
      workgroupBarrier();
      for (var u = lid; u < B * DC4; u += ${THREADS}u) {
        let row = q0 + u % B;
        let g = c * DC4 + u / B;
        var x = vec4<f32>(0.0);
        if (row < seq && g < D4) { x = out[qbase + row * P.q_row + g]; }
        rq[(u % B) * DC4 + u / B] = x;
      }
      for (var u = lid; u < B * DC4 / 2u; u += ${THREADS}u) {
        let key = u % B;
        let g = c * DC4 + 2u * (u / B);
        let j = min(t0 + key, seq - 1u);  // keys past the end are staged but always masked
        let src = kbase + j * P.kv_row;
        var a = vec4<f32>(0.0);
        var b = vec4<f32>(0.0);
        if (rotated_slot(g)) {
          let r = rope_rotate(vec4<f32>(k[src + g / 2u]), vec4<f32>(k[src + g / 2u + RH4]), pos[j], g / 2u);
          a = r.lo;
          b = r.hi;
        } else {
          if (g < D4) { a = vec4<f32>(k[src + g]); }
          if (g + 1u < D4) { b = vec4<f32>(k[src + g + 1u]); }
        }
        kv[key * KS + g - c * DC4] = a;
        kv[key * KS + g - c * DC4 + 1u] = b;
      }
      workgroupBarrier();
      for (var cc = 0u; cc < ${DC4}; cc++) {
${keys.map((j) => `        let k${j} = kv[(tx + ${16 * j}u) * KS + cc];`).join("\n")}
${rows.map((i) => `        let q${i} = rq[(${R}u * ty + ${i}u) * DC4 + cc];\n        s[${i}] += vec4<f32>(dot(q${i}, k0), dot(q${i}, k1), dot(q${i}, k2), dot(q${i}, k3));`).join("\n")}
      }
    }

    // Causal and window mask, then the new row maxima across the 16 invocations sharing each row. The mask is
    // branch-free (vector selects, non-short-circuit |): SwiftShader's compile time grows steeply with the branches
    // in this loop, and 4·R short-circuit ifs here kept it compiling for minutes.
    let row0 = q0 + ${R}u * ty;
    let key4 = vec4<u32>(t0 + tx) + vec4<u32>(0u, 16u, 32u, 48u);
${rows.map((i) => `    s[${i}] = select(s[${i}], vec4<f32>(MASKED), (key4 > vec4<u32>(row0 + ${i}u)) | (key4 >= vec4<u32>(seq)) | (vec4<u32>(row0 + ${i}u) - key4 >= vec4<u32>(P.window)));`).join("\n")}
    workgroupBarrier();  // everyone is done with the Q chunk
${groups.map((g) => `    rq[lid * ${R4}u + ${g}u] = vec4<f32>(${[0, 1, 2, 3].map((r) => `max(max(s[${4 * g + r}].x, s[${4 * g + r}].y), max(s[${4 * g + r}].z, s[${4 * g + r}].w))`).join(", ")});`).join("\n")}
    workgroupBarrier();
    var m_new: array<vec4<f32>, ${R4}>;
    var corr: array<vec4<f32>, ${R4}>;
${groups.map((g) => `    m_new[${g}] = m[${g}];
    for (var x = 0u; x < 16u; x++) { m_new[${g}] = max(m_new[${g}], rq[(ty * 16u + x) * ${R4}u + ${g}u]); }
    corr[${g}] = exp2(m[${g}] - m_new[${g}]);
    m[${g}] = m_new[${g}];
    l[${g}] *= corr[${g}];`).join("\n")}
${rows.map((i) => cols.map((e) => `    o[${i * dv + e}] *= corr${row4(i)};`).join("\n")).join("\n")}
    // A row may see no key of a tile (the first tiles of a sliding window): its max stays MASKED, so masked scores
    // are zeroed explicitly rather than trusted to exp2(MASKED - m) underflowing.
${rows.map((i) => `    s[${i}] = select(exp2(s[${i}] - m_new${row4(i)}), vec4<f32>(0.0), s[${i}] == vec4<f32>(MASKED));\n    l${row4(i)} += s[${i}].x + s[${i}].y + s[${i}].z + s[${i}].w;`).join("\n")}
    workgroupBarrier();  // everyone has read the partials before P overwrites them
${keys.map((j) => groups.map((g) => `    rq[(tx + ${16 * j}u) * 16u + ${R4}u * ty + ${g}u] = vec4<f32>(s[${4 * g}][${j}], s[${4 * g + 1}][${j}], s[${4 * g + 2}][${j}], s[${4 * g + 3}][${j}]);`).join("\n")).join("\n")}

    for (var kc = 0u; kc < B; kc += ${KC}) {
      workgroupBarrier();
      for (var u = lid; u < ${KC} * D4; u += ${THREADS}u) {
        let j = min(t0 + kc + u / D4, seq - 1u);
        kv[u] = vec4<f32>(v[kbase + j * P.kv_row + u % D4]);
      }
      workgroupBarrier();
      for (var kk = 0u; kk < ${KC}; kk++) {
${groups.map((g) => `        let p${g} = rq[(kc + kk) * 16u + ${R4}u * ty + ${g}u];`).join("\n")}
${cols.map((e) => colGuard(e, `let v${e} = kv[kk * D4 + tx + ${16 * e}u]; ${rows.map((i) => `o[${i * dv + e}] += p${i >> 2}[${i & 3}] * v${e};`).join(" ")}`).replace(/^/, "        ")).join("\n")}
      }
    }
  }

  // Row sums across the 16 invocations, then the output over the Q scratch (nobody reads it now).
  workgroupBarrier();
${groups.map((g) => `  rq[lid * ${R4}u + ${g}u] = l[${g}];`).join("\n")}
  workgroupBarrier();
  var inv: array<vec4<f32>, ${R4}>;
${groups.map((g) => `  var lsum${g} = vec4<f32>(0.0);
  for (var x = 0u; x < 16u; x++) { lsum${g} += rq[(ty * 16u + x) * ${R4}u + ${g}u]; }
  inv[${g}] = 1.0 / lsum${g};`).join("\n")}
${rows.map((i) => `  if (q0 + ${R}u * ty + ${i}u < seq) {\n    let dst = qbase + (q0 + ${R}u * ty + ${i}u) * P.q_row + tx;\n${cols.map((e) => "    " + colGuard(e, `out[dst + ${16 * e}u] = o[${i * dv + e}] * inv${row4(i)};`)).join("\n")}\n  }`).join("\n")}
}
`;
}
