// `patch --eval`: the patched model's perplexity with and without its RoPE scaling, at its original and new
// context (or the lengths asked for), as a table for the console and a section for the model card.
import type { Plan } from "../core/types.ts";
import type { CardPerplexity } from "../hub/model-card.ts";
import { evaluate, type EvalDevice, type EvalProgressEvent, type EvaluateResult } from "./evaluate.ts";
import { perplexityMarkdownTable, perplexityTable } from "./table.ts";

export interface PatchEvalParams {
  /** The patched model directory (weights included). */
  model: string;
  plan: Plan;
  texts: readonly string[];
  /** Where the texts came from, for the card's note. */
  textsName: string;
  /** Defaults to the plan's original and new context. */
  contexts?: readonly number[];
  device?: EvalDevice;
  abortSignal?: AbortSignal;
  /** Progress of the evaluation, as evaluate() reports it. */
  onEvent?: (e: EvalProgressEvent) => void;
}

export interface PatchEval {
  result: EvaluateResult;
  card: CardPerplexity;
  /** The same table as plain text, for the console. */
  text: string;
}

export async function evaluatePatched(p: PatchEvalParams): Promise<PatchEval> {
  const contexts = p.contexts ?? [...new Set([p.plan.originalContext, p.plan.context])];
  // "none" is the checkpoint with its scaling removed, "model" reads the patched config: the same weights.
  const result = await evaluate({ model: p.model, texts: p.texts, contexts, methods: ["none", "model"], ...(p.device && { device: p.device }), ...(p.abortSignal && { abortSignal: p.abortSignal }) }, p.onEvent);
  const label = (m: string) => (m === "none" ? "without RoPE scaling" : `${p.plan.method} x${p.plan.factor} (this model)`);
  const docs = Math.max(...result.results.map((r) => r.docs));
  const note =
    `Perplexity (lower is better) over the first L tokens of each of ${docs} documents of ${p.textsName}: mean next-token ` +
    `negative log-likelihood over positions 1..L-1, exponentiated. Measured by \`yarnify eval\` on ${result.device}.` +
    (result.notes.length > 0 ? ` ${result.notes.join("; ")}.` : "");
  const labeled = result.results.map((r) => ({ ...r, method: label(r.method) }));
  return { result, card: { note, markdown: perplexityMarkdownTable(labeled) }, text: perplexityTable(labeled) };
}
