// `yarnify validate <model>`: engine readings, frequency bands, the format's read-back, real weights and the kernel.
import { EXIT_CODES } from "../core/errors.ts";
import { validateText } from "../report-text.ts";
import type { Command } from "./command.ts";
import { locateModelArg, withRevision } from "./hub.ts";
import { print, printJson } from "./io.ts";
import { FORMAT_OPTIONS, type FormatOptionValues, formatOptions, HUB_SOURCE_OPTIONS, type HubSourceOptionValues } from "./options.ts";

type ValidateOptions = FormatOptionValues & HubSourceOptionValues & { json?: boolean; gpu?: boolean };

export const validateCommand: Command<ValidateOptions> = {
  usage: "validate <model>",
  description: "Check a patched model: engine readings, frequency bands, kernel and weights",
  options: [
    { flags: "--json", description: "Print one JSON object: {ok, adapter, checks}" },
    ...FORMAT_OPTIONS,
    { flags: "--no-gpu", description: "Do not use WebGPU (the kernel check is then reported as skipped)" },
    ...HUB_SOURCE_OPTIONS,
  ],
  examples: ["yarnify validate ./qwen-128k", "yarnify validate me/qwen-128k --json"],
  async run(arg, o, io) {
    const model = withRevision(arg, o.revision);
    const [{ validate }, { NoGpuError }] = await Promise.all([import("../validate/index.ts"), import("../../kernels/gpu.ts")]);
    const hub = await locateModelArg(model, o, io, "config");
    const validated = await validate({
      model: hub?.model ?? model,
      ...(hub?.remote && { remote: hub.remote }),
      ...(hub && !hub.remote && { skipWeights: "a hub repo is validated from its config files; its weights are not downloaded for the probe (validate a local copy)" }),
      ...formatOptions(o),
      ...(o.gpu === false && { gpu: new NoGpuError(undefined, "WebGPU not used (--no-gpu)") }),
      ...(io.abortSignal && { abortSignal: io.abortSignal }),
    });
    const report = hub ? { ...validated, model: hub.label } : validated;
    if (o.json) printJson(io, report);
    else print(io, validateText(report));
    return report.ok ? 0 : EXIT_CODES.validation.code;
  },
};
