// Perplexity of a causal-LM ONNX export in ONNX Runtime, with the protocol of ../shared/reference: for each doc,
// its first L tokens (no BOS), mean next-token NLL over positions 1..L−1, averaged over all docs' tokens, exp.
import { readFileSync } from "node:fs";
import { Tokenizer } from "@huggingface/tokenizers";
import * as ort from "onnxruntime-node";

export interface EvalDoc {
  path: string;
  text: string;
}

export function loadDocs(path: string): EvalDoc[] {
  return (JSON.parse(readFileSync(path, "utf8")) as { docs: EvalDoc[] }).docs;
}

/** The first `length` token ids of each doc (tokenizing a prefix long enough, not the whole file). */
export function tokenizeDocs(p: { tokenizerJson: string; tokenizerConfig: string; docs: EvalDoc[]; length: number }): number[][] {
  const tok = new Tokenizer(JSON.parse(readFileSync(p.tokenizerJson, "utf8")), JSON.parse(readFileSync(p.tokenizerConfig, "utf8")));
  return p.docs.map((doc) => {
    for (let chars = p.length * 8; ; chars *= 2) {
      const prefix = doc.text.slice(0, chars);
      const ids = tok.encode(prefix, { add_special_tokens: false }).ids;
      // One token more than needed, so a word cut at the end of the prefix cannot change the kept tokens.
      if (ids.length > p.length || prefix.length === doc.text.length) {
        if (ids.length < p.length) throw new Error(`${doc.path}: only ${ids.length} tokens, ${p.length} needed`);
        return ids.slice(0, p.length);
      }
    }
  });
}

/** Sum of next-token NLL and the count, for one token sequence. */
async function docNll(session: ort.InferenceSession, ids: number[]): Promise<{ nll: number; count: number }> {
  const n = ids.length;
  const out = await session.run({
    input_ids: new ort.Tensor("int64", BigInt64Array.from(ids, (v) => BigInt(v)), [1, n]),
    position_ids: new ort.Tensor("int64", BigInt64Array.from({ length: n }, (_, i) => BigInt(i)), [1, n]),
  });
  const logits = out.logits.data as Float32Array;
  const vocab = logits.length / n;
  let nll = 0;
  for (let t = 1; t < n; t++) {
    const row = logits.subarray((t - 1) * vocab, t * vocab);
    let max = -Infinity;
    for (let i = 0; i < vocab; i++) if (row[i] > max) max = row[i];
    let sum = 0;
    for (let i = 0; i < vocab; i++) sum += Math.exp(row[i] - max);
    nll += Math.log(sum) + max - row[ids[t]];
  }
  return { nll, count: n - 1 };
}

export async function perplexity(p: { model: string; sequences: number[][] }): Promise<number> {
  const session = await ort.InferenceSession.create(p.model, { logSeverityLevel: 3, intraOpNumThreads: 2 });
  try {
    let nll = 0;
    let count = 0;
    for (const ids of p.sequences) {
      const r = await docNll(session, ids);
      nll += r.nll;
      count += r.count;
    }
    return Math.exp(nll / count);
  } finally {
    await session.release();
  }
}
