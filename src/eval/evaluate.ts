// `yarnify eval`: perplexity of one checkpoint for each method × context length, from one loaded model.
import { drain } from "../core/drain.ts";
import { ModelFormatError } from "../core/errors.ts";
import { trainedContext } from "../core/rope/trained-context.ts";
import type { RopeFrequencies } from "../core/rope/types.ts";
import type { ForwardBackend } from "./backend.ts";
import { cpuBackend } from "./cpu/forward.ts";
import { openCheckpoint } from "./model/checkpoint.ts";
import { modelRopeFor } from "./model/model-rope.ts";
import { checkpointWeights, readAllWeights, type ModelWeights, type WeightSource } from "./model/weights.ts";
import type { EvalMethod } from "./methods.ts";
import type { PerplexityResult } from "./result.ts";
import { firstTokens, type TextTokenizer } from "./tokenizer.ts";
import { firstWindow, slidingWindows, type Window } from "./windows.ts";

export class EvalInputError extends ModelFormatError {
  override name = "EvalInputError";
}

export type EvalDevice = "auto" | "gpu" | "cpu";

export interface EvaluateParams {
  /**
   * A Hugging Face model directory (config.json, safetensors, tokenizer.json) or a GGUF (local, split, or an http(s)
   * URL); families: model/families.ts.
   */
  model: string;
  /** The documents. */
  texts: readonly string[];
  /** Context lengths L to evaluate. */
  contexts: readonly number[];
  /** Defaults to ["model"] (the RoPE the checkpoint declares). */
  methods?: readonly EvalMethod[];
  /** Fixed scale for pi/ntk/dynamic/yarn; defaults to max(1, L / original context) per length. */
  factor?: number;
  /** Sliding-window mode: windows of L tokens moved by this stride over each document. */
  slidingStride?: number;
  /** Sliding-window mode: tokens of each document to cover (default: the whole document). */
  slidingTokens?: number;
  /** "auto" (default) takes WebGPU when an adapter is found, else the CPU; "gpu" fails without one. */
  device?: EvalDevice;
  /** WebGPU storage type for weights and activations; "auto" is f16 where the adapter has shader-f16. */
  precision?: "auto" | "f32" | "f16";
  /**
   * Bytes the WebGPU device may hold (WebGPU cannot report it): weights are streamed layer by layer from the file
   * when resident ones would not fit, and a context that fits neither way is refused before anything is loaded.
   * Unknown by default: weights resident, streamed if uploading them runs out of memory (gpu/memory.ts).
   */
  gpuMemory?: number;
  /** Stops between forward passes. */
  abortSignal?: AbortSignal;
  /** A backend to use instead of opening one (tests, benchmarks). */
  backend?: (weights: ModelWeights) => Promise<ForwardBackend>;
}

export interface EvaluateResult {
  model: string;
  /** "hf" or "gguf". */
  format: string;
  architecture: string;
  /** The family whose forward pass ran (llama, mistral, qwen2, qwen3, gemma3, phi3). */
  family: string;
  /** Stored element type of most weights (F32, BF16, Q4_K, ...). */
  dtype: string;
  device: string;
  mode: "first" | "sliding";
  slidingStride?: number;
  originalContext: number;
  results: PerplexityResult[];
  /** Documents skipped and other remarks, one line each. */
  notes: string[];
}

/**
 * `done` of `total` windows run for this method and context: one event with done 0 as a method and context starts
 * (its clock for rates and ETAs), then one after each forward pass.
 */
export interface EvalProgressEvent {
  method: string;
  context: number;
  done: number;
  total: number;
  /** Tokens run through the model so far in this method and context (the windows' lengths summed). */
  tokens: number;
  /** Tokens this method and context runs in all. */
  totalTokens: number;
}

/**
 * Evaluates every method × context; see EvaluateParams.
 *
 * @example
 * const r = await evaluate({ model: "./tiny-llama", texts, contexts: [256, 512], methods: ["none", "yarn"] });
 * for (const row of r.results) console.log(row.method, row.context, row.perplexity);
 */
export function evaluate(params: EvaluateParams, onEvent?: (e: EvalProgressEvent) => void): Promise<EvaluateResult> {
  return drain(evaluateIter(params), onEvent);
}

/**
 * evaluate() as an async generator: yields an EvalProgressEvent as each pass starts and after each forward pass,
 * returns the result.
 *
 * @example
 * const it = evaluateIter({ model: "./tiny", texts, contexts: [256, 1024], methods: ["none", "yarn"] });
 * for (let r = await it.next(); !r.done; r = await it.next()) console.log(r.value);
 */
