// verl: its documented RoPE override, model.override_config.rope_scaling (docs/advance/rope.rst), goes through
// update_model_config (verl/utils/model.py), which descends into a nested dict and setattr()s each field on the
// config's current value: on a config whose rope_scaling is a dict (every patched model) or None, that is a setattr
// on a dict or on None, and fails. The patched config.json already holds every field the trainer and its vLLM
// rollout read, so the recipe points model.path at it and sets the lengths: data.max_length (sequences are cut or
// refused past it) and data.max_token_len_per_gpu (the dynamic batch's token budget, 8192 by default, must hold
// one sequence). The SFT trainer's config is sft_trainer_engine.yaml (verl/trainer/config/), composed by Hydra
// from the verl package; verl's schedulers are constant and cosine only (verl/workers/config/optimizer.py), so the
// paper's linear decay to 0 becomes cosine to 0.
import { accumulationSteps } from "./fine-tune.ts";
import type { TrainerRecipeBuilder } from "./trainer.ts";

/**
 * A verl SFT config (Hydra) for the short fine-tune of a patched model.
 *
 * @example
 * const { config, run } = verlRecipe({ model: "/models/qwen-128k", name: "qwen-128k", rope, fineTune: YARN_FINE_TUNE });
 */
export const verlRecipe: TrainerRecipeBuilder = ({ model, name, rope, fineTune: ft }) => ({
  config: {
    hydra: { searchpath: ["pkg://verl.trainer.config"] },
    defaults: ["sft_trainer_engine", "_self_"],
    model: { path: model },
    data: {
      max_length: rope.context,
      max_token_len_per_gpu: rope.context,
      train_batch_size: ft.globalBatch,
      micro_batch_size_per_gpu: 1,
    },
    optim: { lr: ft.learningRate, lr_warmup_steps: ft.warmupSteps, lr_scheduler_type: "cosine", min_lr_ratio: 0 },
    trainer: { total_training_steps: ft.steps, experiment_name: `${name}-yarn-ft` },
  },
  notes: [
    `no model.override_config.rope_scaling: verl's update_model_config would setattr on the stored dict; the patched config.json at model.path carries the model's ${Object.keys(rope.block).join(" and ")}`,
    `global batch ${ft.globalBatch} over ${ft.gpus} GPU(s): ${accumulationSteps(ft)} sequences each per step`,
    "data: sft_trainer_engine.yaml's; set data.train_files to your long-context data",
  ],
  run: `torchrun --standalone --nnodes 1 --nproc_per_node ${ft.gpus} -m verl.trainer.sft_trainer --config-path {dir} --config-name {name}`,
});
