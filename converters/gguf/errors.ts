// One error type for every GGUF problem: a one-line message naming the file and what is wrong.
import { type ErrorKind, YarnifyError } from "../../src/core/errors.ts";

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
  | "split"
  | "verify";

// The exit-code row of each problem; any other problem is an unreadable model.
const KINDS: Partial<Record<GgufProblem, ErrorKind>> = { unsupported: "plan", verify: "failure" };

export class GgufError extends YarnifyError {
  override name = "GgufError";
  override readonly kind: ErrorKind;
  constructor(
    file: string,
    /** Which kind of GGUF problem, for callers that react to one (tests, the fuzzer's tally). */
    readonly code: GgufProblem,
    problem: string,
  ) {
    super(file, problem);
    this.kind = KINDS[code] ?? "model";
  }
}
