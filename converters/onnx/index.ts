// The ONNX converter: find the rotary embedding of an ONNX graph and rewrite it for a Plan.
export { inspectOnnx } from "./inspect.ts";
export type { InspectOnnxParams, OnnxInspection, OnnxRopeFound, OnnxRopeStyle, YarnifyMetadata } from "./inspect.ts";
export { patchOnnx } from "./patch.ts";
export type { PatchOnnxParams, PatchOnnxResult } from "./patch.ts";
export { ropeCaches } from "./caches.ts";
export {
  OnnxError,
  OnnxExternalDataError,
  OnnxFormatError,
  OnnxOutputError,
  OnnxPatchError,
  OnnxRopeAmbiguousError,
  OnnxRopeNotFoundError,
} from "./errors.ts";
export { createOnnxConverter, onnxConverter } from "./converter.ts";
export type { OnnxModelInfo } from "./converter.ts";
export { verifyOnnx } from "./verify.ts";
export type { VerifyOnnxParams } from "./verify.ts";
