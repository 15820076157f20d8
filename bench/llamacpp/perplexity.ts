// Perplexity as llama.cpp computes it (through node-llama-cpp), with the evaluation protocol of the
// shared calibration: per document, the first L tokens (no BOS), mean next-token NLL over positions
// 1..L-1, averaged over all documents' tokens, then exp.
import { readFileSync } from "node:fs";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import type { Llama } from "node-llama-cpp";

export interface EvalDoc {
  path: string;
  text: string;
}

export function loadEvalDocs(path: string): EvalDoc[] {
  return (JSON.parse(readFileSync(path, "utf8")) as { docs: EvalDoc[] }).docs;
}

let llamaPromise: Promise<Llama> | undefined;
/** One CPU llama.cpp instance per process; never builds or downloads anything. */
export function cpuLlama(): Promise<Llama> {
  llamaPromise ??= getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  return llamaPromise;
}

export interface PerplexityResult {
  perplexity: number;
  /** Mean next-token negative log-likelihood (ln perplexity). */
  meanNll: number;
  /** Tokens scored (sum over docs of L-1). */
  tokens: number;
  docs: number;
}

export interface LlamaCppPerplexityParams {
  modelPath: string;
  docs: readonly EvalDoc[];
  length: number;
  threads?: number;
  /**
   * Float32 K/V cache and no flash attention: llama.cpp's own float32 arithmetic, as the judge of float32
   * fixtures needs (the default f16 cache rounds every key and value to 11 bits).
   */
  exact?: boolean;
}

export async function llamaCppPerplexity(p: LlamaCppPerplexityParams): Promise<PerplexityResult> {
  const llama = await cpuLlama();
  const model = await llama.loadModel({ modelPath: p.modelPath });
  const context = await model.createContext({
    contextSize: p.length,
    batchSize: p.length,
    sequences: 1,
    // One thread: with more threads than idle cores, ggml's spinning workers slow a shared machine 10-fold.
    threads: p.threads ?? 1,
    ...(p.exact && { flashAttention: false, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" }),
  });
  try {
    const sequence = context.getSequence();
    let nll = 0;
    let tokens = 0;
    for (const doc of p.docs) {
      const ids = model.tokenize(doc.text).slice(0, p.length);
      if (ids.length < p.length) throw new Error(`${doc.path}: only ${ids.length} tokens, ${p.length} needed`);
      await sequence.clearHistory();
      const input = ids.map((t, i) => (i < ids.length - 1 ? ([t, { generateNext: { probabilities: true } }] as const) : t));
      const out = await sequence.controlledEvaluate(input as Parameters<typeof sequence.controlledEvaluate>[0]);
      for (let i = 0; i < ids.length - 1; i++) {
        const prob = out[i]?.next.probabilities?.get(ids[i + 1]);
        if (prob === undefined) throw new Error(`${doc.path}: no probability at position ${i}`);
        nll -= Math.log(prob);
        tokens++;
      }
    }
    return { perplexity: Math.exp(nll / tokens), meanNll: nll / tokens, tokens, docs: p.docs.length };
  } finally {
    await context.dispose();
    await model.dispose();
  }
}
