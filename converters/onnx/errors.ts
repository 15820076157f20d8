// Typed errors of the ONNX converter: one line each, naming the file and the problem. They extend the
// project's error classes so the CLI maps them to its exit codes.
import { ModelFormatError, OutputError, PlanError } from "../../src/core/errors.ts";

/** The model (or a file beside it) cannot be read as needed. */
export class OnnxError extends ModelFormatError {
  override name = "OnnxError";
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

/** Several inv_freq (or cache) candidates disagree; the message lists them and `tensor` picks one. */
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

/** The plan cannot be applied to what was found (rotary dim mismatch, bad context). */
export class OnnxPatchError extends PlanError {
  override name = "OnnxPatchError";
}

/** The output would overwrite the source or its folder. */
export class OnnxOutputError extends OutputError {
  override name = "OnnxOutputError";
}
