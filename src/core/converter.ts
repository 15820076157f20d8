// The contract every format adapter (converters/hf, converters/gguf, converters/onnx) fulfils.
import type { StoredRope } from "./rope/engines/stored.ts";
import type { RopeSpec } from "./rope/types.ts";
import type { LayerLayout, WeightsSize } from "./fit.ts";
import type { ModelFormat, Plan, PlanTarget } from "./types.ts";

/** A validation check's outcome: a skipped check says why and never counts as a pass. */
export type CheckStatus = "pass" | "fail" | "skipped";

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  [figure: string]: unknown;
}

/** How to reach a model given as an http(s) URL: the headers (Authorization) and the fetch its requests use. */
export interface RemoteAccess {
  headers: Record<string, string>;
  fetch: typeof fetch;
}

/** A remote file readable with Range requests: the URL pinned to a commit, its auth headers and the fetch to use. */
export interface RemoteFile extends RemoteAccess {
  url: string;
}

/**
 * Builds the patched header of one remote GGUF (converters/gguf/hub-header.ts) without its tensor data; the hub
 * layer publishes it as an edit of the original file.
 */
export type GgufHeaderPatcher = (params: { location: RemoteFile; path: string; target: PlanTarget; signal?: AbortSignal }) => Promise<{ header: Uint8Array; replaces: number; plan: Plan }>;

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
  /** The layer layout (layers, KV heads, sliding windows), when the format says it. */
  layout?: LayerLayout;
  /** The weights' size, when the format says it without reading the weights (a GGUF's tensor infos). */
  weights?: WeightsSize;
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
  /** The result's layer layout, when the format says it (sliding layers may follow a new base). */
  layout?: LayerLayout;
  warnings: string[];
}

/** Progress of a long write (a GGUF's tensor data streamed to disk, then verified). */
export type PatchProgressEvent =
  | { event: "phase"; phase: string; file: string }
  | { event: "progress"; phase: string; file: string; bytes: number; total: number };

/** Options of a patch beyond the plan, honoured by the formats that stream large files. */
export interface PatchExtras {
  /** Re-read the output and compare it with the source after writing (default true). */
  verify?: boolean;
  /** Replace an existing output (default false: an existing output is refused, exit 4). */
  overwrite?: boolean;
  onProgress?: (e: PatchProgressEvent) => void;
  abortSignal?: AbortSignal;
}

export interface Converter {
  format: ModelFormat;
  /** Whether this converter handles the path (by extension or by contents). */
  accepts(path: string): boolean;
  /** Reads a model's RoPE setup; `remote` says how to reach an http(s) URL (formats that read one: GGUF). */
  read(path: string, remote?: RemoteAccess): Promise<ModelInfo>;
  /** The output path used when none is given. */
  defaultOut(path: string, plan: Plan): string;
  patch(params: { info: ModelInfo; plan: Plan; out: string; dryRun: boolean } & PatchExtras): Promise<PatchOutput>;
  /** A validation check that reads the values back from the file itself (formats that bake RoPE in). */
  check?(info: ModelInfo, expected: ExpectedRope): Check;
}
