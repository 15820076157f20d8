// `yarnify validate <model>`: engine readings, frequency bands, the format's read-back, real weights and the kernel.
import { EXIT_CODES } from "../core/errors.ts";
import { validateText } from "../report-text.ts";
import type { Command } from "./command.ts";
import { print, printJson } from "./io.ts";
import { FORMAT_OPTIONS, type FormatOptionValues, formatOptions } from "./options.ts";

type ValidateOptions = FormatOptionValues & { json?: boolean; gpu?: boolean };

export const validateCommand: Command<ValidateOptions> = {
  usage: "validate <model>",
  description: "Check a patched model: engine readings, frequency bands, kernel and weights",
  options: [
    { flags: "--json", description: "Print one JSON object: {ok, adapter, checks}" },
    ...FORMAT_OPTIONS,
    { flags: "--no-gpu", description: "Do not use WebGPU (the kernel check is then reported as skipped)" },
  ],
  async run(model, o, io) {
    const [{ validate }, { NoGpuError }] = await Promise.all([import("../validate/index.ts"), import("../../kernels/gpu.ts")]);
    const report = await validate({
      model,
      ...formatOptions(o),
      ...(o.gpu === false && { gpu: new NoGpuError(undefined, "WebGPU not used (--no-gpu)") }),
      ...(io.abortSignal && { abortSignal: io.abortSignal }),
    });
    if (o.json) printJson(io, report);
    else print(io, validateText(report));
    return report.ok ? 0 : EXIT_CODES.validation.code;
  },
};
