// The YaRN paper's short fine-tune at the new length, the defaults of every recipe: "we fine-tuned for 400 steps
// with global batch size 64 ... on the PG19 dataset chunked into 64k segments" (Peng et al. 2023, arXiv 2309.00071,
// its training setup), with the authors' finetune.py defaults (github.com/jquesnelle/yarn): learning rate 2e-5,
// 20 warmup steps, then a linear decay (get_linear_schedule_with_warmup), AdamW; the PG19 text they chunked is
// emozilla/pg19 on the hub.
import { YarnifyError } from "../core/errors.ts";

export interface FineTune {
  steps: number;
  learningRate: number;
  warmupSteps: number;
  /** Sequences per optimizer step, over every GPU. */
  globalBatch: number;
  /** GPUs the global batch is spread over: each takes globalBatch / gpus (one sequence at a time, accumulated). */
  gpus: number;
  /** A hub dataset of long plain text, and its text column. */
  dataset: string;
  textField: string;
}

export const YARN_FINE_TUNE: FineTune = {
  steps: 400,
  learningRate: 2e-5,
  warmupSteps: 20,
  globalBatch: 64,
  gpus: 1,
  dataset: "emozilla/pg19",
  textField: "text",
};

/**
 * Sequences each GPU accumulates per step: the global batch split evenly (a batch that does not split is refused).
 *
 * @example
 * accumulationSteps({ ...YARN_FINE_TUNE, gpus: 8 }); // 8
 */
export function accumulationSteps(ft: FineTune): number {
  if (ft.globalBatch % ft.gpus !== 0) throw new YarnifyError("--gpus", `the global batch of ${ft.globalBatch} does not split over ${ft.gpus} GPUs`);
  return ft.globalBatch / ft.gpus;
}
