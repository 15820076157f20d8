// NeMo RL: YaRN goes in policy.hf_config_overrides.rope_scaling, which NeMo RL hands to both Megatron and vLLM, and
// which must spell out every YaRN field: setup.py refuses a yarn rope_scaling missing any of factor, rope_theta,
// original_max_position_embeddings, truncate, beta_fast, beta_slow, mscale, mscale_all_dim
// (nemo_rl/models/megatron/setup.py, _YARN_REQUIRED_FIELDS; docs/guides/yarn-long-context.md). YaRN runs on the
// Megatron backend only (dtensor_cfg.enabled: false). The fields are the model's as transformers reads them, with
// transformers' defaults where the file leaves one out (beta_fast 32, beta_slow 1, truncate true, mscale 1,
// mscale_all_dim 0); Megatron's attention factor, get_mscale(s, mscale) / get_mscale(s, mscale_all_dim)
// (megatron/core/models/common/embeddings/yarn_rotary_pos_embedding.py), must then equal transformers' one.
import { YarnifyError } from "../core/errors.ts";
import type { JsonValue } from "../core/hf-config/json-text.ts";
import { DEFAULT_BETA_FAST, DEFAULT_BETA_SLOW, getMscale, yarnAttentionFactor } from "../core/rope/yarn.ts";
import type { PatchedRope } from "./patched-rope.ts";
import type { TrainerRecipeBuilder } from "./trainer.ts";

/**
 * Every field NeMo RL requires of a yarn rope_scaling, with the model's values.
 *
 * @example
 * nemoRlYarnFields(readPatchedRope("./qwen-128k")); // { rope_type: "yarn", rope_theta: 1000000, factor: 4, ... }
 */
export function nemoRlYarnFields(rope: PatchedRope): { [key: string]: JsonValue } {
  const s = rope.scaling;
  if (s.method !== "yarn" || s.factor === undefined || s.originalContext === undefined) {
    throw new YarnifyError(rope.file, `uses ${s.method} RoPE scaling; NeMo RL carries YaRN only (policy.hf_config_overrides.rope_scaling on its Megatron backend)`);
  }
  const mscale = s.mscale ?? 1;
  const mscaleAllDim = s.mscaleAllDim ?? 0;
  const megatron = getMscale(s.factor, mscale) / getMscale(s.factor, mscaleAllDim);
  const transformers = yarnAttentionFactor(s.factor, s);
  if (Math.abs(megatron - transformers) > 1e-12) {
    throw new YarnifyError(rope.file, `its attention factor ${transformers} (as transformers computes it) is not what NeMo RL's Megatron computes from mscale ${mscale} and mscale_all_dim ${mscaleAllDim} (${megatron})`);
  }
  return {
    rope_type: "yarn",
    rope_theta: rope.theta,
    factor: s.factor,
    original_max_position_embeddings: s.originalContext,
    truncate: s.truncate ?? true,
    beta_fast: s.betaFast ?? DEFAULT_BETA_FAST,
    beta_slow: s.betaSlow ?? DEFAULT_BETA_SLOW,
    mscale,
    mscale_all_dim: mscaleAllDim,
  };
}

/**
 * A NeMo RL SFT config for the short fine-tune of a patched model; it inherits examples/configs/sft.yaml of a
 * NeMo RL checkout (save it at the checkout's root, or change `defaults`).
 *
 * @example
 * const { config } = nemoRlRecipe({ model: "me/qwen-128k", name: "qwen-128k", rope, fineTune: YARN_FINE_TUNE });
 */
export const nemoRlRecipe: TrainerRecipeBuilder = ({ model, name, rope, fineTune: ft }) => {
  if (rope.nesting) throw new YarnifyError(rope.file, `keeps its RoPE under ${rope.nesting}, and hf_config_overrides sets top-level config keys`);
  return {
    config: {
      defaults: "examples/configs/sft.yaml",
      sft: { max_num_steps: ft.steps },
      checkpointing: { checkpoint_dir: `results/${name}-yarn-ft` },
      policy: {
        model_name: model,
        max_total_sequence_length: rope.context,
        train_global_batch_size: ft.globalBatch,
        train_micro_batch_size: 1,
        dtensor_cfg: { enabled: false },
        megatron_cfg: {
          enabled: true,
          optimizer: { lr: ft.learningRate, min_lr: 0 },
          scheduler: { lr_warmup_iters: ft.warmupSteps, lr_warmup_init: 0, lr_decay_style: "linear", lr_decay_iters: ft.steps },
        },
        optimizer: null,
        hf_config_overrides: { rope_scaling: nemoRlYarnFields(rope) },
      },
      cluster: { gpus_per_node: ft.gpus },
    },
    notes: [
      "every YaRN field NeMo RL requires, the model's own (transformers' defaults where config.json leaves one out)",
      "data: sft.yaml's dataset; set data.train to your long-context data",
    ],
    run: "uv run examples/run_sft.py --config {config}",
  };
};
