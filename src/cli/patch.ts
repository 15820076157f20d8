// `yarnify patch <model>`: plan, write the extended model (local, or a hub source published as a commit or PR),
// then optionally validate, measure and publish it.
import { basename } from "node:path";
import { YarnifyError, EXIT_CODES } from "../core/errors.ts";
import type { PlanMethod, PlanTarget } from "../core/types.ts";
import { isHubModelArg } from "../hub/parse-hub-source.ts";
import { patch } from "../patch.ts";
import { patchText, validateText } from "../report-text.ts";
import type { Command } from "./command.ts";
import { type HubCliOptions, type PatchMeasure, patchHubSource, publishedJson, publishedText, publishLocalPatch, withRevision } from "./hub.ts";
import { type CliIo, print, printJson, warn } from "./io.ts";
import { contextList, FORMAT_OPTIONS, type FormatOptionValues, formatOptions, HUB_SOURCE_OPTIONS, numberOption, wholeNumber, wordList } from "./options.ts";
import { evalProgressLine, progressBar } from "./progress.ts";

interface PatchOptions extends FormatOptionValues, HubCliOptions {
  factor?: unknown;
  context?: unknown;
  method?: string;
  betaFast?: unknown;
  betaSlow?: unknown;
  truncate?: boolean;
  mscale?: unknown;
  mscaleAllDim?: unknown;
  attentionFactor?: unknown;
  force?: boolean;
  allowShrink?: boolean;
  verify?: boolean;
  eval?: string;
  evalContext?: unknown;
  evalTasks?: unknown;
  evalTrials?: unknown;
  baseModel?: string;
  /** cac keys an option by its longest name: `--pr` and `--create-pr` both set createPr (and `--pr` also pr). */
  createPr?: boolean;
}

/**
 * `--eval`: a measuring function for the patched model and its source (drift's baseline), the evaluator loaded only
 * then. A local `source` is checked first, so a model the evaluator cannot run fails before its patched copy is
 * written.
 */
async function patchEvaluator(o: PatchOptions, io: CliIo, source?: string): Promise<PatchMeasure | undefined> {
  if (!o.eval) {
    for (const [flag, v] of [["--eval-tasks", o.evalTasks], ["--eval-trials", o.evalTrials], ["--eval-context", o.evalContext]] as const) {
      if (v !== undefined) throw new YarnifyError(flag, "needs --eval <file> (the texts to measure on)");
    }
    return undefined;
  }
  const file = o.eval;
  const [{ loadTexts }, { evaluatePatched, PATCH_EVAL_TASKS }, { checkEvaluable }] = await Promise.all([
    import("../eval/texts.ts"),
    import("../eval/card-eval.ts"),
    import("../eval/preflight.ts"),
  ]);
  const tasks = wordList(o.evalTasks ?? "ppl").map((t) => {
    const task = PATCH_EVAL_TASKS.find((x) => x === t);
    if (!task) throw new YarnifyError("--eval-tasks", `"${t}" is not a task (${PATCH_EVAL_TASKS.join(", ")})`);
    return task;
  });
  const trials = wholeNumber(o.evalTrials, "--eval-trials");
  const texts = loadTexts(file);
  if (source !== undefined) await checkEvaluable(source);
  const contexts = o.evalContext === undefined ? undefined : contextList(o.evalContext, "--eval-context");
  const onEvent = evalProgressLine(io, io.isTTY && !o.json);
  return (model, plan, original) => evaluatePatched({
    model, plan, texts, textsName: basename(file), tasks, source: original,
    ...(trials !== undefined && { trials }), ...(contexts && { contexts }), ...(io.abortSignal && { abortSignal: io.abortSignal }), ...(onEvent && { onEvent }),
  });
}

function planTarget(o: PatchOptions): PlanTarget {
  return {
    force: o.force,
    allowShrink: o.allowShrink,
    method: o.method as PlanMethod,
    factor: numberOption(o.factor),
    context: numberOption(o.context),
    originalContext: formatOptions(o).originalContext,
    betaFast: numberOption(o.betaFast),
    betaSlow: numberOption(o.betaSlow),
    truncate: o.truncate === false ? false : undefined,
    mscale: numberOption(o.mscale),
    mscaleAllDim: numberOption(o.mscaleAllDim),
    attentionFactor: numberOption(o.attentionFactor),
  };
}

