// Check: the model's own Q and K projections (layer 0 and the last layer), fed with embedded tokens through the
// layer's RMSNorm, attend at the new length closer to how they did at the trained length than unscaled RoPE
// would. A probe, not the model's activations: per head, the attention entropy (nats) and the share of
// attention on distant tokens, for the original RoPE at the trained length, the patched RoPE at the new length
// and the original RoPE at the new length (the do-nothing baseline).
import { applyRope } from "../../kernels/reference.ts";
import type { Check } from "./report.ts";

/** What the probe reads from a checkpoint, whatever its format and family (src/validate/probe-weights.ts). */
export interface ProbeModel {
  hidden: number;
  nHeads: number;
  nKv: number;
  eps: number;
  vocab: number;
  /** Multiplies Q·Kᵀ (the family's: 1/√head_dim, or Gemma's query_pre_attn_scalar^-½). */
  softmaxScale: number;
  /** The layers probed: the first and last whose RoPE is the model's (scaled) one. */
  layers: number[];
  /** Embedding rows of these token ids: [tokens, hidden]. */
  embed(tokens: readonly number[]): Promise<Float32Array>;
  /** The layer's attention input, or what is missing. */
  layer(layer: number): Promise<ProbeLayer | { missing: string }>;
}

/** A layer's input RMSNorm (the multiplier), Q and K projections ([out, hidden], rotate-half rows), biases and head norms. */
export interface ProbeLayer {
  norm: Float32Array;
  q: Float32Array;
  k: Float32Array;
  qBias?: Float32Array | undefined;
  kBias?: Float32Array | undefined;
  qNorm?: Float32Array | undefined;
  kNorm?: Float32Array | undefined;
}

export interface WeightsProbeParams {
  /** The checkpoint, or why it cannot be probed. */
  model: ProbeModel | { skipped: string };
  headDim: number;
  rotaryDim: number;
  original: { invFreq: number[]; attentionFactor: number; context: number };
  patched: { invFreq: number[]; attentionFactor: number; context: number };
}

/** Longest sequence the CPU probe runs (its cost grows with length × queries). */
const MAX_PROBE = 2048;
const QUERIES = 32;
/** A head whose entropy grows by more than this share of ln(new/trained length) (uniform attention's growth) is flagged. */
const DRIFT_SHARE = 0.5;

function rmsNorm(x: Float32Array, width: number, weight: Float32Array, eps: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / width; r++) {
    let ss = 0;
    for (let c = 0; c < width; c++) ss += x[r * width + c] ** 2;
    const inv = 1 / Math.sqrt(ss / width + eps);
    for (let c = 0; c < width; c++) out[r * width + c] = x[r * width + c] * inv * weight[c];
  }
  return out;
}

/** rows × in  times  (out × in)ᵀ (+ bias) → rows × out. */
function project(x: Float64Array, rows: number, w: Float32Array, outDim: number, inDim: number, bias?: Float32Array): Float64Array {
  const y = new Float64Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outDim; o++) {
      let s = bias ? bias[o] : 0;
      for (let i = 0; i < inDim; i++) s += x[r * inDim + i] * w[o * inDim + i];
      y[r * outDim + o] = s;
    }
  }
  return y;
}

/** Qwen3's and Gemma's RMSNorm over each head's dims, in place on rows [seq, heads·d]. */
function headNorm(y: Float64Array, d: number, weight: Float32Array | undefined, eps: number): void {
  if (!weight) return;
  for (let h = 0; h < y.length / d; h++) {
    let ss = 0;
    for (let c = 0; c < d; c++) ss += y[h * d + c] ** 2;
    const inv = 1 / Math.sqrt(ss / d + eps);
    for (let c = 0; c < d; c++) y[h * d + c] = y[h * d + c] * inv * weight[c];
  }
}

/** One head's rows [seq, headDim] out of a [seq, heads·headDim] projection. */
function headRows(y: Float64Array, seq: number, heads: number, d: number, h: number): Float64Array {
  const out = new Float64Array(seq * d);
  for (let i = 0; i < seq; i++) out.set(y.subarray(i * heads * d + h * d, i * heads * d + (h + 1) * d), i * d);
  return out;
}

interface HeadFigures {
  entropy: number;
  distantShare: number;
}

