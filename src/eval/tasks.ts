// `yarnify eval --task passkey|drift`: passkey retrieval by greedy decoding and the drift of a patched model's
// next-token distributions from its original's (llama.cpp's --kl-divergence statistics), on the device perplexity
// eval picks (WebGPU when an adapter is there, else the CPU).
import { seededRandom } from "../core/random.ts";
import { trainedContext } from "../core/rope/trained-context.ts";
import type { RopeFrequencies } from "../core/rope/types.ts";
import type { ForwardBackend } from "./backend.ts";
import { EvalInputError, openBackend, openBackends, type BackendChoice } from "./evaluate.ts";
import type { EvalMethod } from "./methods.ts";
import { openCheckpoint, type Checkpoint } from "./model/checkpoint.ts";
import { modelRopeFor } from "./model/model-rope.ts";
import { loadWeights, type ModelWeights } from "./model/weights.ts";
import { passkeyAnswer, passkeyPrompt, type PasskeyPrompt } from "./passkey.ts";
import { firstTokens, type TextTokenizer } from "./tokenizer.ts";

interface Loaded {
  ck: Checkpoint;
  weights: ModelWeights;
  tokenizer: TextTokenizer;
}

async function load(model: string): Promise<Loaded> {
  const ck = await openCheckpoint(model);
  try {
    return { ck, tokenizer: ck.tokenizer(), weights: await loadWeights(ck) };
  } finally {
    await ck.close();
  }
}

function checkContexts(contexts: readonly number[]): void {
  if (contexts.length === 0) throw new EvalInputError(undefined, "no context lengths given");
  for (const c of contexts) if (!Number.isInteger(c) || c < 2) throw new EvalInputError(undefined, `context ${c} is not a whole number ≥ 2`);
}

/**
 * Index of the largest logit (the first on a tie).
 *
 * @example
 * argmax(Float32Array.of(0.1, 2, 2)); // 1
 */
export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

/**
 * `count` tokens by greedy decoding after `prompt`: the prompt is prefilled once into a K/V cache, then each new
 * token is one single-token step. Positions use the same frequencies throughout, as a static RoPE scaling does.
 * `onLogits` sees each step's logits before its token is picked (to judge near-ties).
 *
 * @example
 * const ids = await greedy(backend, prompt, modelRopeFor(ck.rope, "yarn", 512), 10);
 */
export async function greedy(
  backend: ForwardBackend, prompt: Int32Array, rope: RopeFrequencies, count: number, onLogits?: (step: number, logits: Float32Array) => void,
): Promise<number[]> {
  // The last token decoded is never fed back.
  const session = await backend.decoder(rope, prompt.length + count - 1);
  try {
    const out: number[] = [];
    let logits = await session.append(prompt);
    for (;;) {
      onLogits?.(out.length, logits);
      out.push(argmax(logits));
      if (out.length === count) return out;
      logits = await session.append(Int32Array.of(out.at(-1)!));
    }
  } finally {
    session.release();
  }
}

export interface PasskeyParams extends BackendChoice {
  model: string;
  contexts: readonly number[];
  /** Defaults to ["model"]. */
  methods?: readonly EvalMethod[];
  /** Trials per context (per depth when depths are given); default 10. */
  trials?: number;
  /** Fixed depths in [0, 1]; default: the split is uniform over the garbage's characters. */
  depths?: readonly number[];
  /** Seed of the key and split draws; default 0. */
  seed?: number;
  /** New tokens decoded greedily; default 10. */
  newTokens?: number;
  /** Fixed scale for pi/ntk/yarn…; default max(1, context / trained context). */
  factor?: number;
  abortSignal?: AbortSignal;
}

export interface PasskeyTrial {
  key: number;
  depth: number;
  promptTokens: number;
  prompt: string;
  continuation: string;
  answer: string;
  correct: boolean;
}

export interface PasskeyRow {
  method: string;
  context: number;
  accuracy: number;
  trials: PasskeyTrial[];
}

export interface PasskeyResult {
  task: "passkey";
  model: string;
  /** The backend that ran, as perplexity eval names it ("cpu", or the WebGPU adapter). */
  device: string;
  originalContext: number;
  results: PasskeyRow[];
  /** Per method: the largest context with accuracy ≥ 80% (null when none) and the mean accuracy up to it. */
  passkeyContext: Record<string, { context: number | null; meanAccuracy: number | null }>;
}

/**
 * The passkey test for every method × context; the same prompts serve every method.
 *
 * @example
 * const r = await passkey({ model: "./tiny-llama", contexts: [256, 512], methods: ["none", "yarn"], trials: 5 });
 * console.log(r.passkeyContext);
 */