export async function* evaluateIter(params: EvaluateParams): AsyncGenerator<EvalProgressEvent, EvaluateResult> {
  const methods = params.methods ?? ["model"];
  const contexts = [...params.contexts];
  if (contexts.length === 0) throw new EvalInputError(undefined, "no context lengths given");
  for (const c of contexts) if (!Number.isInteger(c) || c < 2) throw new EvalInputError(undefined, `context ${c} is not a whole number ≥ 2`);
  if (params.texts.length === 0) throw new EvalInputError(undefined, "no documents given");
  const maxContext = Math.max(...contexts);
  const ck = await openCheckpoint(params.model);
  let backend: ForwardBackend;
  let tokenizer: TextTokenizer;
  try {
    tokenizer = ck.tokenizer();
    backend = await openBackend(checkpointWeights(ck), params, { model: params.model, maxTokens: maxContext });
  } catch (err) {
    await ck.close();
    throw err;
  }
  const notes: string[] = [];
  try {
    const docs = tokenizeDocs(tokenizer, params, maxContext);
    const results: PerplexityResult[] = [];
    // Methods that reduce to the same frequencies at a length (all of them at the trained length) share one run.
    const cache = new Map<string, { sum: number; count: number; docs: number }>();
    for (const context of contexts) {
      const usable = docs.filter((d) => (params.slidingStride ? d.length >= 2 : d.length >= context));
      const short = docs.length - usable.length;
      if (short > 0) notes.push(`context ${context}: ${short} of ${docs.length} documents are shorter than ${context} tokens and were skipped`);
      if (usable.length === 0) {
        throw new EvalInputError(undefined, `no document has ${context} tokens (the longest has ${Math.max(...docs.map((d) => d.length))}): use a shorter context or longer texts`);
      }
      for (const method of methods) {
        const rope = modelRopeFor(ck.rope, method, context, params.factor);
        const key = `${context}|${ropeKey(rope)}`;
        let acc = cache.get(key);
        if (!acc) {
          acc = { sum: 0, count: 0, docs: 0 };
          const jobs = usable.map((tokens) => ({ tokens, windows: windowsFor(tokens.length, context, params) }));
          const total = jobs.reduce((n, j) => n + j.windows.length, 0);
          const totalTokens = jobs.reduce((n, j) => n + j.windows.reduce((m, w) => m + w.length, 0), 0);
          let done = 0;
          let tokens = 0;
          yield { method, context, done, total, tokens, totalTokens };
          for (const job of jobs) {
            for (const w of job.windows) {
              params.abortSignal?.throwIfAborted();
              const nll = await backend.nll({ tokens: job.tokens.subarray(w.start, w.start + w.length), rope, firstTarget: w.firstTarget });
              for (const x of nll) acc.sum += x;
              acc.count += nll.length;
              tokens += w.length;
              yield { method, context, done: ++done, total, tokens, totalTokens };
            }
            acc.docs++;
          }
          cache.set(key, acc);
        }
        results.push({ method, context, perplexity: Math.exp(acc.sum / acc.count), tokens: acc.count, docs: acc.docs });
      }
    }
    const out: EvaluateResult = {
      model: params.model,
      format: ck.format,
      architecture: ck.shape.architecture,
      family: ck.shape.family.name,
      dtype: ck.dtype,
      device: backend.name,
      mode: params.slidingStride ? "sliding" : "first",
      originalContext: trainedContext(ck.rope.spec),
      results,
      notes,
    };
    if (params.slidingStride) out.slidingStride = params.slidingStride;
    return out;
  } finally {
    backend.release();
    await ck.close();
  }
}

function windowsFor(tokens: number, context: number, params: EvaluateParams): Window[] {
  return params.slidingStride ? slidingWindows(tokens, context, params.slidingStride) : firstWindow(context);
}

function tokenizeDocs(tok: TextTokenizer, params: EvaluateParams, maxContext: number): Int32Array[] {
  // The first-L protocol needs only a prefix of each document; sliding windows cover what they are asked to.
  const want = params.slidingStride ? params.slidingTokens : maxContext;
  return params.texts.map((t) => Int32Array.from(want === undefined ? tok.encode(t) : firstTokens(tok, t, want)));
}

function ropeKey(r: RopeFrequencies): string {
  return `${r.attentionFactor}:${r.invFreq.join(",")}`;
}

/** How a task chooses its forward pass: perplexity eval's device options. */
export type BackendChoice = Pick<EvaluateParams, "device" | "precision" | "backend" | "gpuMemory">;

/**
 * The forward pass the options ask for: a given backend, the CPU, or WebGPU (falling back to the CPU on "auto").
 * The CPU pass holds every weight in host memory; the WebGPU pass reads a WeightSource (an open checkpoint's) as it
 * needs, after planning its memory for `maxTokens` (`model` names it in the plan's errors).
 *
 * @example
 * const backend = await openBackend(checkpointWeights(ck), { device: "auto" }, { model: "./tiny", maxTokens: 1024 });
 */
export async function openBackend(weights: ModelWeights | WeightSource, params: BackendChoice, plan: BackendPlan = {}): Promise<ForwardBackend> {
  return (await openBackends([weights], params, plan))[0]!;
}

/** What the WebGPU memory plan is told: the model as its errors name it, the longest window to be run. */
export interface BackendPlan {
  model?: string;
  maxTokens?: number;
}

/**
 * openBackend for several models at once: on WebGPU they share one device.
 *
 * @example
 * const [patched, original] = await openBackends([patchedWeights, originalWeights], { device: "auto" });
 */
export async function openBackends(weights: readonly (ModelWeights | WeightSource)[], params: BackendChoice, plan: BackendPlan = {}): Promise<ForwardBackend[]> {
  const held = (w: ModelWeights | WeightSource) => ("layers" in w ? w : readAllWeights(w));
  const { backend } = params;
  if (backend) return Promise.all(weights.map(async (w) => backend(await held(w))));
  const device = params.device ?? "auto";
  if (device === "cpu") return Promise.all(weights.map(async (w) => cpuBackend(await held(w))));
  // Loaded on demand so that CPU-only use never touches WebGPU.
  const { gpuBackends } = await import("./gpu/backend.ts");
  return gpuBackends(weights, {
    required: device === "gpu",
    precision: params.precision ?? "auto",
    ...(plan.model !== undefined && { model: plan.model }),
    ...(plan.maxTokens !== undefined && { maxTokens: plan.maxTokens }),
    ...(params.gpuMemory !== undefined && { memoryBudget: params.gpuMemory }),
  });
}
