// Whether a path is an ONNX graph: kept apart from the converter so choosing a format loads no protobuf schema.
import { existsSync, statSync } from "node:fs";

export function isOnnxPath(path: string): boolean {
  return path.endsWith(".onnx") && existsSync(path) && statSync(path).isFile();
}
