// `yarnify eval <model>`: perplexity against context for each RoPE method (the YaRN paper's experiment).
import { writeFileSync } from "node:fs";
import { YarnifyError } from "../core/errors.ts";
import type { EvalDevice } from "../eval/evaluate.ts";
import { EVAL_METHODS } from "../eval/methods.ts";
import type { Command } from "./command.ts";
import { type CliIo, print, printJson, warn } from "./io.ts";
import { locateModelArg, withRevision } from "./hub.ts";
import { contextList, HUB_SOURCE_OPTIONS, type HubSourceOptionValues, numberOption, wholeNumber, wordList } from "./options.ts";
import { evalProgressLine } from "./progress.ts";

interface EvalOptions extends HubSourceOptionValues {
  text?: string;
  context: unknown;
  methods: unknown;
  factor?: unknown;
  stride?: unknown;
  docs?: unknown;
  device: string;
  plot?: string;
  json?: boolean;
  task: string;
  trials?: unknown;
  depths?: unknown;
  seed?: unknown;
  baseline?: string;
  gpuMemory?: string;
  dryRun?: boolean;
}

export const evalCommand: Command<EvalOptions> = {
  usage: "eval <model>",
  description: "Perplexity against context length for each RoPE method, on WebGPU (the YaRN paper's experiment)",
  options: [
    { flags: "--text <file>", description: "Plain text, JSON Lines ({\"text\": ...}) or {\"docs\": [{\"text\": ...}]}" },
    { flags: "--context <list>", description: "Context lengths, comma-separated", default: "256,512,1024" },
    { flags: "--methods <list>", description: `Comma-separated: ${EVAL_METHODS.join(", ")}`, default: "model" },
    { flags: "--factor <s>", description: "Fixed scale for pi/ntk/dynamic/yarn (default: context / original per length)" },
    { flags: "--stride <n>", description: "Sliding-window mode: windows of each context length moved by this stride" },
    { flags: "--docs <n>", description: "Use only the first n documents" },
    { flags: "--device <d>", description: "auto | gpu | cpu", default: "auto" },
    { flags: "--gpu-memory <GiB>", description: "WebGPU device memory to plan for (or YARNIFY_GPU_MEMORY): weights streamed layer by layer when resident ones would not fit, refused up front when neither fits (default: unknown, weights resident, streamed if the upload runs out)" },
    { flags: "--dry-run", description: "Print the WebGPU memory each context needs (README: Memory model) and the plan within --gpu-memory; load nothing" },
    { flags: "--plot <file.svg>", description: "Also write an SVG plot: perplexity (ppl), accuracy with a context × depth heatmap under --depths (passkey), KL (drift)" },
    { flags: "--json", description: "Print {results: [{method, context, perplexity, tokens}], ...}; passkey: {task, results: [{method, context, accuracy, trials}], passkeyContext}; drift: {task, results: [{context, kl, perplexity, baselinePerplexity, top1Agreement}]}" },
    { flags: "--task <t>", description: "ppl | passkey (retrieval by greedy decoding over a K/V cache) | drift (KL from --baseline)", default: "ppl" },
    { flags: "--trials <n>", description: "passkey: prompts per context (per depth with --depths)", default: "10" },
    { flags: "--depths <list>", description: "passkey: fixed key depths in [0, 1] (default: uniform over characters)" },
    { flags: "--seed <n>", description: "passkey: seed of the keys and split points", default: "0" },
    { flags: "--baseline <model>", description: "drift: the original model the patched one is compared with" },
    ...HUB_SOURCE_OPTIONS,
  ],
  examples: [
    "yarnify eval ./model --text docs.txt --context 256,512,1024,2048,4096 --methods none,pi,ntk,dynamic,yarn",
    "yarnify eval ./Qwen3-0.6B-Q4_K_M.gguf --text docs.jsonl --context 4096,8192 --methods none,yarn --device cpu",
    "yarnify eval ./model --task passkey --context 512,1024 --trials 10 --methods none,yarn --seed 1",
    "yarnify eval ./model --task passkey --context 256,512 --trials 2 --depths 0,0.5,1 --methods none,yarn --plot passkey.svg",
    "yarnify eval ./model-yarn --task drift --baseline ./model --text docs.jsonl --context 256,512",
    "yarnify eval org/name --text docs.jsonl",
    "yarnify eval examples/llama-3.1-8b --context 4096,32768 --gpu-memory 24 --dry-run",
  ],
  async run(arg, o, io) {
    if (!["ppl", "passkey", "drift"].includes(o.task)) throw new YarnifyError("--task", `"${o.task}" is not a task (ppl, passkey, drift)`);
    if (o.dryRun) return runDryRun(arg, o, io);
    if (o.task === "ppl" && !o.text) throw new YarnifyError(undefined, "--text <file> is required (the documents to measure perplexity on)");
    // A hub repo: every file (weights, tokenizer) into the cache.
    const hub = await locateModelArg(withRevision(arg, o.revision), o, io, "all");
    const model = hub?.model ?? arg;
    // Plot titles name the model as given (org/name for a hub repo, not its cache folder).
    const label = hub?.label ?? arg;
    if (o.task === "passkey") return runPasskey(model, label, o, io);
    if (o.task === "drift") return runDrift(model, label, o, io);
    const text = o.text!;
    const contexts = contextList(o.context, "--context");
    const { evaluate, gpuMemoryBudget, loadTexts, parseEvalMethod, perplexityPlotSvg, perplexityTable } = await import("../eval/index.ts");
    const gpuMemory = gpuMemoryBudget(o.gpuMemory);
    const docs = wholeNumber(o.docs, "--docs");
    const texts = loadTexts(text).slice(0, docs);
    const evaluated = await evaluate({
      model,
      texts,
      contexts,
      methods: wordList(o.methods).map(parseEvalMethod),
      factor: numberOption(o.factor),
      slidingStride: numberOption(o.stride),
      device: o.device as EvalDevice,
      ...(gpuMemory !== undefined && { gpuMemory }),
      ...(io.abortSignal && { abortSignal: io.abortSignal }),
    }, evalProgressLine(io, io.isTTY && !o.json));
    const r = hub ? { ...evaluated, model: hub.label } : evaluated;
    const svg = () => perplexityPlotSvg(r.results, { title: `${r.model}: perplexity against context` });
    return report(io, o, r, svg, perplexityTable(r.results), `device: ${r.device}`, r.notes);
  },
};

