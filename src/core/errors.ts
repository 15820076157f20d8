// The one error idiom and the one exit-code table. Every error a user can meet is a YarnifyError made from
// (file, problem): its message is one line, "<file>: <problem>", and its exit code comes from EXIT_CODES.
// The README's exit-code table is checked against EXIT_CODES by test/errors.test.ts.

/** What each exit code of the CLI means; the CLI exits with `EXIT_CODES[error.kind].code`. */
export const EXIT_CODES = {
  ok: { code: 0, meaning: "success" },
  failure: { code: 1, meaning: "anything else: a bad option or batch manifest, an unexpected fault" },
  model: { code: 2, meaning: "the model cannot be read (missing, malformed, unsupported, values no engine can use)" },
  plan: { code: 3, meaning: "the extension is impossible (factor ≤ 1, target ≤ original, beta_fast ≤ beta_slow, existing scaling without `--force`, ...)" },
  output: { code: 4, meaning: "the output cannot be written (exists, no parent, is or holds the source, another process writes it, a full or read-only disk)" },
  validation: { code: 5, meaning: "a validation check failed" },
  hub: { code: 6, meaning: "a hub error (after retries with backoff on 429/5xx)" },
  gpu: { code: 7, meaning: "WebGPU failed or cannot hold the work (`--device cpu` avoids it)" },
  interrupted: { code: 130, meaning: "interrupted (Ctrl-C; 143 for SIGTERM, 129 for SIGHUP); temporary outputs are removed" },
} as const;

export type ErrorKind = keyof typeof EXIT_CODES;

/**
 * A failure a user can act on. `file` names what was being read or written (a path, a URL, a repo, an option),
 * `problem` what is wrong with it.
 *
 * @example
 * throw new ModelFormatError("model/config.json", "rope_theta must be a positive number");
 * // message: "model/config.json: rope_theta must be a positive number"; CLI exit code 2
 */
export class YarnifyError extends Error {
  override name = "YarnifyError";
  /** The row of EXIT_CODES this error belongs to. */
  readonly kind: ErrorKind = "failure";
  constructor(
    readonly file: string | undefined,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    // One line whatever the file held (a key or a type name with a newline in it).
    super((file ? `${file}: ${problem}` : problem).replace(/\s*[\r\n]+\s*/g, " "));
    if (options && "cause" in options) (this as { cause?: unknown }).cause = options.cause;
  }
  /** Process exit code the CLI uses for this error. */
  get exitCode(): number {
    return EXIT_CODES[this.kind].code;
  }
}

/** The model files cannot be read or make no sense (exit 2). */
export class ModelFormatError extends YarnifyError {
  override name = "ModelFormatError";
  override readonly kind: ErrorKind = "model";
}

/** The requested extension is impossible or contradictory (exit 3). */
export class PlanError extends YarnifyError {
  override name = "PlanError";
  override readonly kind: ErrorKind = "plan";
}

/** The output cannot be written where asked (exit 4). */
export class OutputError extends YarnifyError {
  override name = "OutputError";
  override readonly kind: ErrorKind = "output";
}

/** WebGPU refused the work or cannot hold it (exit 7). */
export class GpuError extends YarnifyError {
  override name = "GpuError";
  override readonly kind: ErrorKind = "gpu";
}

