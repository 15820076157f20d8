// The contract every format adapter (converters/hf, converters/gguf, converters/onnx) fulfils.
import type { StoredRope } from "./rope/engines/stored.ts";
import type { RopeSpec } from "./rope/types.ts";
import type { ModelFormat, Plan } from "./types.ts";
import type { Check } from "./validate/report.ts";

export interface ModelInfo {
  format: ModelFormat;
  /** The model directory or file as given. */
  path: string;
  architecture: string;
  /** The rotary setup transformers would derive (the reference reading). */
  spec: RopeSpec;
  /** The parameters as stored, for the engine profiles. */
  stored: StoredRope;
  warnings: string[];
  /** Format-specific facts `inspect` reports (where an ONNX graph keeps its RoPE, a GGUF's keys, ...). */
  details?: Record<string, unknown>;
}

/** What a patched model must compute, for a format's own validation check. */
export interface ExpectedRope {
  invFreq: number[];
  attentionFactor: number;
  context: number;
}

export interface OutputFile {
  path: string;
  /** "written" for changed files; how unchanged ones were carried over otherwise. */
  how: "written" | "reflink" | "hardlink" | "copy";
}

export interface PatchOutput {
  /** Where the patched model is (or would be). */
  out: string;
  files: OutputFile[];
  /** Unified diff of every changed text file (dry run and normal run alike). */
  diff: string;
  /** The stored parameters of the result, for the engine profiles. */
  stored: StoredRope;
  warnings: string[];
}

export interface Converter {
  format: ModelFormat;
  /** Whether this converter handles the path (by extension or by contents). */
  accepts(path: string): boolean;
  read(path: string): Promise<ModelInfo>;
  /** The output path used when none is given. */
  defaultOut(path: string, plan: Plan): string;
  patch(params: { info: ModelInfo; plan: Plan; out: string; dryRun: boolean }): Promise<PatchOutput>;
  /** A validation check that reads the values back from the file itself (formats that bake RoPE in). */
  check?(info: ModelInfo, expected: ExpectedRope): Check;
}
