// `yarnify eval <model>`: perplexity against context for each RoPE method (the YaRN paper's experiment).
import { writeFileSync } from "node:fs";
import { YarnifyError } from "../core/errors.ts";
import type { EvalDevice } from "../eval/evaluate.ts";
import { EVAL_METHODS } from "../eval/methods.ts";
import type { Command } from "./command.ts";
import { print, printJson, warn } from "./io.ts";
import { locateModelArg, withRevision } from "./hub.ts";
import { contextList, HUB_SOURCE_OPTIONS, type HubSourceOptionValues, numberOption, wholeNumber, wordList } from "./options.ts";

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
    { flags: "--plot <file.svg>", description: "Also write the SVG plot to this file (none without it)" },
    { flags: "--json", description: "Print {results: [{method, context, perplexity, tokens}], ...}" },
    ...HUB_SOURCE_OPTIONS,
  ],
  examples: ["yarnify eval ./model --text docs.txt --context 256,512,1024,2048,4096 --methods none,pi,ntk,dynamic,yarn", "yarnify eval org/name --text docs.jsonl"],
  async run(arg, o, io) {
    if (!o.text) throw new YarnifyError(undefined, "--text <file> is required (the documents to measure perplexity on)");
    const contexts = contextList(o.context, "--context");
    // A hub repo: every file (weights, tokenizer) into the cache.
    const hub = await locateModelArg(withRevision(arg, o.revision), o, io, "all");
    const model = hub?.model ?? arg;
    const { evaluate, loadTexts, parseEvalMethod, perplexityPlotSvg, perplexityTable } = await import("../eval/index.ts");
    const docs = wholeNumber(o.docs, "--docs");
    const texts = loadTexts(o.text).slice(0, docs);
    const evaluated = await evaluate({
      model,
      texts,
      contexts,
      methods: wordList(o.methods).map(parseEvalMethod),
      factor: numberOption(o.factor),
      slidingStride: numberOption(o.stride),
      device: o.device as EvalDevice,
      ...(io.abortSignal && { abortSignal: io.abortSignal }),
    });
    const r = hub ? { ...evaluated, model: hub.label } : evaluated;
    if (o.plot !== undefined) writeFileSync(o.plot, perplexityPlotSvg(r.results, { title: `${r.model}: perplexity against context` }));
    if (o.json) printJson(io, { ...r, ...(o.plot !== undefined && { plot: o.plot }) });
    else {
      print(io, perplexityTable(r.results));
      print(io, `device: ${r.device}${o.plot !== undefined ? `; plot: ${o.plot}` : ""}`);
      warn(io, r.notes);
    }
    return 0;
  },
};
