// The attention problem every implementation here solves (WGSL fused, WGSL three-pass, float64 CPU),
// with its checks in one place so the three agree on what they accept.
//
// Layout (head-major, as PyTorch's scaled_dot_product_attention takes it, batch 1):
//   q: [nHeads, seq, headDim]   k, v: [nKvHeads, seq, headDim]   output: [nHeads, seq, headDim]
// Token i attends to tokens 0..i (causal by index; with a sliding window only the last `window` of them); positions[i] is the RoPE position of token i,
// so sparse positions spread over a long context are allowed (ascending for a meaningful mask).
// RoPE is the NeoX "rotate half" layout of transformers: pair (j, j + rotaryDim/2) for j < rotaryDim/2
// rotates by positions[i] * invFreq[j]; cos and sin are multiplied by attentionFactor; dimensions from
// rotaryDim up pass through unchanged. Query head h reads KV head floor(h / (nHeads / nKvHeads)).
import { GpuError, YarnifyError } from "../src/core/errors.ts";

export type AttentionDtype = "f32" | "f16";

export interface AttentionProblem {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  positions: ArrayLike<number>;
  /** rotaryDim/2 inverse frequencies (radians per position), e.g. a YaRN plan's invFreq. */
  invFreq: ArrayLike<number>;
  /** Multiplies cos and sin (YaRN's mscale); 1 for plain RoPE. */
  attentionFactor: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  rotaryDim: number;
  /** Defaults to 1/sqrt(headDim). */
  softmaxScale?: number;
  /** Sliding window by token index: token i attends to tokens i − window < j ≤ i (0 or absent: all of 0..i). */
  window?: number;
}

/** The problem is malformed (sizes disagree, values out of range). */
export class AttentionInputError extends YarnifyError {
  override name = "AttentionInputError";
}

/** The problem is valid but this kernel or this adapter cannot run it (head dim, f16, limits). */
export class AttentionUnsupportedError extends GpuError {
  override name = "AttentionUnsupportedError";
}

export interface CheckedProblem extends AttentionProblem {
  seq: number;
  groupSize: number;
  softmaxScale: number;
}

export function checkProblem(p: AttentionProblem): CheckedProblem {
  const { nHeads, nKvHeads, headDim, rotaryDim } = p;
  const bad = (msg: string): never => {
    throw new AttentionInputError(undefined, `attention input: ${msg}`);
  };
  for (const [name, n] of [["nHeads", nHeads], ["nKvHeads", nKvHeads], ["headDim", headDim]] as const) {
    if (!Number.isInteger(n) || n < 1) bad(`${name} must be a positive integer, got ${n}`);
  }
  if (nHeads % nKvHeads !== 0) bad(`nKvHeads (${nKvHeads}) must divide nHeads (${nHeads})`);
  if (!Number.isInteger(rotaryDim) || rotaryDim < 0 || rotaryDim > headDim || rotaryDim % 2 !== 0) {
    bad(`rotaryDim must be an even integer in [0, headDim=${headDim}], got ${rotaryDim}`);
  }
  if (p.invFreq.length !== rotaryDim / 2) bad(`invFreq has ${p.invFreq.length} values, expected rotaryDim/2 = ${rotaryDim / 2}`);
  for (let j = 0; j < p.invFreq.length; j++) {
    const f = p.invFreq[j]!;
    if (!Number.isFinite(f) || f < 0) bad(`invFreq[${j}] = ${f} is not a finite non-negative number`);
  }
  if (!Number.isFinite(p.attentionFactor) || p.attentionFactor <= 0) bad(`attentionFactor must be positive, got ${p.attentionFactor}`);
  const seq = p.positions.length;
  if (seq < 1) bad("positions is empty");
  for (let i = 0; i < seq; i++) {
    const x = p.positions[i]!;
    if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) bad(`positions[${i}] = ${x} is not an integer in [0, 2^32)`);
  }
  if (p.q.length !== nHeads * seq * headDim) bad(`q has ${p.q.length} values, expected nHeads*seq*headDim = ${nHeads * seq * headDim}`);
  for (const [name, t] of [["k", p.k], ["v", p.v]] as const) {
    if (t.length !== nKvHeads * seq * headDim) bad(`${name} has ${t.length} values, expected nKvHeads*seq*headDim = ${nKvHeads * seq * headDim}`);
  }
  if (p.window !== undefined && !(Number.isInteger(p.window) && p.window >= 0)) bad(`window must be a whole number, got ${p.window}`);
  const softmaxScale = p.softmaxScale ?? 1 / Math.sqrt(headDim);
  if (!Number.isFinite(softmaxScale) || softmaxScale <= 0) bad(`softmaxScale must be positive, got ${softmaxScale}`);
  return { ...p, seq, groupSize: nHeads / nKvHeads, softmaxScale };
}

/** FLOPs of causal attention as the benchmarks count them: 2·S²·D·H (half of the full 4·S²·D·H). */
export function causalAttentionFlops(seq: number, headDim: number, nHeads: number): number {
  return 2 * seq * seq * headDim * nHeads;
}
