// `yarnify validate`: is this patched model right, and will it behave at the new length?
import { type ConverterOptions, converterFor } from "../models.ts";
import { computeRope } from "../rope/compute.ts";
import type { Plan } from "../types.ts";
import { bandsCheck } from "./bands-check.ts";
import { enginesCheck } from "./engines-check.ts";
import { type Check, makeReport, type Report } from "./report.ts";

export type { AdapterInfo, Check, CheckStatus, Report } from "./report.ts";

export interface ValidateParams extends ConverterOptions {
  model: string;
  /** The plan the model was patched with; without it the file's own declaration is the reference. */
  plan?: Plan;
}

export async function validate(params: ValidateParams): Promise<Report> {
  const converter = converterFor(params.model, params);
  const info = await converter.read(params.model);
  const spec = info.spec;
  const declared = computeRope(spec);
  const expected = params.plan ?? { invFreq: declared.invFreq, attentionFactor: declared.attentionFactor };
  const checks: Check[] = [
    info.format === "onnx"
      ? { name: "engines", status: "skipped", detail: "an ONNX graph bakes its frequencies in; the onnx-graph check reads them back" }
      : enginesCheck(info.stored, expected),
  ];
  const originalContext = spec.scaling.originalContext ?? spec.originalContext ?? spec.context;
  if (spec.context > originalContext) {
    checks.push(bandsCheck({ spec, invFreq: declared.invFreq, originalContext, context: spec.context }));
  } else {
    checks.push({ name: "frequency-bands", status: "skipped", detail: `the model declares no extension (context ${spec.context} = original)` });
  }
  if (converter.check) checks.push(converter.check(info, { invFreq: expected.invFreq, attentionFactor: expected.attentionFactor, context: spec.context }));
  return makeReport(params.model, null, checks);
}
