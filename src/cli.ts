#!/usr/bin/env node
// The yarnify command line. The same file runs under Node (built), Bun and Deno.
import { cac } from "cac";
import { YarnifyError } from "./core/errors.ts";
import { flags } from "./model-flags.ts";
import { inspect } from "./inspect.ts";
import { removeTrackedTemps } from "./core/io/temp-paths.ts";
import { patch } from "./patch.ts";
import { flagsText, inspectText, patchText, validateText } from "./report-text.ts";
import type { Plan, PlanMethod } from "./core/types.ts";
import { VERSION } from "./version.ts";
import { writeFileSync } from "node:fs";
import { basename } from "node:path";
import { EVAL_METHODS } from "./eval/methods.ts";
import type { EvalDevice } from "./eval/index.ts";
import { progressText } from "../converters/gguf/events.ts";
import type { PatchProgressEvent } from "./core/converter.ts";
import type { CliIo } from "./hub/cli-actions.ts";
import { isHubModelArg } from "./hub/parse-hub-source.ts";
import { hubParamsFromOptions } from "./hub/hub-params.ts";

// Loaded when a command needs them: a local patch does not pay for the hub client, WebGPU or the evaluator.
const hubActions = () => import("./hub/cli-actions.ts");
const validation = () => import("./validate/index.ts");
const evaluation = () => import("./eval/index.ts");
const ggufHeaderPatcher = async () => (await import("../converters/gguf/hub-header.ts")).patchGgufHeader;

const out = (s: string) => process.stdout.write(s.endsWith("\n") ? s : s + "\n");
const warn = (lines: string[]) => {
  for (const l of lines) process.stderr.write(`warning: ${l}\n`);
};

const io: CliIo = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s), isTTY: Boolean(process.stderr.isTTY) };

interface HubOptions {
  token?: string;
  hubUrl?: string;
  cacheDir?: string;
}

const cli = cac("yarnify");
/** Exit code of a validation with a failed check. */
const VALIDATION_FAILED = 5;

cli
  .command("inspect <model>", "Show a model's RoPE setup and how each engine reads it")
  .option("--json", "Print one JSON object (the inspect contract)")
  .option("--tensor <name>", "ONNX: the inv_freq or cos/sin cache to use when several disagree")
  .option("--original-context <tokens>", "Trained context of a file that does not record it (an ONNX graph alone)")
  .option("--token <token>", "Hugging Face token for private repos (default: $HF_TOKEN)")
  .option("--hub-url <url>", "Hub endpoint (default: $HF_ENDPOINT or https://huggingface.co)")
  .option("--cache-dir <dir>", "Download cache (default: $YARNIFY_CACHE or ~/.cache/yarnify)")
  .example("yarnify inspect ./Qwen2.5-7B-Instruct --json")
  .example("yarnify inspect Qwen/Qwen2.5-7B-Instruct@main")
  .action(async (model: string, o: FormatOptions & HubOptions & { json?: boolean }) => {
    const r = isHubModelArg(model)
      ? await (await import("./hub/inspect-hub.ts")).inspectHub({ ...hubParamsFromOptions(o), source: model, cacheDir: o.cacheDir })
      : await inspect(model, formatOptions(o));
    if (o.json) out(JSON.stringify(r, null, 2));
    else {
      out(inspectText(r));
      warn(r.warnings);
    }
  });

interface FormatOptions {
  tensor?: string;
  originalContext?: unknown;
}

interface PatchOptions extends FormatOptions, HubOptions {
  push?: string;
  branch?: string;
  pr?: boolean;
  private?: boolean;
  factor?: unknown;
  context?: unknown;
  method?: string;
  betaFast?: unknown;
  betaSlow?: unknown;
  truncate?: boolean;
  mscale?: unknown;
  mscaleAllDim?: unknown;
  attentionFactor?: unknown;
  out?: string;
  dryRun?: boolean;
  force?: boolean;
  validate?: boolean;
  verify?: boolean;
  eval?: string;
  evalContext?: unknown;
  baseModel?: string;
  json?: boolean;
}

type PatchedEvaluation = Awaited<ReturnType<typeof import("./eval/card-perplexity.ts").evaluatePatched>>;