export async function passkey(params: PasskeyParams, onTrial?: (row: PasskeyRow, trial: PasskeyTrial) => void): Promise<PasskeyResult> {
  checkContexts(params.contexts);
  const methods = params.methods ?? ["model"];
  const trials = params.trials ?? 10;
  if (!Number.isInteger(trials) || trials < 1) throw new EvalInputError(undefined, `--trials ${trials} is not a whole number ≥ 1`);
  const { ck, weights, tokenizer } = await load(params.model);
  const backend = await openBackend(weights, params, { model: params.model, maxTokens: Math.max(...params.contexts) + (params.newTokens ?? 10) });
  try {
    const results = await passkeyRows(params, backend, ck, tokenizer, trials, methods, onTrial);
    return { task: "passkey", model: params.model, device: backend.name, originalContext: trainedContext(ck.rope.spec), results, passkeyContext: passkeyContexts(results) };
  } finally {
    backend.release();
  }
}

async function passkeyRows(
  params: PasskeyParams, backend: ForwardBackend, ck: Checkpoint, tokenizer: TextTokenizer, trials: number, methods: readonly EvalMethod[],
  onTrial?: (row: PasskeyRow, trial: PasskeyTrial) => void,
): Promise<PasskeyRow[]> {
  const random = seededRandom(params.seed ?? 0);
  const results: PasskeyRow[] = [];
  for (const context of params.contexts) {
    const prompts: PasskeyPrompt[] = [];
    for (const depth of params.depths ?? [undefined]) {
      for (let t = 0; t < trials; t++) prompts.push(passkeyPrompt(tokenizer, context, depth === undefined ? { random } : { random, depth }));
    }
    for (const method of methods) {
      const rope = modelRopeFor(ck.rope, method, context, params.factor);
      const row: PasskeyRow = { method, context, accuracy: 0, trials: [] };
      for (const p of prompts) {
        params.abortSignal?.throwIfAborted();
        const continuation = tokenizer.decode(await greedy(backend, p.tokens, rope, params.newTokens ?? 10));
        const answer = passkeyAnswer(continuation);
        const trial = { key: p.key, depth: p.depth, promptTokens: p.tokens.length, prompt: p.text, continuation, answer, correct: answer === String(p.key) };
        row.trials.push(trial);
        onTrial?.(row, trial);
      }
      row.accuracy = row.trials.filter((t) => t.correct).length / row.trials.length;
      results.push(row);
    }
  }
  return results;
}

/**
 * Per method, the paper's summary: the largest context with accuracy ≥ 80% and the mean accuracy over the contexts
 * up to it.
 *
 * @example
 * passkeyContexts([{ method: "yarn", context: 512, accuracy: 0.9, trials: [] }]); // { yarn: { context: 512, meanAccuracy: 0.9 } }
 */
export function passkeyContexts(rows: readonly Pick<PasskeyRow, "method" | "context" | "accuracy">[]): PasskeyResult["passkeyContext"] {
  const out: PasskeyResult["passkeyContext"] = {};
  for (const method of new Set(rows.map((r) => r.method))) {
    const mine = rows.filter((r) => r.method === method);
    const passing = mine.filter((r) => r.accuracy >= 0.8).map((r) => r.context);
    if (passing.length === 0) { out[method] = { context: null, meanAccuracy: null }; continue; }
    const context = Math.max(...passing);
    const upTo = mine.filter((r) => r.context <= context);
    out[method] = { context, meanAccuracy: upTo.reduce((s, r) => s + r.accuracy, 0) / upTo.length };
  }
  return out;
}

export interface DriftParams extends BackendChoice {
  /** The patched model (its declared RoPE is what is measured). */
  model: string;
  /** The original model, run with its own RoPE. */
  baseline: string;
  texts: readonly string[];
  contexts: readonly number[];
  abortSignal?: AbortSignal;
}

export interface DriftRow {
  context: number;
  /** Mean over scored tokens of KL(baseline ‖ patched) in nats, as llama-perplexity --kl-divergence reports it. */
  kl: number;
  perplexity: number;
  baselinePerplexity: number;
  /** Fraction of positions where both models' most likely next token is the same. */
  top1Agreement: number;
  tokens: number;
  docs: number;
}

export interface DriftResult {
  task: "drift";
  model: string;
  baseline: string;
  /** The backend that ran, as perplexity eval names it ("cpu", or the WebGPU adapter). */
  device: string;
  results: DriftRow[];
  notes: string[];
}

/**
 * log-softmax of one row of logits, in double precision.
 *
 * @example
 * const logp = logSoftmax(logits, row * vocab, vocab);
 */
export function logSoftmax(logits: Float32Array, offset: number, vocab: number): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) if (logits[offset + i]! > max) max = logits[offset + i]!;
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp(logits[offset + i]! - max);
  const lse = Math.log(sum) + max;
  const out = new Float64Array(vocab);
  for (let i = 0; i < vocab; i++) out[i] = logits[offset + i]! - lse;
  return out;
}

