// Whether a path is a Hugging Face format model (a directory, or its config.json): kept apart from the converter.
import { existsSync, statSync } from "node:fs";
import { basename } from "node:path";

export function isHfPath(path: string): boolean {
  return (existsSync(path) && statSync(path).isDirectory()) || basename(path) === "config.json";
}
