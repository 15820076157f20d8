// The decoder forward pass on the CPU in float32 (the reference the WebGPU path is checked against): one pass for
// every family, its differences read from the family's switches (model/families.ts) and the model's shape.
import type { ModelWeights, LayerWeights } from "../model/weights.ts";
import type { ModelShape } from "../model/model-shape.ts";
import type { RopeFrequencies } from "../../core/rope/types.ts";
import type { ForwardBackend, NllRequest } from "../backend.ts";
import { matmulT } from "./matmul.ts";
import { addBias, applyRope, causalAttention, gatedActivation, nllOfRow, rmsNorm, ropeTables } from "./ops.ts";

// Logits are made in blocks of rows so a long window never holds [length, vocab] at once: 4 MiB of them (at least 64
// rows), since each block copies the LM head into the kernels' memory again.
const logitRows = (vocab: number): number => Math.max(64, Math.floor(2 ** 20 / vocab));

/** The activations of one window, reused from layer to layer. */
interface Buffers {
  x: Float32Array;
  h: Float32Array;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  att: Float32Array;
  proj: Float32Array;
  g: Float32Array;
  u: Float32Array;
}

type Tables = Record<"global" | "local", { cos: Float32Array; sin: Float32Array }>;

function attentionBlock(s: ModelShape, l: LayerWeights, layer: number, L: number, b: Buffers, rope: Tables): void {
  const { hidden: H, heads, kvHeads, headDim: D, eps } = s;
  rmsNorm(b.x, l.attnNorm, L, H, eps, b.h);
  matmulT(b.h, l.q, L, H, heads * D, b.q);
  matmulT(b.h, l.k, L, H, kvHeads * D, b.k);
  matmulT(b.h, l.v, L, H, kvHeads * D, b.v);
  if (l.qBias) addBias(b.q, l.qBias);
  if (l.kBias) addBias(b.k, l.kBias);
  if (l.vBias) addBias(b.v, l.vBias);
  if (l.qNorm) rmsNorm(b.q, l.qNorm, L * heads, D, eps, b.q);
  if (l.kNorm) rmsNorm(b.k, l.kNorm, L * kvHeads, D, eps, b.k);
  const { cos, sin } = rope[s.layers[layer]!.rope];
  applyRope(b.q, L, heads, D, cos, sin, s.rotaryDim);
  applyRope(b.k, L, kvHeads, D, cos, sin, s.rotaryDim);
  causalAttention(b.q, b.k, b.v, { rows: L, heads, kvHeads, headDim: D, scale: s.attentionScale, window: s.layers[layer]!.window }, b.att);
  matmulT(b.att, l.o, L, heads * D, H, b.proj);
  residual(b, l.attnPostNorm, L, s);
}

function mlpBlock(s: ModelShape, l: LayerWeights, L: number, b: Buffers): void {
  const { hidden: H, intermediate: I, eps } = s;
  rmsNorm(b.x, l.mlpNorm, L, H, eps, b.h);
  matmulT(b.h, l.gate, L, H, I, b.g);
  matmulT(b.h, l.up, L, H, I, b.u);
  gatedActivation(b.g, b.u, s.family.activation);
  matmulT(b.g, l.down, L, I, H, b.proj);
  residual(b, l.mlpPostNorm, L, s);
}

/** x += proj, through Gemma's post-norm when the family has one. */
function residual(b: Buffers, postNorm: Float32Array | undefined, L: number, s: ModelShape): void {
  if (postNorm) rmsNorm(b.proj, postNorm, L, s.hidden, s.eps, b.proj);
  for (let i = 0; i < b.x.length; i++) b.x[i] = b.x[i]! + b.proj[i]!;
}

