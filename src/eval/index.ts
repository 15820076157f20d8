// Perplexity evaluation (`yarnify eval`): the public surface.
export { evaluate, evaluateIter, EvalInputError } from "./evaluate.ts";
export type { EvalDevice, EvalProgressEvent, EvaluateParams, EvaluateResult } from "./evaluate.ts";
export { EVAL_METHODS, parseEvalMethod, ropeForMethod } from "./methods.ts";
export type { EvalMethod } from "./methods.ts";
export type { PerplexityResult } from "./result.ts";
export { detectTextFormat, loadTexts, parseTexts, TextInputError } from "./texts.ts";
export type { TextFormat } from "./texts.ts";
export { perplexityPlotSvg } from "./plot-svg.ts";
export type { PlotOptions } from "./plot-svg.ts";
export { perplexityMarkdownTable, perplexityTable } from "./table.ts";
export { loadTokenizer } from "./tokenizer.ts";
export { openCheckpoint } from "./model/checkpoint.ts";
export type { Checkpoint } from "./model/checkpoint.ts";
export { FAMILIES, familyOfGguf, familyOfHf } from "./model/families.ts";
export type { Family, FamilyName } from "./model/families.ts";
export { GpuError, GpuLimitError, NoGpuError } from "./gpu/backend.ts";