/** `patch --eval`: a measuring function for the patched model, or undefined without the option. */
async function patchEvaluator(o: PatchOptions): Promise<((dir: string, plan: Plan) => Promise<PatchedEvaluation>) | undefined> {
  if (!o.eval) return undefined;
  const file = o.eval;
  const [{ loadTexts }, { evaluatePatched }] = await Promise.all([evaluation(), import("./eval/card-perplexity.ts")]);
  const texts = loadTexts(file);
  const contexts = o.evalContext === undefined ? undefined : contextList(o.evalContext, "--eval-context");
  return (model, plan) => evaluatePatched({ model, plan, texts, textsName: basename(file), ...(contexts && { contexts }) });
}

function contextList(v: unknown, option: string): number[] {
  return String(v).split(",").map((s) => s.trim()).filter(Boolean).map((c) => {
    const n = Number(c);
    if (!Number.isInteger(n) || n < 2) throw new YarnifyError(`${option}: "${c}" is not a whole number of tokens ≥ 2`);
    return n;
  });
}

/** A one-line progress bar on a terminal; nothing otherwise (pipes, --json). */
function progressBar(enabled: boolean): ((e: PatchProgressEvent) => void) | undefined {
  if (!enabled) return undefined;
  let started = Date.now();
  let phase = "";
  return (e) => {
    if (e.event === "phase" || e.phase !== phase) {
      phase = e.phase;
      started = Date.now();
    }
    if (e.event === "progress") {
      process.stderr.write(`\r\x1b[K${progressText(e as Extract<PatchProgressEvent, { event: "progress" }> & { phase: "write" | "verify" }, started, Date.now())}`);
      if (e.bytes >= e.total) process.stderr.write("\n");
    }
  };
}

/** cac turns numeric text into numbers; anything else is passed on so the planner can name it. */
const numberOption = (v: unknown): number | undefined => (v === undefined ? undefined : typeof v === "number" ? v : Number.isNaN(Number(v)) ? (v as number) : Number(v));

const formatOptions = (o: FormatOptions) => ({
  tensor: o.tensor === undefined ? undefined : String(o.tensor),
  originalContext: numberOption(o.originalContext),
});

