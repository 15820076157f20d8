// The checkpoints the real-weights probe reads: whatever the evaluator opens (src/eval/model/checkpoint.ts), so one
// family description serves eval, `patch --eval` and this probe: every supported family, from safetensors or a GGUF
// of any decoded type, Q/K in transformers' order, with the family's biases, head norms and softmax scale.
import { YarnifyError } from "../core/errors.ts";
import { openCheckpoint, type Checkpoint } from "../eval/model/checkpoint.ts";
import { readAttention } from "../eval/model/weights.ts";
import type { ProbeModel } from "./weights-check.ts";

type Probe = ProbeModel | { skipped: string };

/**
 * The probe over the model at `path` (HF directory or local GGUF), or why it cannot be probed. The caller closes it.
 *
 * @example
 * const probe = await checkpointProbe("./model");
 * if (!("skipped" in probe)) try { ... } finally { await probe.close(); }
 */
export async function checkpointProbe(path: string): Promise<Probe & { close(): Promise<void> }> {
  let ck: Checkpoint;
  try {
    ck = await openCheckpoint(path);
  } catch (err) {
    // A model the evaluator cannot run is still validated: this one check says why it was not done.
    if (err instanceof YarnifyError) return { skipped: `weights not probed: ${err.problem}`, close: async () => {} };
    throw err;
  }
  const s = ck.shape;
  const global = s.layers.flatMap((l, i) => (l.rope === "global" ? [i] : []));
  return {
    hidden: s.hidden,
    nHeads: s.heads,
    nKv: s.kvHeads,
    eps: s.eps,
    vocab: s.vocab,
    softmaxScale: s.attentionScale,
    // The scaled RoPE is the global layers' (Gemma 3's sliding layers keep theirs): the first and the last of them.
    layers: [...new Set([global[0]!, global.at(-1)!])],
    embed: async (tokens) => ck.source.rows(ck.names.embed, tokens),
    async layer(layer) {
      try {
        const a = await readAttention(ck, layer);
        return { norm: a.attnNorm, q: a.q, k: a.k, qBias: a.qBias, kBias: a.kBias, qNorm: a.qNorm, kNorm: a.kNorm };
      } catch (err) {
        if (err instanceof YarnifyError) return { missing: err.problem };
        throw err;
      }
    },
    close: () => ck.close(),
  };
}
