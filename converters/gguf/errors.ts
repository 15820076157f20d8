// One error type for every GGUF problem: a one-line message naming the file and what is wrong.
import { YarnifyError } from "../../src/core/errors.ts";

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

// Same exit codes as the other errors: 2 unreadable model, 3 impossible plan, 4 output not writable.
const EXIT_CODES: Partial<Record<GgufProblem, number>> = { unsupported: 3, output: 4, verify: 1 };

export class GgufError extends YarnifyError {
  override name = "GgufError";
  override readonly exitCode: number;
  constructor(
    file: string,
    readonly problem: GgufProblem,
    detail: string,
  ) {
    super(detail, file);
    this.exitCode = EXIT_CODES[problem] ?? 2;
  }
}
