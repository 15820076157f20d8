// Typed errors of the ONNX converter: one line each, naming the file and the problem.

export class OnnxError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = "OnnxError";
  }
}

/** The bytes are not a protobuf ModelProto (wrong wire types, no graph, a length past the end). */
export class OnnxFormatError extends OnnxError {
  override name = "OnnxFormatError";
}

/** An initializer points to an external data file that is missing or too short. */
export class OnnxExternalDataError extends OnnxError {
  override name = "OnnxExternalDataError";
}

/** No rotary embedding was recognised; the message says what was searched. */
export class OnnxRopeNotFoundError extends OnnxError {
  override name = "OnnxRopeNotFoundError";
}

/** Several inv_freq candidates disagree; the message lists them and `tensor` picks one. */
export class OnnxRopeAmbiguousError extends OnnxError {
  override name = "OnnxRopeAmbiguousError";
  constructor(
    file: string,
    readonly candidates: string[],
    problem: string,
  ) {
    super(file, problem);
  }
}

/** The plan cannot be applied to what was found (rotary dim mismatch, output equals input, ...). */
export class OnnxPatchError extends OnnxError {
  override name = "OnnxPatchError";
}