/** Mean entropy (nats) and distant share over the last QUERIES queries of a causal window. */
function headFigures(q: Float64Array, k: Float64Array, seq: number, d: number, distant: number, scale: number): HeadFigures {
  let entropy = 0;
  let share = 0;
  const first = Math.max(1, seq - QUERIES);
  for (let i = first; i < seq; i++) {
    const scores = new Float64Array(i + 1);
    let max = -Infinity;
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += q[i * d + c] * k[j * d + c];
      scores[j] = s * scale;
      max = Math.max(max, scores[j]);
    }
    let z = 0;
    for (let j = 0; j <= i; j++) z += (scores[j] = Math.exp(scores[j] - max));
    let h = 0;
    let far = 0;
    for (let j = 0; j <= i; j++) {
      const p = scores[j] / z;
      if (p > 0) h -= p * Math.log(p);
      if (i - j >= distant) far += p;
    }
    entropy += h;
    share += far;
  }
  const n = seq - first;
  return { entropy: entropy / n, distantShare: share / n };
}

export async function weightsCheck(p: WeightsProbeParams): Promise<Check> {
  const name = "real-weights";
  if ("skipped" in p.model) return { name, status: "skipped", detail: p.model.skipped };
  const { hidden, nHeads, nKv, eps, vocab, softmaxScale } = p.model;
  const d = p.headDim;
  const trainedLen = Math.min(p.original.context, MAX_PROBE);
  const newLen = Math.min(p.patched.context, MAX_PROBE, trainedLen * 4);
  // Seeded token ids: the probe needs realistic embeddings, not a particular text.
  let seed = 12345;
  const tokens = Array.from({ length: newLen }, () => ((seed = (seed * 1103515245 + 12345) % 2147483648) % vocab));
  const embedded = await p.model.embed(tokens);
  const distant = Math.max(1, Math.floor(p.original.context / 4));
  const perLayer: Record<string, { head: number; trained: HeadFigures; extended: HeadFigures; unscaled: HeadFigures }[]> = {};
  const flagged: string[] = [];
  const flagAt = DRIFT_SHARE * Math.log(newLen / trainedLen);
  let patchedDrift = 0;
  let unscaledDrift = 0;
  for (const layer of p.model.layers) {
    const w = await p.model.layer(layer);
    if ("missing" in w) return { name, status: "skipped", detail: `layer ${layer}: ${w.missing}` };
    const x = rmsNorm(embedded, hidden, w.norm, eps);
    const q = project(x, newLen, w.q, nHeads * d, hidden, w.qBias);
    const k = project(x, newLen, w.k, nKv * d, hidden, w.kBias);
    headNorm(q, d, w.qNorm, eps);
    headNorm(k, d, w.kNorm, eps);
    const positions = Array.from({ length: newLen }, (_, i) => i);
    perLayer[`layer${layer}`] = [];
    for (let h = 0; h < nHeads; h++) {
      const g = Math.floor(h / (nHeads / nKv));
      const figures = (rope: { invFreq: number[]; attentionFactor: number }, len: number) => {
        const qh = headRows(q, len, nHeads, d, h);
        const kh = headRows(k, len, nKv, d, g);
        for (const rows of [qh, kh]) applyRope({ rows, seq: len, headDim: d, rotaryDim: p.rotaryDim, positions, invFreq: rope.invFreq, attentionFactor: rope.attentionFactor });
        return headFigures(qh, kh, len, d, distant, softmaxScale);
      };
      const trained = figures(p.original, trainedLen);
      const extended = figures(p.patched, newLen);
      const unscaled = figures(p.original, newLen);
      perLayer[`layer${layer}`].push({ head: h, trained, extended, unscaled });
      patchedDrift += Math.abs(extended.entropy - trained.entropy);
      unscaledDrift += Math.abs(unscaled.entropy - trained.entropy);
      if (extended.entropy - trained.entropy > flagAt) flagged.push(`layer ${layer} head ${h}`);
    }
  }
  const heads = Object.values(perLayer).reduce((n, l) => n + l.length, 0);
  const better = patchedDrift < unscaledDrift;
  const detail =
    `mean entropy drift from the trained length: ${(patchedDrift / heads).toFixed(3)} nats patched vs ${(unscaledDrift / heads).toFixed(3)} unscaled at ${newLen} tokens (vs ${trainedLen} trained)` +
    (flagged.length ? `; entropy grows by more than ${flagAt.toFixed(2)} nats for ${flagged.join(", ")}` : "");
  return {
    name,
    status: better ? "pass" : "fail",
    detail,
    probeLength: newLen,
    trainedLength: trainedLen,
    distantFrom: distant,
    meanPatchedDrift: patchedDrift / heads,
    meanUnscaledDrift: unscaledDrift / heads,
    flaggedHeads: flagged,
    heads: perLayer,
  };
}
