// The error every safetensors reader throws: a ModelFormatError (exit 2) that names the file.
import { ModelFormatError } from "../core/errors.ts";

/** The file is not a readable safetensors file, or lacks what was asked. */
export class SafetensorsError extends ModelFormatError {
  override name = "SafetensorsError";
}
