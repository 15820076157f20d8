// `patch --eval --eval-tasks ppl,passkey,drift`: the chosen measurements of the patched model (with and without its
// RoPE scaling; drift against the source), each as a model card section and a table for the console.
import type { Plan } from "../core/types.ts";
import type { CardSection } from "../hub/model-card.ts";
import { evaluate, EvalInputError, type EvalDevice, type EvalProgressEvent, type EvaluateResult } from "./evaluate.ts";
import { driftMarkdownTable, driftTable, passkeyMarkdownTable, passkeyTable, perplexityMarkdownTable, perplexityTable } from "./table.ts";
import { drift, passkey, type DriftResult, type PasskeyResult } from "./tasks.ts";

export const PATCH_EVAL_TASKS = ["ppl", "passkey", "drift"] as const;
export type PatchEvalTask = (typeof PATCH_EVAL_TASKS)[number];

export interface PatchEvalParams {
  /** The patched model directory (weights included). */
  model: string;
  plan: Plan;
  texts: readonly string[];
  /** Where the texts came from, for the card's notes. */
  textsName: string;
  /** Default ["ppl"]. */
  tasks?: readonly PatchEvalTask[];
  /** The model before the patch: drift's baseline (required for drift). */
  source?: string;
  /** Defaults to the plan's original and new context; drift takes those up to the original context. */
  contexts?: readonly number[];
  /** Passkey prompts per context; default 5. */
  trials?: number;
  device?: EvalDevice;
  abortSignal?: AbortSignal;
  /** Progress of the perplexity evaluation, as evaluate() reports it. */
  onEvent?: (e: EvalProgressEvent) => void;
}

export interface PatchEval {
  /** Each chosen task's result, as `eval --task … --json` prints it (perplexity as `eval --json`). */
  results: { ppl?: EvaluateResult; passkey?: PasskeyResult; drift?: DriftResult };
  /** One model card section per task, in the order perplexity, passkey, drift. */
  sections: CardSection[];
  /** The same tables as plain text, for the console. */
  text: string;
}

/**
 * Runs the chosen tasks on a patched model: perplexity and passkey retrieval as "none" (its scaling removed) against
 * "model" (the patched config) on the same weights, drift of the patched model from `source`.
 *
 * @example
 * const e = await evaluatePatched({ model: "./tiny-x2", plan, texts, textsName: "docs.jsonl", tasks: ["ppl", "drift"], source: "./tiny" });
 * console.log(e.text);
 */
export async function evaluatePatched(p: PatchEvalParams): Promise<PatchEval> {
  const tasks = new Set(p.tasks ?? ["ppl"]);
  const contexts = p.contexts ?? [...new Set([p.plan.originalContext, p.plan.context])];
  const signal = p.abortSignal && { abortSignal: p.abortSignal };
  const label = (m: string) => (m === "none" ? "without RoPE scaling" : `${p.plan.method} x${p.plan.factor} (this model)`);
  const results: PatchEval["results"] = {};
  const sections: CardSection[] = [];
  const text: string[] = [];
  const add = (section: CardSection, table: string) => {
    sections.push(section);
    text.push(`${section.note}\n${table}`);
  };
  if (tasks.has("ppl")) {
    const r = (results.ppl = await evaluate({ model: p.model, texts: p.texts, contexts, methods: ["none", "model"], ...(p.device && { device: p.device }), ...signal }, p.onEvent));
    const docs = Math.max(...r.results.map((x) => x.docs));
    const note =
      `Perplexity (lower is better) over the first L tokens of each of ${docs} documents of ${p.textsName}: mean next-token ` +
      `negative log-likelihood over positions 1..L-1, exponentiated. Measured by \`yarnify eval\` on ${r.device}.` +
      (r.notes.length > 0 ? ` ${r.notes.join("; ")}.` : "");
    const labeled = r.results.map((x) => ({ ...x, method: label(x.method) }));
    add({ title: "Perplexity", note, markdown: perplexityMarkdownTable(labeled) }, perplexityTable(labeled));
  }
  if (tasks.has("passkey")) {
    const trials = p.trials ?? 5;
    const r = (results.passkey = await passkey({ model: p.model, contexts, methods: ["none", "model"], trials, ...signal }));
    const summary = Object.entries(r.passkeyContext).map(([m, s]) => `${label(m)}: ${s.context === null ? "none" : `${s.context} tokens (mean accuracy ${(100 * s.meanAccuracy!).toFixed(0)}%)`}`);
    const note =
      `Passkey retrieval (higher is better), the YaRN paper's test as jquesnelle/yarn \`eval/passkey.py\` builds it: ${trials} prompt${trials === 1 ? "" : "s"} per ` +
      `context, each a key drawn from 1..50000 hidden at a random depth in filler text (seed 0), answered by the first number in 10 ` +
      `greedily decoded tokens. Passkey context (the largest length with at least 80%): ${summary.join("; ")}. ` +
      "Measured by `yarnify eval --task passkey` on the CPU.";
    const labeled = r.results.map((x) => ({ ...x, method: label(x.method) }));
    add({ title: "Passkey retrieval", note, markdown: passkeyMarkdownTable(labeled) }, passkeyTable(labeled));
  }
  if (tasks.has("drift")) {
    if (p.source === undefined) throw new EvalInputError(p.model, "drift needs the original model as its baseline");
    // The original's own lengths: past them it extrapolates, and a difference there is no cost of the patch.
    const own = contexts.filter((c) => c <= p.plan.originalContext);
    const r = (results.drift = await drift({ model: p.model, baseline: p.source, texts: p.texts, contexts: own.length > 0 ? own : [p.plan.originalContext], ...signal }));
    const docs = Math.max(...r.results.map((x) => x.docs));
    const note =
      `How far this model's next-token distributions moved from the original's on prompts the original was trained for: over the first L ` +
      `tokens of each of ${docs} document${docs === 1 ? "" : "s"} of ${p.textsName}, the mean KL divergence (original ‖ this model, nats), both perplexities and ` +
      "the share of positions where both models' most likely next token is the same (`llama-perplexity --kl-divergence`'s statistics). " +
      "Measured by `yarnify eval --task drift` on the CPU." +
      (r.notes.length > 0 ? ` ${r.notes.join("; ")}.` : "");
    add({ title: "Drift from the original", note, markdown: driftMarkdownTable(r.results) }, driftTable(r.results));
  }
  return { results, sections, text: text.join("\n\n") };
}
