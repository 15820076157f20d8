// LLaMA-Factory: its `rope_scaling` argument (yarn, linear, dynamic, llama3) is not a carrier for a patched
// model's fields: configure_rope (src/llamafactory/model/model_utils/rope.py) replaces config.rope_scaling with
// {rope_type, factor: ceil(model_max_length / original), original_max_position_embeddings} (llama3 adds its
// own low/high_freq_factor), dropping beta_fast, beta_slow, truncate, mscale and mscale_all_dim and rounding a
// fractional factor up; left unset (ModelArguments.rope_scaling defaults to None) it returns at once and the
// patched config.json is used as stored. So the recipe trains that config.json as it is, at `cutoff_len` =
// its context (the parser sets model_max_length = cutoff_len, hparams/parser.py). Continued pre-training
// (`stage: pt`) on the paper's text; a hub dataset is named in a dataset_info.json (`hf_hub_url`, the text column as
// `columns.prompt`, data/README.md), written beside the config.
import { accumulationSteps } from "./fine-tune.ts";
import type { TrainerRecipeBuilder } from "./trainer.ts";

/** The name the recipe registers the dataset under in dataset_info.json. */
export const LLAMA_FACTORY_DATASET = "yarn_long_text";

/**
 * A LLaMA-Factory config (and its dataset_info.json) for the short fine-tune of a patched model.
 *
 * @example
 * const { config, files } = llamaFactoryRecipe({ model: "me/qwen-128k", name: "qwen-128k", rope, fineTune: YARN_FINE_TUNE, outDir: "/work/recipe" });
 * config.cutoff_len; // 131072
 */
export const llamaFactoryRecipe: TrainerRecipeBuilder = ({ model, name, rope, fineTune: ft, outDir }) => ({
  config: {
    model_name_or_path: model,
    stage: "pt",
    do_train: true,
    finetuning_type: "full",
    dataset: LLAMA_FACTORY_DATASET,
    dataset_dir: outDir ?? ".",
    cutoff_len: rope.context,
    max_steps: ft.steps,
    learning_rate: ft.learningRate,
    lr_scheduler_type: "linear",
    warmup_steps: ft.warmupSteps,
    per_device_train_batch_size: 1,
    gradient_accumulation_steps: accumulationSteps(ft),
    bf16: true,
    output_dir: `saves/${name}-yarn-ft`,
  },
  notes: [
    `no rope_scaling key: LLaMA-Factory would rewrite the model's ${Object.keys(rope.block).join(" and ")} (dropping the YaRN betas, truncate and mscale, rounding the factor up); unset, the patched config.json is trained as stored`,
    `dataset_info.json (in dataset_dir) registers ${ft.dataset} as ${LLAMA_FACTORY_DATASET}`,
    `global batch ${ft.globalBatch} = per_device_train_batch_size 1 x gradient_accumulation_steps ${accumulationSteps(ft)} x ${ft.gpus} GPU(s)`,
  ],
  run: ft.gpus > 1 ? `FORCE_TORCHRUN=1 NPROC_PER_NODE=${ft.gpus} llamafactory-cli train {config}` : "llamafactory-cli train {config}",
  files: { "dataset_info.json": JSON.stringify({ [LLAMA_FACTORY_DATASET]: { hf_hub_url: ft.dataset, columns: { prompt: ft.textField } } }, null, 2) + "\n" },
});
