// `yarnify eval --dry-run`: the WebGPU memory model's figures for a model at each context, from its shape alone
// (config.json or the GGUF header): no weight is read and no adapter is opened.
import { statSync } from "node:fs";
import { isUrl } from "../../converters/gguf/source.ts";
import { gpuMemoryNeed, planGpuMemory, GpuLimitError, type GpuMemoryNeed } from "./gpu/memory.ts";
import { openCheckpoint } from "./model/checkpoint.ts";
import { readHfShape } from "./model/hf-shape.ts";
import type { ModelShape } from "./model/model-shape.ts";

export interface EvalMemoryParams {
  model: string;
  contexts: readonly number[];
  /** Storage of the big matrices: "f16" where the adapter has shader-f16 (the default), else "f32". */
  weightType?: "f16" | "f32";
  /** The device budget in bytes (--gpu-memory); without it only the needs are given. */
  gpuMemory?: number;
}

export interface EvalMemoryRow {
  context: number;
  need: GpuMemoryNeed;
  /** How `eval` would hold the weights within the budget ("refused": not even streamed); absent without a budget. */
  weights?: "resident" | "streamed" | "refused";
}

export interface EvalMemoryResult {
  model: string;
  architecture: string;
  weightType: "f16" | "f32";
  gpuMemory?: number;
  rows: EvalMemoryRow[];
}

/**
 * The device bytes `eval` needs for `model` at each context (memory.ts), and the plan within `gpuMemory`.
 *
 * @example
 * const r = await evalMemory({ model: "examples/llama-3.1-8b", contexts: [32768], gpuMemory: 24 * 2 ** 30 });
 * r.rows[0].weights; // "resident"
 */
export async function evalMemory(params: EvalMemoryParams): Promise<EvalMemoryResult> {
  const { shape, tied } = await shapeOf(params.model);
  const weightType = params.weightType ?? "f16";
  const rows = params.contexts.map((context): EvalMemoryRow => {
    const p = { shape, tokens: context, weightType, tiedEmbeddings: tied };
    if (params.gpuMemory === undefined) return { context, need: gpuMemoryNeed(p) };
    // Buffer limits are the adapter's: here only the budget decides.
    const limits = { maxBufferSize: Infinity, maxStorageBufferBindingSize: Infinity, budget: params.gpuMemory };
    try {
      return { context, ...planGpuMemory(params.model, p, limits) };
    } catch (err) {
      if (err instanceof GpuLimitError) return { context, need: gpuMemoryNeed(p), weights: "refused" };
      throw err;
    }
  });
  return { model: params.model, architecture: shape.architecture, weightType, ...(params.gpuMemory !== undefined && { gpuMemory: params.gpuMemory }), rows };
}

/** A directory's config.json (weights need not be there), or a GGUF's header. */
async function shapeOf(model: string): Promise<{ shape: ModelShape; tied: boolean }> {
  if (!isUrl(model) && statSync(model, { throwIfNoEntry: false })?.isDirectory()) {
    const { shape, hf } = readHfShape(model);
    // transformers' default ties the LM head to the embeddings.
    return { shape, tied: hf.textConfig["tie_word_embeddings"] !== false };
  }
  const ck = await openCheckpoint(model);
  try {
    return { shape: ck.shape, tied: !ck.source.has(ck.names.lmHead) };
  } finally {
    await ck.close();
  }
}
