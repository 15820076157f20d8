// `yarnify flags <model>`: the equivalent runtime flags for llama.cpp, vLLM and SGLang.
import { flags } from "../model-flags.ts";
import { flagsText } from "../report-text.ts";
import type { Command } from "./command.ts";
import { print, printJson } from "./io.ts";
import { JSON_OPTION } from "./options.ts";

export const flagsCommand: Command<{ json?: boolean }> = {
  usage: "flags <model>",
  description: "The equivalent runtime flags for llama.cpp, vLLM and SGLang",
  options: [JSON_OPTION],
  async run(model, o, io) {
    const r = await flags({ model });
    if (o.json) printJson(io, r);
    else print(io, flagsText(r));
    return 0;
  },
};