cli
  .command("patch <model>", "Extend a model's context with YaRN (or PI, NTK, dynamic NTK)")
  .option("--factor <s>", "Scale factor s (new context = original × s)")
  .option("--context <tokens>", "Target context in tokens (factor = context / original)")
  .option("--method <m>", "yarn | linear | ntk | dynamic", { default: "yarn" })
  .option("--original-context <tokens>", "Trained context, when the file's is not it (Qwen3: 32768) or it has none (ONNX)")
  .option("--tensor <name>", "ONNX: the inv_freq or cos/sin cache to patch when several disagree")
  .option("--beta-fast <n>", "YaRN beta_fast (default 32)")
  .option("--beta-slow <n>", "YaRN beta_slow (default 1)")
  .option("--no-truncate", "Keep the YaRN correction range fractional (as gpt-oss)")
  .option("--mscale <m>", "DeepSeek-style mscale")
  .option("--mscale-all-dim <m>", "DeepSeek-style mscale_all_dim")
  .option("--attention-factor <a>", "Explicit attention factor (overrides the mscale rules)")
  .option("--out <path>", "Output path (default: <model>-yarn-<context>)")
  .option("--dry-run", "Print a unified diff of what would change; write nothing")
  .option("--force", "Re-plan a model that already has RoPE scaling, from its original context")
  .option("--validate", "Validate the output before reporting success (exit 5 if a check fails)")
  .option("--no-verify", "GGUF: skip re-reading the output to prove its tensor data equals the source's")
  .option("--eval <file>", "Measure perplexity with and without the scaling on these texts (as `eval --text`); published cards get the table")
  .option("--eval-context <list>", "Context lengths for --eval (default: the original and the new context)")
  .option("--push <repo>", "Publish the patched model to this repo (created if needed), with a model card; hub or local source")
  .option("--branch <name>", "Commit to this branch (of --push, else of the hub source repo)")
  .option("--base-model <repo>", "Local source: the original's hub id, for the card's base_model")
  .option("--pr", "Hub source: open a pull request on the source repo (config-only change)")
  .option("--private", "Create the --push repo as private")
  .option("--token <token>", "Hugging Face token (default: $HF_TOKEN)")
  .option("--hub-url <url>", "Hub endpoint (default: $HF_ENDPOINT or https://huggingface.co)")
  .option("--cache-dir <dir>", "Download cache (default: $YARNIFY_CACHE or ~/.cache/yarnify)")
  .example("yarnify patch Qwen/Qwen2.5-7B-Instruct --factor 4 --push me/Qwen2.5-7B-Instruct-128k")
  .option("--json", "Print one JSON object")
  .example("yarnify patch ./model --factor 4 --out ./model-yarn")
  .action(async (model: string, o: PatchOptions) => {
    const target = {
      force: o.force,
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
    const measure = await patchEvaluator(o);
    if (isHubModelArg(model)) {
      const perplexity = measure && (async (dir: string, plan: Plan) => (await measure(dir, plan)).card);
      const { hubPatchAction } = await hubActions();
      process.exitCode = await hubPatchAction(model, target, { ...o, push: o.push, token: o.token }, io, { patchGgufHeader: await ggufHeaderPatcher(), ...(perplexity && { perplexity }) });
      return;
    }
    if (o.pr) throw new YarnifyError("--pr opens a pull request on a hub source (org/name); publish a local model with --push <repo>", model);
    if (o.branch && !o.push) throw new YarnifyError("--branch needs --push <repo> for a local model", model);
    const r = await patch({
      model,
      out: o.out,
      dryRun: o.dryRun,
      tensor: formatOptions(o).tensor,
      verify: o.verify !== false,
      onProgress: progressBar(Boolean(process.stderr.isTTY) && !o.json),
      ...target,
    });
    const report = o.validate && !r.dryRun ? await (await validation()).validate({ model: r.out, plan: r.plan, tensor: formatOptions(o).tensor }) : null;
    const measured = measure && !r.dryRun ? await measure(r.out, r.plan) : undefined;
    const published = o.push && !r.dryRun
      ? await (await hubActions()).publishLocalAction(r, { ...o, push: o.push }, io, { ...(report && { report }), ...(measured && { perplexity: measured.card }) })
      : undefined;
    const publishJson = published && { repo: published.repo, branch: published.branch, commitUrl: published.commitUrl, commitOid: published.commitOid };
    if (o.json) out(JSON.stringify({ ...r, ...(report && { validation: report }), ...(measured && { evaluation: measured.result }), ...(publishJson && { publish: publishJson }) }, null, 2));
    else {
      if (r.dryRun && r.diff) out(r.diff);
      out(patchText(r));
      if (report) out(validateText(report));
      if (measured) out(`${measured.card.note}\n${measured.text}`);
      if (published) out(`commit ${published.commitUrl} (${published.commitOid})`);
      warn(r.warnings);
    }
    if (report && !report.ok) process.exitCode = VALIDATION_FAILED;
  });

cli
  .command("validate <model>", "Check a patched model: engine readings, frequency bands, kernel and weights")
  .option("--json", "Print one JSON object: {ok, adapter, checks}")
  .option("--tensor <name>", "ONNX: the inv_freq or cos/sin cache to check when several disagree")
  .option("--original-context <tokens>", "Trained context of a file that does not record it")
  .option("--no-gpu", "Do not use WebGPU (the kernel check is then reported as skipped)")
  .action(async (model: string, o: FormatOptions & { json?: boolean; gpu?: boolean }) => {
    const [{ validate }, { NoGpuError }] = await Promise.all([validation(), import("../kernels/gpu.ts")]);
    const report = await validate({ model, ...formatOptions(o), ...(o.gpu === false ? { gpu: new NoGpuError("WebGPU not used (--no-gpu)") } : {}) });
    out(o.json ? JSON.stringify(report, null, 2) : validateText(report));
    if (!report.ok) process.exitCode = VALIDATION_FAILED;
  });

cli
  .command("eval <model>", "Perplexity against context length for each RoPE method, on WebGPU (the YaRN paper's experiment)")
  .option("--text <file>", "Plain text, JSON Lines ({\"text\": ...}) or {\"docs\": [{\"text\": ...}]}")
  .option("--context <list>", "Context lengths, comma-separated", { default: "256,512,1024" })
  .option("--methods <list>", `Comma-separated: ${EVAL_METHODS.join(", ")}`, { default: "model" })
  .option("--factor <s>", "Fixed scale for pi/ntk/dynamic/yarn (default: context / original per length)")
  .option("--stride <n>", "Sliding-window mode: windows of each context length moved by this stride")
  .option("--docs <n>", "Use only the first n documents")
  .option("--device <d>", "auto | gpu | cpu", { default: "auto" })
  .option("--plot <file.svg>", "Where to write the SVG plot (default: perplexity.svg)")
  .option("--json", "Print {results: [{method, context, perplexity, tokens}], ...}")
  .example("yarnify eval ./model --text docs.txt --context 256,512,1024,2048,4096 --methods none,pi,ntk,dynamic,yarn")
  .action(async (model: string, o: { text?: string; context: unknown; methods: unknown; factor?: unknown; stride?: unknown; docs?: unknown; device: string; plot?: string; json?: boolean }) => {
    if (!o.text) throw new YarnifyError("--text <file> is required (the documents to measure perplexity on)");
    const list = (v: unknown) => String(v).split(",").map((s) => s.trim()).filter(Boolean);
    const contexts = contextList(o.context, "--context");
    const { evaluate, loadTexts, parseEvalMethod, perplexityPlotSvg, perplexityTable } = await evaluation();
    let texts = loadTexts(o.text);
    if (o.docs !== undefined) texts = texts.slice(0, Number(o.docs));
    const r = await evaluate({
      model,
      texts,
      contexts,
      methods: list(o.methods).map(parseEvalMethod),
      factor: numberOption(o.factor),
      slidingStride: numberOption(o.stride),
      device: o.device as EvalDevice,
    });
    const plot = o.plot ?? "perplexity.svg";
    writeFileSync(plot, perplexityPlotSvg(r.results, { title: `${model}: perplexity against context` }));
    if (o.json) out(JSON.stringify({ ...r, plot }, null, 2));
    else {
      out(perplexityTable(r.results));
      out(`device: ${r.device}; plot: ${plot}`);
      warn(r.notes);
    }
  });

cli
  .command("batch <manifest>", "Patch many models from a JSON or YAML manifest; resumable and shardable")
  .option("--concurrency <n>", "Items at once", { default: 2 })
  .option("--shard <i/n>", "Run only shard i of n (1-based), split deterministically")
  .option("--state <file>", "State file for resuming (default: <manifest>.state.jsonl)")
  .option("--reports <dir>", "Per-item JSON reports (default: <manifest>.reports)")
  .option("--token <token>", "Hugging Face token (default: $HF_TOKEN)")
  .option("--hub-url <url>", "Hub endpoint (default: $HF_ENDPOINT)")
  .option("--cache-dir <dir>", "Download cache")
  .option("--json", "Print the summary as JSON")
  .action(async (manifest: string, o: { concurrency?: unknown; shard?: string; state?: string; reports?: string; json?: boolean } & HubOptions) => {
    const { batchAction } = await hubActions();
    process.exitCode = await batchAction(manifest, { ...o, concurrency: numberOption(o.concurrency) }, io, { patchGgufHeader: await ggufHeaderPatcher() });
  });

cli
  .command("flags <model>", "The equivalent runtime flags for llama.cpp, vLLM and SGLang")
  .option("--json", "Print one JSON object")
  .action(async (model: string, o: { json?: boolean }) => {
    const r = await flags(model);
    out(o.json ? JSON.stringify(r, null, 2) : flagsText(r));
  });

cli.help();
cli.version(VERSION);

process.on("SIGINT", () => {
  removeTrackedTemps();
  process.exit(130);
});

async function main(): Promise<void> {
  try {
    cli.parse(process.argv, { run: false });
    if (!cli.matchedCommand) {
      if (cli.options.help || cli.options.version) return;
      const unknown = cli.args[0];
      throw new YarnifyError(unknown ? `unknown command "${unknown}" (see yarnify --help)` : "no command given (see yarnify --help)");
    }
    await cli.runMatchedCommand();
  } catch (err) {
    removeTrackedTemps();
    const e = err as Error;
    process.stderr.write(`yarnify: ${e.message}\n`);
    process.exitCode = err instanceof YarnifyError ? err.exitCode : 1;
  }
}

await main();
