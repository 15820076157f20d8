// Reads config.json from disk (parse.ts interprets it).
import { join } from "node:path";
import { readTextCapped } from "../io/read-text.ts";
import { type HfConfig, parseHfConfigText } from "./parse.ts";

export { hfModelInfo, interpretHfConfig, parseHfConfigText } from "./parse.ts";
export type { HfConfig, HfLayout } from "./parse.ts";

/** Read and interpret `<dir>/config.json` (or a config.json path). */
export function readHfConfig(dirOrFile: string): HfConfig {
  const file = dirOrFile.endsWith(".json") ? dirOrFile : join(dirOrFile, "config.json");
  return parseHfConfigText(file, readTextCapped(file, { missing: "not found (a Hugging Face model directory needs config.json)" }));
}
