// The WebGPU evaluator's memory model: the bytes one window of a model needs on the device (weights resident or
// streamed layer by layer, the window's activations, K/V, the LM head's logits chunk) and its largest buffer, and
// the decision made from them before anything is loaded: weights resident, streamed, or a refusal with the figures.
import { GpuError, YarnifyError } from "../../core/errors.ts";
import type { ModelShape } from "../model/model-shape.ts";

/** The model or the window does not fit the adapter's buffer limits or the device memory budget. */
export class GpuLimitError extends GpuError {
  override name = "GpuLimitError";
}

/** Rows of logits made per LM-head dispatch: bounds the [rows, vocab] buffer for long windows. */
export const LOGIT_ROWS = 512;
/** Rows of the window per MLP step: bounds the [rows, intermediate] gate and up buffers for long windows. */
export const MLP_ROWS = 1024;

export interface GpuMemoryParams {
  shape: ModelShape;
  /** Tokens in the window. */
  tokens: number;
  /**
   * Storage of the big matrices (embeddings, projections, MLP, LM head); norms and biases stay f32. With f16 weights
   * the normed state, Q/K/V (and their head norms) and the MLP chunk are stored in f16 too; the residual stream, the
   * attention output, the block output and the logits stay f32.
   */
  weightType: "f32" | "f16";
  /** The LM head is the embedding matrix (no buffer of its own). */
  tiedEmbeddings: boolean;
  /** MLP_ROWS unless given. */
  mlpRows?: number;
  /** LOGIT_ROWS unless given. */
  logitRows?: number;
  /** Tokens a decoding session's K/V cache holds (every layer's rotated keys and values, f32); none by default. */
  cacheTokens?: number;
}

export interface GpuMemoryNeed {
  /** Every weight on the device. */
  weights: number;
  /** Embeddings, final norm and LM head: on the device in both modes. */
  globals: number;
  /** One decoder layer's weights: what streaming keeps on the device at a time. */
  layer: number;
  /** The window's buffers: residual stream, projections, K/V, attention output, MLP chunk, logits chunk, NLLs. */
  activations: number;
  /** Of the activations: the window's keys and values (every layer reuses them). */
  kv: number;
  /** Of the activations: the LM head's logits chunk. */
  logits: number;
  /** A decoding session's K/V cache (cacheTokens × layers × kvHeads × headDim × 2 × 4 bytes), in both modes. */
  cache: number;
  /** Weights resident: weights + activations + cache. */
  resident: number;
  /** Weights streamed layer by layer: globals + one layer + activations + cache. */
  streamed: number;
  /** The largest single buffer (against maxBufferSize and maxStorageBufferBindingSize). */
  largest: { bytes: number; what: string };
}

/**
 * The device bytes one window needs, by the buffers the forward pass allocates (uniforms and RoPE tables, a few
 * KiB, left out). Linear in the window: attention is the flash kernel, which keeps no [tokens, tokens] buffer.
 *
 * @example
 * const need = gpuMemoryNeed({ shape, tokens: 32768, weightType: "f16", tiedEmbeddings: false });
 * console.log(need.resident / 2 ** 30, "GiB");
 */
export function gpuMemoryNeed(p: GpuMemoryParams): GpuMemoryNeed {
  const s = p.shape;
  const { hidden: H, heads, kvHeads, headDim: D, intermediate: I, vocab: V } = s;
  const L = p.tokens;
  const es = p.weightType === "f16" ? 2 : 4;
  // Activations stored as the weights are (the backend's h, q, k, v, qn, kn, g, u).
  const as = es;
  const f = s.family;
  const matrices = { q: heads * D * H, k: kvHeads * D * H, v: kvHeads * D * H, o: H * heads * D, gate: I * H, up: I * H, down: H * I };
  const vectors = 2 * H + (f.qkvBias ? (heads + 2 * kvHeads) * D : 0) + (f.qkNorm ? 2 * D : 0) + (f.sandwichNorms ? 2 * H : 0);
  const layer = Object.values(matrices).reduce((a, b) => a + b, 0) * es + vectors * 4;
  const table = V * H * es;
  const globals = table * (p.tiedEmbeddings ? 1 : 2) + H * 4;
  const rows = Math.min(p.mlpRows ?? MLP_ROWS, L);
  const logitRows = Math.max(1, Math.min(p.logitRows ?? LOGIT_ROWS, L - 1));
  const buffers: [string, number][] = [
    ["hidden state", L * H * 4],
    ["normed state", L * H * as],
    ["queries", L * heads * D * as],
    ["keys", L * kvHeads * D * as],
    ["values", L * kvHeads * D * as],
    ["attention output", L * heads * D * 4],
    ["MLP gate", rows * I * as],
    ["MLP up", rows * I * as],
    ["logits", logitRows * V * 4],
    ["tokens, positions, NLLs", L * 4 * 4],
  ];
  if (f.qkNorm) buffers.push(["normed queries", L * heads * D * as], ["normed keys", L * kvHeads * D * as]);
  if (f.sandwichNorms) buffers.push(["block output", L * H * 4]);
  const activations = buffers.reduce((a, [, b]) => a + b, 0);
  const cacheLayer = (p.cacheTokens ?? 0) * kvHeads * D * 4;
  const cache = cacheLayer * 2 * s.layers.length;
  const candidates: [string, number][] = [
    ["embeddings", table], ...Object.entries(matrices).map(([k, n]): [string, number] => [`layer ${k} weights`, n * es]), ...buffers, ["K/V cache", cacheLayer],
  ];
  const [what, bytes] = candidates.reduce((a, b) => (b[1] > a[1] ? b : a));
  const weights = globals + layer * s.layers.length;
  return {
    weights, globals, layer, activations,
    kv: 2 * L * kvHeads * D * as,
    logits: logitRows * V * 4,
    cache,
    resident: weights + activations + cache,
    streamed: globals + layer + activations + cache,
    largest: { bytes, what },
  };
}