async function runPasskey(model: string, label: string, o: EvalOptions, io: CliIo): Promise<number> {
  const { gpuMemoryBudget, passkey, parseEvalMethod, passkeyPlotSvg, passkeyTable } = await import("../eval/index.ts");
  const depths = o.depths === undefined ? undefined : wordList(o.depths).map((d) => {
    const x = Number(d);
    if (!(x >= 0 && x <= 1)) throw new YarnifyError("--depths", `"${d}" is not a depth in [0, 1]`);
    return x;
  });
  const gpuMemory = gpuMemoryBudget(o.gpuMemory);
  const r = await passkey({
    model,
    contexts: contextList(o.context, "--context"),
    methods: wordList(o.methods).map(parseEvalMethod),
    trials: wholeNumber(o.trials, "--trials"),
    seed: wholeNumber(o.seed, "--seed", 0),
    factor: numberOption(o.factor),
    device: o.device as EvalDevice,
    ...(gpuMemory !== undefined && { gpuMemory }),
    ...(depths && { depths }),
    ...(io.abortSignal && { abortSignal: io.abortSignal }),
  });
  const svg = () => passkeyPlotSvg(r.results, { title: `${label}: passkey accuracy against context`, ...(depths && { depths }) });
  const summary = Object.entries(r.passkeyContext).map(([m, s]) => `${m}: ${s.context === null ? "none ≥ 80%" : `${s.context} (mean accuracy ${(100 * s.meanAccuracy!).toFixed(0)}%)`}`);
  return report(io, o, r, svg, passkeyTable(r.results), `passkey context: ${summary.join("; ")}; device: ${r.device}`);
}

async function runDrift(model: string, label: string, o: EvalOptions, io: CliIo): Promise<number> {
  if (!o.baseline) throw new YarnifyError(undefined, "--baseline <model> is required (the original the patched model is compared with)");
  if (!o.text) throw new YarnifyError(undefined, "--text <file> is required (the documents to compare the models on)");
  const { drift, driftPlotSvg, driftTable, gpuMemoryBudget, loadTexts } = await import("../eval/index.ts");
  const texts = loadTexts(o.text).slice(0, wholeNumber(o.docs, "--docs"));
  const gpuMemory = gpuMemoryBudget(o.gpuMemory);
  const r = await drift({
    model, baseline: o.baseline, texts, contexts: contextList(o.context, "--context"), device: o.device as EvalDevice,
    ...(gpuMemory !== undefined && { gpuMemory }),
    ...(io.abortSignal && { abortSignal: io.abortSignal }),
  });
  const svg = () => driftPlotSvg(r.results, { title: `${label}: drift from ${o.baseline}` });
  return report(io, o, r, svg, driftTable(r.results), `device: ${r.device}`, r.notes);
}

/**
 * The one ending of every task: the SVG to `--plot` when asked, then `--json`'s object (naming the plot) or the
 * table, its closing line and the notes.
 */
function report(io: CliIo, o: EvalOptions, r: object, svg: () => string, table: string, closing: string, notes: readonly string[] = []): number {
  if (o.plot !== undefined) writeFileSync(o.plot, svg());
  if (o.json) printJson(io, { ...r, ...(o.plot !== undefined && { plot: o.plot }) });
  else {
    print(io, table);
    print(io, `${closing}${o.plot !== undefined ? `; plot: ${o.plot}` : ""}`);
    warn(io, notes);
  }
  return 0;
}

async function runDryRun(model: string, o: EvalOptions, io: CliIo): Promise<number> {
  const { describeNeed, evalMemory, formatBytes, gpuMemoryBudget } = await import("../eval/index.ts");
  const gpuMemory = gpuMemoryBudget(o.gpuMemory);
  const r = await evalMemory({ model, contexts: contextList(o.context, "--context"), ...(gpuMemory !== undefined && { gpuMemory }) });
  if (o.json) printJson(io, r);
  else {
    const within = gpuMemory === undefined ? "" : ` (within ${formatBytes(gpuMemory)})`;
    print(io, `${r.model} (${r.architecture}), ${r.weightType} weights on WebGPU${within}:`);
    for (const row of r.rows) print(io, `  ${row.context} tokens: ${describeNeed(row.need)}${row.weights ? `: weights ${row.weights}` : ""}`);
  }
  return 0;
}