/** The final-normed hidden states [L, hidden] of one window: what every head on the logits starts from. */
function finalHidden(w: ModelWeights, tokens: Int32Array, ropeFreq: RopeFrequencies): Float32Array {
  const s = w.shape;
  const L = tokens.length;
  const { hidden: H, heads, kvHeads, headDim: D, intermediate: I, vocab: V } = s;
  const b: Buffers = {
    x: new Float32Array(L * H), h: new Float32Array(L * H),
    q: new Float32Array(L * heads * D), k: new Float32Array(L * kvHeads * D), v: new Float32Array(L * kvHeads * D),
    att: new Float32Array(L * heads * D), proj: new Float32Array(L * H), g: new Float32Array(L * I), u: new Float32Array(L * I),
  };
  for (let t = 0; t < L; t++) {
    const id = tokens[t]!;
    if (id < 0 || id >= V) throw new RangeError(`token id ${id} outside the vocabulary (${V})`);
    for (let i = 0; i < H; i++) b.x[t * H + i] = w.embed[id * H + i]! * s.embedScale;
  }
  const global = ropeTables(ropeFreq, L);
  const rope: Tables = { global, local: s.localRope ? ropeTables(s.localRope, L) : global };
  w.layers.forEach((l, i) => {
    attentionBlock(s, l, i, L, b, rope);
    mlpBlock(s, l, L, b);
  });
  rmsNorm(b.x, w.norm, L, H, s.eps, b.h);
  return b.h;
}

/**
 * Calls `onRows` with the logits of rows [first, L) of one window, a block of rows at a time (row t predicts
 * token t + 1): next-token distributions without ever holding [L, vocab] at once. The buffer is reused between calls.
 *
 * @example
 * logitRowsCpu(weights, tokens, rope, tokens.length - 1, (row, count, logits) => console.log(row, logits[0]));
 */
export function logitRowsCpu(
  w: ModelWeights, tokens: Int32Array, rope: RopeFrequencies, first: number,
  onRows: (row: number, count: number, logits: Float32Array) => void,
): void {
  const L = tokens.length;
  const { hidden: H, vocab: V } = w.shape;
  if (!(first >= 0 && first < L)) throw new RangeError(`first row ${first} outside [0, ${L})`);
  const h = finalHidden(w, tokens, rope);
  const block = logitRows(V);
  const logits = new Float32Array(block * V);
  for (let t0 = first; t0 < L; t0 += block) {
    const rows = Math.min(block, L - t0);
    matmulT(h.subarray(t0 * H, (t0 + rows) * H), w.lmHead, rows, H, V, logits);
    onRows(t0, rows, logits);
  }
}

/**
 * The logits [vocab] that follow the last token of `tokens`: one greedy decoding step.
 *
 * @example
 * const next = argmax(lastLogitsCpu(weights, prompt, rope));
 */
export function lastLogitsCpu(w: ModelWeights, tokens: Int32Array, rope: RopeFrequencies): Float32Array {
  let out = new Float32Array(0);
  logitRowsCpu(w, tokens, rope, tokens.length - 1, (_row, _count, logits) => {
    out = logits.slice(0, w.shape.vocab);
  });
  return out;
}

/**
 * NLL(tokens[i] | tokens[..i]) for i in [firstTarget, length), float32 activations, double accumulation.
 *
 * @example
 * const nll = nllCpu(weights, { tokens, rope: modelRopeFor(ck.rope, "none", tokens.length), firstTarget: 1 });
 */
export function nllCpu(w: ModelWeights, req: NllRequest): Float64Array {
  const L = req.tokens.length;
  const V = w.shape.vocab;
  if (!(req.firstTarget >= 1 && req.firstTarget < L)) throw new RangeError(`firstTarget ${req.firstTarget} outside [1, ${L})`);
  const out = new Float64Array(L - req.firstTarget);
  // The last row predicts nothing in the window, so rows stop at L - 2; row t's logits predict token t + 1.
  logitRowsCpu(w, req.tokens.subarray(0, L), req.rope, req.firstTarget - 1, (t0, rows, logits) => {
    for (let r = 0; r < rows && t0 + r < L - 1; r++) out[t0 + 1 + r - req.firstTarget] = nllOfRow(logits, r * V, V, req.tokens[t0 + 1 + r]!);
  });
  return out;
}

/**
 * The CPU as a ForwardBackend.
 *
 * @example
 * const backend = cpuBackend(await loadWeights(ck));
 */
export function cpuBackend(w: ModelWeights): ForwardBackend {
  return {
    name: "cpu",
    nll: async (req) => nllCpu(w, req),
    release() {},
  };
}
