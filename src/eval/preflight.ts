// Whether the evaluator can run a model, decided before anything is computed or written (`patch --eval` checks the
// source first, so a model it cannot measure leaves no patched copy behind).
import { openCheckpoint } from "./model/checkpoint.ts";
import { checkWeights } from "./model/weights.ts";

/**
 * Opens `model` as the evaluator would and checks its family, tokenizer and every tensor's presence, shape and type,
 * reading no weights; throws the ModelFormatError evaluate() would.
 *
 * @example
 * await checkEvaluable("./model.gguf"); // e.g. "model.gguf: tensor blk.0.attn_q.weight is Q2_K, a quantization ..."
 */
export async function checkEvaluable(model: string): Promise<void> {
  const ck = await openCheckpoint(model);
  try {
    ck.tokenizer();
    checkWeights(ck);
  } finally {
    await ck.close();
  }
}
