// The ONNX format adapter for the CLI and the library API (src/core/converter.ts contract).
import { dirname, resolve } from "node:path";
import type { Converter, ModelInfo, PatchOutput } from "../../src/core/converter.ts";
import { storedFromSpec } from "../../src/core/rope/engines/stored.ts";
import type { RopeSpec } from "../../src/core/rope/types.ts";
import type { Plan } from "../../src/core/types.ts";
import { type OnnxRopeFound, inspectOnnx } from "./inspect.ts";
import { patchOnnx } from "./patch.ts";
import { isOnnxPath } from "./detect.ts";
import { findSidecars } from "./sidecar.ts";
import { verifyOnnx } from "./verify.ts";

/** ModelInfo plus where the rotary embedding was found, for `inspect` to print. */
export interface OnnxModelInfo extends ModelInfo {
  format: "onnx";
  found: OnnxRopeFound;
}

function architectureOf(path: string): string {
  const type = findSidecars(path).config?.model_type;
  return typeof type === "string" ? type : "onnx";
}

/**
 * An ONNX converter with the options only ONNX has: `tensor` picks the inv_freq (or cos/sin cache) by value name
 * when several disagree (CLI --tensor NAME); `context` gives the trained context of an inv_freq graph that has
 * no config.json or genai_config.json beside it.
 */
export function createOnnxConverter(opts: { tensor?: string; context?: number } = {}): Converter {
  return {
    format: "onnx",
    accepts: isOnnxPath,
    async read(path): Promise<OnnxModelInfo> {
      const info = inspectOnnx({ path, ...opts });
      const architecture = architectureOf(path);
      const found = info.found;
      return { format: "onnx", path, architecture, spec: info.spec, stored: storedFromSpec(info.spec, { architecture }), warnings: [], found, details: { found } };
    },
    check(info, expected) {
      return verifyOnnx({ model: info.path, invFreq: expected.invFreq, attentionFactor: expected.attentionFactor, context: expected.context, tensor: opts.tensor });
    },
    defaultOut(path, plan: Plan) {
      return `${resolve(dirname(path))}-yarn-${plan.context}`;
    },
    async patch({ info, plan, out, dryRun, overwrite }): Promise<PatchOutput> {
      const res = patchOnnx({ source: info.path, plan, out, dryRun, overwrite, ...opts });
      const after: RopeSpec = { ...plan.source, theta: plan.theta, context: plan.context, originalContext: plan.originalContext, scaling: plan.scaling };
      // The patched model is the .onnx file inside the output folder: `validate` and reports open that.
      return { out: res.model, files: res.files, diff: res.diff, stored: storedFromSpec(after, { architecture: info.architecture }), warnings: res.warnings };
    },
  };
}

export const onnxConverter: Converter = createOnnxConverter();
