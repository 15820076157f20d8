// One error type for every GGUF problem: a one-line message naming the file and what is wrong.

export type GgufProblem =
  | "not-gguf"
  | "version"
  | "truncated"
  | "limits"
  | "value-type"
  | "malformed"
  | "no-architecture"
  | "data-short"
  | "http"
  | "unsupported"
  | "output"
  | "split"
  | "verify";

export class GgufError extends Error {
  override readonly name = "GgufError";
  constructor(
    readonly file: string,
    readonly problem: GgufProblem,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}
