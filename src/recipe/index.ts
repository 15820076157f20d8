// `yarnify recipe <patched model> --trainer T`: the training config that continues the YaRN method with the
// paper's short fine-tune at the new length, in the format and with the keys each trainer documents, carrying the
// patched model's RoPE fields (src/recipe/<trainer>.ts says where each trainer reads them from).
import { existsSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { Document, visit } from "yaml";
import { YarnifyError } from "../core/errors.ts";
import { FLOAT_KEYS } from "../core/hf-config/write.ts";
import type { JsonValue } from "../core/hf-config/json-text.ts";
import { fetchHubConfig } from "../hub/fetch-hub-config.ts";
import { type HubParams, splitHubParams } from "../hub/hub-params.ts";
import { parseHubSource } from "../hub/parse-hub-source.ts";
import { axolotlRecipe } from "./axolotl.ts";
import { type FineTune, YARN_FINE_TUNE } from "./fine-tune.ts";
import { llamaFactoryRecipe } from "./llama-factory.ts";
import { nemoRlRecipe } from "./nemo-rl.ts";
import { type PatchedRope, readPatchedRope } from "./patched-rope.ts";
import type { TrainerName, TrainerRecipeBuilder } from "./trainer.ts";
import { verlRecipe } from "./verl.ts";

export type { TrainerName } from "./trainer.ts";
export { YARN_FINE_TUNE } from "./fine-tune.ts";
export type { FineTune } from "./fine-tune.ts";

export const TRAINERS: Readonly<Record<TrainerName, TrainerRecipeBuilder>> = {
  axolotl: axolotlRecipe,
  "llama-factory": llamaFactoryRecipe,
  "nemo-rl": nemoRlRecipe,
  verl: verlRecipe,
};

export interface RecipeParams extends HubParams {
  /** A patched model: a local folder with config.json, or a hub repo (org/name[@revision]). */
  model: string;
  trainer: TrainerName;
  /** Changes to the paper's fine-tune (steps, learning rate, global batch, GPUs, dataset). */
  fineTune?: Partial<FineTune>;
  /** Where the files will be written: makes the run command and LLaMA-Factory's dataset_dir concrete. */
  outDir?: string;
  cacheDir?: string;
}

export interface Recipe {
  trainer: TrainerName;
  /** The model as the config names it. */
  model: string;
  context: number;
  /** The config as data, and as the YAML written. */
  config: { [key: string]: JsonValue };
  yaml: string;
  /** Every file of the recipe, the config first ("<trainer>.yaml"). */
  files: { [name: string]: string };
  run: string;
}

function isTrainer(name: string): name is TrainerName {
  return name in TRAINERS;
}

/**
 * The trainer named on the command line, or a one-line refusal listing the four.
 *
 * @example
 * trainerName("axolotl"); // "axolotl"
 */
export function trainerName(name: string | undefined): TrainerName {
  if (name === undefined || !isTrainer(name)) throw new YarnifyError("--trainer", `${name === undefined ? "missing" : `"${name}" is not one`}: ${Object.keys(TRAINERS).join(" | ")}`);
  return name;
}

/**
 * YAML under header comments, with RoPE numbers spelled as config.json spells them (4.0 stays 4.0, 40 stays 40);
 * values the file does not hold are floats where Python writes floats (FLOAT_KEYS).
 */
function renderYaml(config: { [key: string]: JsonValue }, header: string[], floatSpelling: ReadonlyMap<string, boolean>): string {
  const doc = new Document(config);
  visit(doc, {
    Pair(_, pair) {
      const key = (pair.key as { value?: unknown } | null)?.value;
      const value = pair.value as { value?: unknown; minFractionDigits?: number } | null;
      if (typeof key !== "string" || typeof value?.value !== "number") return;
      if (floatSpelling.get(key) ?? FLOAT_KEYS.has(key)) value.minFractionDigits = 1;
    },
  });
  doc.commentBefore = header.map((l) => ` ${l}`).join("\n");
  return doc.toString({ lineWidth: 0 });
}

async function patchedModel(params: RecipeParams): Promise<{ model: string; rope: PatchedRope }> {
  if (existsSync(params.model)) return { model: resolve(params.model), rope: readPatchedRope(params.model) };
  const source = parseHubSource(params.model);
  if (!source) return { model: params.model, rope: readPatchedRope(params.model) };
  if (source.path) throw new YarnifyError(params.model, "name the repo, not a file in it: trainers load a Hugging Face model folder");
  const dir = await fetchHubConfig({ ...splitHubParams(params).hub, source, ...(params.cacheDir !== undefined && { cacheDir: params.cacheDir }) });
  return { model: source.revision ? `${source.repo}@${source.revision}` : source.repo, rope: readPatchedRope(dir.dir) };
}

/**
 * Builds the recipe of a trainer for a patched model.
 *
 * @example
 * const r = await recipe({ model: "./qwen2.5-7b-128k", trainer: "nemo-rl" });
 * writeFileSync("nemo-rl.yaml", r.yaml);
 */
export async function recipe(params: RecipeParams): Promise<Recipe> {
  const { model, rope } = await patchedModel(params);
  const fineTune: FineTune = { ...YARN_FINE_TUNE, ...params.fineTune };
  const outDir = params.outDir === undefined ? undefined : resolve(params.outDir);
  const name = basename(model.split("@")[0]);
  const built = TRAINERS[params.trainer]({ model, name, rope, fineTune, ...(outDir !== undefined && { outDir }) });
  const fileName = `${params.trainer}.yaml`;
  const configPath = outDir === undefined ? fileName : join(outDir, fileName);
  const run = built.run.replace("{config}", configPath).replace("{dir}", outDir ?? ".").replace("{name}", params.trainer);
  const s = rope.scaling;
  const header = [
    `${params.trainer} recipe by yarnify: ${model}, ${rope.context} tokens (${s.method}${s.factor !== undefined ? ` x${s.factor}` : ""} from ${s.originalContext ?? "?"}),`,
    `the YaRN paper's fine-tune: ${fineTune.steps} steps at lr ${fineTune.learningRate}, ${fineTune.warmupSteps} warmup, global batch ${fineTune.globalBatch}.`,
    ...built.notes.map((n) => `${n}.`),
    `run: ${run}`,
  ];
  const yaml = renderYaml(built.config, header, rope.floatSpelling);
  return { trainer: params.trainer, model, context: rope.context, config: built.config, yaml, files: { [fileName]: yaml, ...built.files }, run };
}
