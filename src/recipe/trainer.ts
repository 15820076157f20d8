// What each trainer's recipe builder takes and gives: the patched model's RoPE block and the fine-tune in, a config
// (as data, rendered to YAML by src/recipe/index.ts) and how to run it out.
import type { JsonValue } from "../core/hf-config/json-text.ts";
import type { FineTune } from "./fine-tune.ts";
import type { PatchedRope } from "./patched-rope.ts";

export type TrainerName = "axolotl" | "llama-factory" | "nemo-rl" | "verl";

export interface RecipeInput {
  /** The model as the trainer loads it: an absolute folder, or a hub id. */
  model: string;
  /** A short name for output folders. */
  name: string;
  rope: PatchedRope;
  fineTune: FineTune;
  /** The folder the recipe's files are written to (LLaMA-Factory's dataset_dir), when known. */
  outDir?: string;
}

export interface TrainerRecipe {
  config: { [key: string]: JsonValue };
  /** Lines for the file's header: what the trainer reads from where, and what was chosen and why. */
  notes: string[];
  /** How to start the training, `{config}` standing for the config file's path. */
  run: string;
  /** Other files the config needs beside it (name → text). */
  files?: { [name: string]: string };
}

export type TrainerRecipeBuilder = (input: RecipeInput) => TrainerRecipe;
