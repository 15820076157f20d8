// Hugging Face format: a directory with config.json (+ safetensors, tokenizer files) that stay unchanged.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Converter } from "../../src/core/converter.ts";
import { unifiedDiff } from "../../src/core/diff.ts";
import { writeModelDir } from "../../src/core/io/model-dir.ts";
import { readTextCapped } from "../../src/core/io/read-text.ts";
import type { Plan } from "../../src/core/types.ts";
import { isHfPath } from "./detect.ts";
import { parseJsonText } from "../../src/core/hf-config/json-text.ts";
import { hfModelInfo, interpretHfConfig, readHfConfig } from "../../src/core/hf-config/read.ts";
import { patchedConfigText, patchedTokenizerConfigText } from "../../src/core/hf-config/write.ts";

export { readHfConfig, interpretHfConfig } from "../../src/core/hf-config/read.ts";
export type { HfConfig, HfLayout } from "../../src/core/hf-config/read.ts";
export { patchedConfigText, patchedTokenizerConfigText } from "../../src/core/hf-config/write.ts";

function configDir(path: string): string {
  return path.endsWith("config.json") ? join(path, "..") : path;
}

export const hfConverter: Converter = {
  format: "hf",
  accepts: isHfPath,
  async read(path) {
    return hfModelInfo(readHfConfig(path), path);
  },
  defaultOut(path, plan: Plan) {
    return `${configDir(path).replace(/\/+$/, "")}-yarn-${plan.context}`;
  },
  async patch({ info, plan, out, dryRun, overwrite }) {
    const dir = configDir(info.path);
    const cfg = readHfConfig(dir);
    const configText = patchedConfigText(cfg, plan);
    const replaced = new Map<string, string>([["config.json", configText]]);
    let diff = unifiedDiff(readTextCapped(cfg.file), configText, "a/config.json", "b/config.json");
    const tokFile = join(dir, "tokenizer_config.json");
    if (existsSync(tokFile)) {
      let tokText = "";
      let patched: string | null = null;
      try {
        tokText = readTextCapped(tokFile);
        patched = patchedTokenizerConfigText(parseJsonText(tokText), plan.source.context, plan.context);
      } catch {
        patched = null; // an unreadable tokenizer config is carried over unchanged
      }
      if (patched !== null) {
        replaced.set("tokenizer_config.json", patched);
        diff += unifiedDiff(tokText, patched, "a/tokenizer_config.json", "b/tokenizer_config.json");
      }
    }
    // The source names any problem: the output is not written yet (and never is, if this fails).
    const result = interpretHfConfig(cfg.file, parseJsonText(configText));
    const common = { out, diff, stored: result.stored, ...(result.layers && { layout: result.layers }), warnings: [] };
    if (dryRun) return { ...common, files: [...replaced.keys()].map((rel) => ({ path: join(out, rel), how: "written" as const })) };
    return { ...common, files: writeModelDir({ source: dir, out, replaced, ...(overwrite !== undefined && { overwrite }) }) };
  },
};
