// Reads and parses the header of one .safetensors file (the length prefix first, then only the header's bytes).
import { statSync } from "node:fs";
import { readRange } from "./read-range.ts";
import { parseSafetensorsHeader, safetensorsHeaderLength, type SafetensorsHeader } from "./safetensors-header.ts";

export function readSafetensorsHeaderSync(file: string): SafetensorsHeader {
  const size = statSync(file).size;
  const length = safetensorsHeaderLength(readRange(file, 0, Math.min(size, 8)), size, file);
  return parseSafetensorsHeader(readRange(file, 0, 8 + length), size, file);
}

/** Promise form of readSafetensorsHeaderSync: errors reject. */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  return readSafetensorsHeaderSync(file);
}
