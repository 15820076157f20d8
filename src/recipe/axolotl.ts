// axolotl: the RoPE block goes under `overrides_of_model_config` (docs/optimizations.qmd: "Pass the rope_scaling
// config under the overrides_of_model_config"; the top-level `rope_scaling` key is refused as deprecated,
// src/axolotl/utils/schemas/deprecated.py), which axolotl applies key by key with setattr on the loaded config
// (src/axolotl/loaders/utils.py): each value replaces the whole key, so the block is given whole, as stored.
// The data is the paper's: `type: completion` splits texts longer than `sequence_len` into samples
// (docs/dataset-formats/index.qmd).
import { YarnifyError } from "../core/errors.ts";
import { accumulationSteps } from "./fine-tune.ts";
import type { TrainerRecipeBuilder } from "./trainer.ts";

/**
 * An axolotl config for the short fine-tune of a patched model.
 *
 * @example
 * const { config } = axolotlRecipe({ model: "/models/qwen-128k", name: "qwen-128k", rope, fineTune: YARN_FINE_TUNE });
 * config.sequence_len; // 131072
 */
export const axolotlRecipe: TrainerRecipeBuilder = ({ model, name, rope, fineTune: ft }) => {
  if (rope.nesting) throw new YarnifyError(rope.file, `keeps its RoPE under ${rope.nesting}, and axolotl's overrides_of_model_config sets top-level keys only`);
  return {
    config: {
      base_model: model,
      sequence_len: rope.context,
      overrides_of_model_config: { ...rope.block, max_position_embeddings: rope.context },
      datasets: [{ path: ft.dataset, type: "completion", field: ft.textField }],
      max_steps: ft.steps,
      learning_rate: ft.learningRate,
      lr_scheduler: "linear",
      warmup_steps: ft.warmupSteps,
      optimizer: "adamw_torch",
      micro_batch_size: 1,
      gradient_accumulation_steps: accumulationSteps(ft),
      gradient_checkpointing: true,
      bf16: "auto",
      output_dir: `./outputs/${name}-yarn-ft`,
    },
    notes: [
      `overrides_of_model_config carries the model's own ${Object.keys(rope.block).join(" and ")} and max_position_embeddings, key for key`,
      `global batch ${ft.globalBatch} = micro_batch_size 1 x gradient_accumulation_steps ${accumulationSteps(ft)} x ${ft.gpus} GPU(s)`,
    ],
    run: ft.gpus > 1 ? `accelerate launch --num_processes ${ft.gpus} -m axolotl.cli.train {config}` : "axolotl train {config}",
  };
};