/**
 * Accumulates llama.cpp's --kl-divergence statistics from pairs of log-probability rows.
 *
 * @example
 * const acc = new DriftAccumulator();
 * acc.add(baseLogp, patchedLogp, nextToken);
 * console.log(acc.kl / acc.count);
 */
export class DriftAccumulator {
  kl = 0;
  nll = 0;
  baseNll = 0;
  agree = 0;
  count = 0;

  /** Adds one position: the baseline's and the patched model's log-probabilities and the token that followed. */
  add(base: Float64Array, patched: Float64Array, target: number): void {
    let kl = 0, bTop = 0, pTop = 0;
    for (let i = 0; i < base.length; i++) {
      kl += Math.exp(base[i]!) * (base[i]! - patched[i]!);
      if (base[i]! > base[bTop]!) bTop = i;
      if (patched[i]! > patched[pTop]!) pTop = i;
    }
    this.kl += kl;
    this.nll -= patched[target]!;
    this.baseNll -= base[target]!;
    if (bTop === pTop) this.agree++;
    this.count++;
  }
}

/**
 * For each context: the first `context` tokens of each long-enough document through both models, every position
 * after the first scored (KL of the patched distribution from the baseline's, both perplexities, top-1 agreement).
 *
 * @example
 * const r = await drift({ model: "./tiny-x4", baseline: "./tiny", texts, contexts: [256] });
 * console.log(r.results[0].kl);
 */
export async function drift(params: DriftParams): Promise<DriftResult> {
  checkContexts(params.contexts);
  if (params.texts.length === 0) throw new EvalInputError(undefined, "no documents given");
  const patched = await load(params.model);
  const base = await load(params.baseline);
  if (patched.weights.shape.vocab !== base.weights.shape.vocab) {
    throw new EvalInputError(params.baseline, `vocabulary of ${base.weights.shape.vocab} tokens differs from the patched model's ${patched.weights.shape.vocab}`);
  }
  const [patchedBackend, baseBackend] = await openBackends([patched.weights, base.weights], params, { maxTokens: Math.max(...params.contexts) });
  try {
    const { results, notes } = await driftRows(params, { ...patched, backend: patchedBackend! }, { ...base, backend: baseBackend! });
    return { task: "drift", model: params.model, baseline: params.baseline, device: patchedBackend!.name, results, notes };
  } finally {
    patchedBackend!.release();
    baseBackend!.release();
  }
}

async function driftRows(params: DriftParams, patched: Loaded & { backend: ForwardBackend }, base: Loaded & { backend: ForwardBackend }): Promise<{ results: DriftRow[]; notes: string[] }> {
  const V = base.weights.shape.vocab;
  const maxContext = Math.max(...params.contexts);
  const docs = params.texts.map((t) => Int32Array.from(firstTokens(patched.tokenizer, t, maxContext)));
  const notes: string[] = [];
  const results: DriftRow[] = [];
  for (const context of params.contexts) {
    const usable = docs.filter((d) => d.length >= context);
    if (usable.length < docs.length) notes.push(`context ${context}: ${docs.length - usable.length} of ${docs.length} documents are shorter than ${context} tokens and were skipped`);
    if (usable.length === 0) throw new EvalInputError(undefined, `no document has ${context} tokens: use a shorter context or longer texts`);
    const acc = new DriftAccumulator();
    for (const doc of usable) {
      params.abortSignal?.throwIfAborted();
      const tokens = doc.subarray(0, context);
      const rows = await logSoftmaxRows(base.backend, V, modelRopeFor(base.ck.rope, "model", context), tokens);
      await patched.backend.logitRows({ tokens, rope: modelRopeFor(patched.ck.rope, "model", context), firstRow: 0 }, (t0, n, logits) => {
        for (let r = 0; r < n && t0 + r < context - 1; r++) acc.add(rows[t0 + r]!, logSoftmax(logits, r * V, V), tokens[t0 + r + 1]!);
      });
    }
    results.push({
      context,
      kl: acc.kl / acc.count,
      perplexity: Math.exp(acc.nll / acc.count),
      baselinePerplexity: Math.exp(acc.baseNll / acc.count),
      top1Agreement: acc.agree / acc.count,
      tokens: acc.count,
      docs: usable.length,
    });
  }
  return { results, notes };
}

/** The log-softmax of every row of one window but the last (which predicts nothing in it). */
async function logSoftmaxRows(backend: ForwardBackend, V: number, rope: RopeFrequencies, tokens: Int32Array): Promise<Float64Array[]> {
  const rows: Float64Array[] = [];
  await backend.logitRows({ tokens, rope, firstRow: 0 }, (t0, n, logits) => {
    for (let r = 0; r < n && t0 + r < tokens.length - 1; r++) rows.push(logSoftmax(logits, r * V, V));
  });
  return rows;
}
