// `yarnify flags <model>`: the equivalent runtime flags for llama.cpp, vLLM and SGLang.
import { flags } from "../model-flags.ts";
import { flagsText } from "../report-text.ts";
import type { Command } from "./command.ts";
import { locateModelArg, withRevision } from "./hub.ts";
import { print, printJson } from "./io.ts";
import { FORMAT_OPTIONS, type FormatOptionValues, formatOptions, HUB_SOURCE_OPTIONS, type HubSourceOptionValues, JSON_OPTION } from "./options.ts";

export const flagsCommand: Command<FormatOptionValues & HubSourceOptionValues & { json?: boolean }> = {
  usage: "flags <model>",
  description: "The equivalent runtime flags for llama.cpp, vLLM and SGLang",
  options: [JSON_OPTION, ...FORMAT_OPTIONS, ...HUB_SOURCE_OPTIONS],
  examples: ["yarnify flags ./qwen-128k", "yarnify flags Qwen/Qwen3-8B --original-context 32768"],
  async run(arg, o, io) {
    const model = withRevision(arg, o.revision);
    const hub = await locateModelArg(model, o, io, "config");
    const r = await flags({ model: hub?.model ?? model, ...(hub?.remote && { remote: hub.remote }), ...formatOptions(o) });
    if (o.json) printJson(io, r);
    else print(io, flagsText(r));
    return 0;
  },
};