/** The adapter's per-buffer limits and the device memory budget (WebGPU has no query for the total). */
export interface GpuMemoryLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  /** Bytes the device may hold; undefined: unknown (the weights are kept resident, streamed if that runs out). */
  budget?: number;
}

export interface GpuMemoryPlan {
  /** "resident": every weight uploaded once; "streamed": each layer's weights uploaded per window, then replaced. */
  weights: "resident" | "streamed";
  need: GpuMemoryNeed;
}

/**
 * Resident when weights and window fit the budget, else streamed layer by layer when that fits; throws
 * GpuLimitError with the figures (one line: the model, the need, the limits) when neither fits or a buffer is over
 * the adapter's limits.
 *
 * @example
 * const plan = planGpuMemory("Llama-3.1-8B", { shape, tokens: 32768, weightType: "f16", tiedEmbeddings: false },
 *   { maxBufferSize: 2 ** 31, maxStorageBufferBindingSize: 2 ** 31, budget: 24 * 2 ** 30 });
 * plan.weights; // "resident"
 */
export function planGpuMemory(model: string, p: GpuMemoryParams, limits: GpuMemoryLimits): GpuMemoryPlan {
  const need = gpuMemoryNeed(p);
  const maxBuffer = Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
  const refuse = (why: string): never => {
    throw new GpuLimitError(model, `${p.tokens} tokens with ${p.weightType} weights ${describeNeed(need)}; ${why} (adapter maxBufferSize ${formatBytes(limits.maxBufferSize)}, maxStorageBufferBindingSize ${formatBytes(limits.maxStorageBufferBindingSize)}): use a shorter context${why.includes("budget") ? ", a larger --gpu-memory if the device has it," : ""} or --device cpu`);
  };
  if (need.largest.bytes > maxBuffer) refuse(`the ${need.largest.what} buffer is over the adapter's buffer limit`);
  if (limits.budget === undefined || need.resident <= limits.budget) return { weights: "resident", need };
  if (need.streamed <= limits.budget) return { weights: "streamed", need };
  return refuse(`even streamed that is over the ${formatBytes(limits.budget)} budget`);
}

/**
 * The figures as one clause: "need 17.61 GiB resident (weights 14.96 GiB + activations 2.65 GiB, K/V 0.25 GiB),
 * 4.85 GiB streamed (one layer 436 MiB), largest buffer 1002 MiB (embeddings)".
 *
 * @example
 * console.log(`${tokens} tokens: ${describeNeed(gpuMemoryNeed(params))}`);
 */
export function describeNeed(n: GpuMemoryNeed): string {
  return `need ${formatBytes(n.resident)} resident (weights ${formatBytes(n.weights)} + activations ${formatBytes(n.activations)}${n.cache ? ` + K/V cache ${formatBytes(n.cache)}` : ""}, K/V ${formatBytes(n.kv)}), `
    + `${formatBytes(n.streamed)} streamed (one layer ${formatBytes(n.layer)}), largest buffer ${formatBytes(n.largest.bytes)} (${n.largest.what})`;
}

/**
 * Bytes as GiB (two decimals) from 1 GiB up, else MiB, else KiB.
 *
 * @example
 * formatBytes(24 * 2 ** 30); // "24.00 GiB"
 */
export function formatBytes(b: number): string {
  if (b >= 2 ** 30) return `${(b / 2 ** 30).toFixed(2)} GiB`;
  return b >= 2 ** 20 ? `${Math.round(b / 2 ** 20)} MiB` : `${Math.ceil(b / 2 ** 10)} KiB`;
}

/**
 * The device memory budget in bytes: `gib` (the --gpu-memory option) else YARNIFY_GPU_MEMORY (GiB), else undefined.
 *
 * @example
 * gpuMemoryBudget("24"); // 25769803776
 */
export function gpuMemoryBudget(gib?: string | number, env: Record<string, string | undefined> = process.env): number | undefined {
  const raw = gib ?? env["YARNIFY_GPU_MEMORY"];
  if (raw === undefined || raw === "") return undefined;
  const x = Number(raw);
  if (!(x > 0)) throw new YarnifyError(gib === undefined ? "YARNIFY_GPU_MEMORY" : "--gpu-memory", `"${raw}" is not a positive number of GiB`);
  return Math.round(x * 2 ** 30);
}
