// `yarnify recipe <patched model> --trainer axolotl|llama-factory|nemo-rl|verl`: the fine-tuning config, printed (or
// written with --out, with the files it needs beside it).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { YarnifyError } from "../core/errors.ts";
import { recipe, trainerName, YARN_FINE_TUNE } from "../recipe/index.ts";
import type { FineTune } from "../recipe/fine-tune.ts";
import type { Command } from "./command.ts";
import { hubConnection, withRevision } from "./hub.ts";
import { print, printJson } from "./io.ts";
import { HUB_SOURCE_OPTIONS, type HubSourceOptionValues, numberOption, wholeNumber } from "./options.ts";

interface RecipeOptions extends HubSourceOptionValues {
  trainer?: string;
  out?: string;
  gpus?: unknown;
  steps?: unknown;
  lr?: unknown;
  batch?: unknown;
  dataset?: string;
  datasetField?: string;
  json?: boolean;
}

function fineTuneOptions(o: RecipeOptions): Partial<FineTune> {
  const lr = numberOption(o.lr);
  if (lr !== undefined && !(typeof lr === "number" && lr > 0 && Number.isFinite(lr))) throw new YarnifyError("--lr", `"${String(o.lr)}" is not a positive number`);
  const gpus = wholeNumber(o.gpus, "--gpus");
  const steps = wholeNumber(o.steps, "--steps");
  const batch = wholeNumber(o.batch, "--batch");
  return {
    ...(gpus !== undefined && { gpus }),
    ...(steps !== undefined && { steps }),
    ...(lr !== undefined && { learningRate: lr }),
    ...(batch !== undefined && { globalBatch: batch }),
    ...(o.dataset !== undefined && { dataset: String(o.dataset) }),
    ...(o.datasetField !== undefined && { textField: String(o.datasetField) }),
  };
}

export const recipeCommand: Command<RecipeOptions> = {
  usage: "recipe <model>",
  description: "A fine-tuning config for a patched model: its RoPE fields, the new length, the YaRN paper's short fine-tune",
  options: [
    { flags: "--trainer <name>", description: "axolotl | llama-factory | nemo-rl | verl" },
    { flags: "-o, --out <dir>", description: "Write <trainer>.yaml (and the files it needs) here instead of printing it" },
    { flags: "--gpus <n>", description: "GPUs the global batch is split over", default: YARN_FINE_TUNE.gpus },
    { flags: "--steps <n>", description: "Optimizer steps", default: YARN_FINE_TUNE.steps },
    { flags: "--lr <x>", description: "Peak learning rate (default 2e-5)" },
    { flags: "--batch <n>", description: "Global batch (sequences per step)", default: YARN_FINE_TUNE.globalBatch },
    { flags: "--dataset <id>", description: `Hub dataset of long plain text (axolotl, llama-factory; default ${YARN_FINE_TUNE.dataset})` },
    { flags: "--dataset-field <col>", description: `Its text column (default ${YARN_FINE_TUNE.textField})` },
    ...HUB_SOURCE_OPTIONS,
    { flags: "--json", description: "Print one JSON object: the config as data, the files, the run command" },
  ],
  examples: ["yarnify recipe ./qwen2.5-7b-128k --trainer axolotl", "yarnify recipe me/qwen2.5-7b-128k --trainer nemo-rl --gpus 8 --out ./recipe"],
  async run(arg, o, io) {
    const r = await recipe({
      ...hubConnection(o, io),
      model: withRevision(arg, o.revision),
      trainer: trainerName(o.trainer),
      fineTune: fineTuneOptions(o),
      ...(o.out !== undefined && { outDir: o.out }),
    });
    if (o.out !== undefined) {
      mkdirSync(o.out, { recursive: true });
      for (const [name, text] of Object.entries(r.files)) writeFileSync(join(o.out, name), text);
    }
    if (o.json) printJson(io, { trainer: r.trainer, model: r.model, context: r.context, config: r.config, files: Object.keys(r.files), run: r.run });
    else if (o.out !== undefined) print(io, `wrote ${Object.keys(r.files).map((n) => join(o.out!, n)).join(", ")}\nrun: ${r.run}`);
    else {
      print(io, r.yaml);
      for (const name of Object.keys(r.files).slice(1)) io.stderr(`${name} goes beside it: write both with --out <dir>\n`);
    }
    return 0;
  },
};
