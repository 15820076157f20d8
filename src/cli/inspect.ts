// `yarnify inspect <model>`: a model's RoPE setup in words (or the inspect --json contract).
import { inspectHub } from "../hub/inspect-hub.ts";
import { isHubModelArg } from "../hub/parse-hub-source.ts";
import { inspect } from "../inspect.ts";
import { inspectText } from "../report-text.ts";
import type { Command } from "./command.ts";
import { hubConnection, withRevision } from "./hub.ts";
import { print, printJson, warn } from "./io.ts";
import { FORMAT_OPTIONS, type FormatOptionValues, formatOptions, HUB_SOURCE_OPTIONS, type HubSourceOptionValues } from "./options.ts";

type InspectOptions = FormatOptionValues & HubSourceOptionValues & { json?: boolean };

export const inspectCommand: Command<InspectOptions> = {
  usage: "inspect <model>",
  description: "Show a model's RoPE setup and how each engine reads it",
  options: [{ flags: "--json", description: "Print one JSON object (the inspect contract)" }, ...FORMAT_OPTIONS, ...HUB_SOURCE_OPTIONS],
  examples: ["yarnify inspect ./Qwen2.5-7B-Instruct --json", "yarnify inspect Qwen/Qwen2.5-7B-Instruct@main", "yarnify inspect Qwen/Qwen2.5-7B-Instruct-GGUF/qwen2.5-7b-instruct-q4_k_m.gguf"],
  async run(arg, o, io) {
    const model = withRevision(arg, o.revision);
    const r = isHubModelArg(model)
      ? await inspectHub({ ...hubConnection(o, io), source: model, ...formatOptions(o) })
      : await inspect({ model, ...formatOptions(o) });
    if (o.json) printJson(io, r);
    else {
      print(io, inspectText(r));
      warn(io, r.warnings);
    }
    return 0;
  },
};