export const patchCommand: Command<PatchOptions> = {
  usage: "patch <model>",
  description: "Extend a model's context with YaRN (or PI, NTK, dynamic NTK)",
  options: [
    { flags: "--factor <s>", description: "Scale factor s (new context = original × s)" },
    { flags: "--context <tokens>", description: "Target context in tokens (factor = context / original)" },
    { flags: "--method <m>", description: "yarn | linear | ntk | dynamic", default: "yarn" },
    ...FORMAT_OPTIONS,
    { flags: "--beta-fast <n>", description: "YaRN beta_fast (default 32)" },
    { flags: "--beta-slow <n>", description: "YaRN beta_slow (default 1)" },
    { flags: "--no-truncate", description: "Keep the YaRN correction range fractional (as gpt-oss)" },
    { flags: "--mscale <m>", description: "DeepSeek-style mscale" },
    { flags: "--mscale-all-dim <m>", description: "DeepSeek-style mscale_all_dim" },
    { flags: "--attention-factor <a>", description: "Explicit attention factor (overrides the mscale rules)" },
    { flags: "-o, --out <path>", description: "Output path (default: <model>-yarn-<context>); an existing one is refused unless --overwrite" },
    { flags: "--overwrite", description: "Replace an existing output (never the source)" },
    { flags: "--dry-run", description: "Print a unified diff of what would change; write nothing" },
    { flags: "--force", description: "Re-plan a model that already has RoPE scaling, from its original context (overwriting an output needs --overwrite)" },
    { flags: "--allow-shrink", description: "Write a target context at or below the one the model declares (refused otherwise)" },
    { flags: "--validate", description: "Validate the output before reporting success (exit 5 if a check fails)" },
    { flags: "--no-verify", description: "GGUF: skip re-reading the output to prove its tensor data equals the source's" },
    { flags: "--eval <file>", description: "Measure the output on these texts (as `eval --text`), with and without its scaling; published cards get the tables" },
    { flags: "--eval-tasks <list>", description: "What --eval measures, comma-separated: ppl, passkey (retrieval, CPU), drift (KL from the source, CPU) (default: ppl)" },
    { flags: "--eval-context <list>", description: "Context lengths for --eval (default: the original and the new context; drift: those up to the original)" },
    { flags: "--eval-trials <n>", description: "Passkey prompts per context for --eval-tasks passkey (default: 5)" },
    { flags: "--push <repo>", description: "Publish the patched model to this repo (created if needed), with a model card; hub or local source" },
    { flags: "--branch <name>", description: "Commit to this branch (of --push, else of the hub source repo)" },
    { flags: "--base-model <repo>", description: "Local source: the original's hub id, for the card's base_model" },
    { flags: "--pr, --create-pr", description: "Hub source: open a pull request on the source repo (config-only change)" },
    { flags: "--commit-message <text>", description: "Title of the published commit (default: yarnify's, naming the change)" },
    { flags: "--private", description: "Create the --push repo as private" },
    ...HUB_SOURCE_OPTIONS,
    { flags: "--json", description: "Print one JSON object" },
  ],
  examples: ["yarnify patch Qwen/Qwen2.5-7B-Instruct --factor 4 --push me/Qwen2.5-7B-Instruct-128k", "yarnify patch ./model --factor 4 --out ./model-yarn"],
  async run(arg, options, io) {
    const o: PatchOptions = { ...options, pr: options.createPr };
    const model = withRevision(arg, o.revision);
    const target = planTarget(o);
    const measure = await patchEvaluator(o, io, isHubModelArg(model) ? undefined : model);
    if (isHubModelArg(model)) return patchHubSource(model, target, o, io, { ...(measure && { measure }) });
    if (o.pr) throw new YarnifyError(model, "--pr opens a pull request on a hub source (org/name); publish a local model with --push <repo>");
    if (o.branch && !o.push) throw new YarnifyError(model, "--branch needs --push <repo> for a local model");
    const { tensor, timeoutMs } = formatOptions(o);
    const r = await patch(
      { model, out: o.out, dryRun: o.dryRun, tensor, timeoutMs, verify: o.verify !== false, overwrite: o.overwrite, ...(io.abortSignal && { abortSignal: io.abortSignal }), ...target },
      progressBar(io, io.isTTY && !o.json),
    );
    const report = o.validate && !r.dryRun
      ? await (await import("../validate/index.ts")).validate({ model: r.out, plan: r.plan, tensor, ...(io.abortSignal && { abortSignal: io.abortSignal }) })
      : null;
    const measured = measure && !r.dryRun ? await measure(r.out, r.plan, r.source) : undefined;
    const published = o.push && !r.dryRun
      ? await publishLocalPatch(r, { ...o, push: o.push }, io, { ...(report && { report }), ...(measured && { evaluation: measured.sections }) })
      : undefined;
    if (o.json) {
      printJson(io, { ...r, ...(report && { validation: report }), ...(measured && { evaluation: measured.results }), ...(published && { publish: publishedJson(published) }) });
    }
    else {
      if (r.dryRun && r.diff) print(io, r.diff);
      print(io, patchText(r));
      if (report) print(io, validateText(report));
      if (measured) print(io, measured.text);
      if (published) print(io, publishedText(published));
      warn(io, r.warnings);
    }
    return report && !report.ok ? EXIT_CODES.validation.code : 0;
  },
};
