// Typed errors. Each message is one line a user can act on; `file` names what was being read or written.
export class YarnifyError extends Error {
  override name = "YarnifyError";
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number = 1;
  constructor(message: string, readonly file?: string) {
    super(file ? `${file}: ${message}` : message);
  }
}

/** The model files cannot be read or make no sense (exit 2). */
export class ModelFormatError extends YarnifyError {
  override name = "ModelFormatError";
  override readonly exitCode = 2;
}

/** The requested extension is impossible or contradictory (exit 3). */
export class PlanError extends YarnifyError {
  override name = "PlanError";
  override readonly exitCode = 3;
}

/** The output cannot be written where asked (exit 4). */
export class OutputError extends YarnifyError {
  override name = "OutputError";
  override readonly exitCode = 4;
}
