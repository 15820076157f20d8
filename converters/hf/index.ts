// Hugging Face format: a directory with config.json (+ safetensors, tokenizer files) that stay unchanged.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Converter, ModelInfo } from "../../src/core/converter.ts";
import { unifiedDiff } from "../../src/core/diff.ts";
import { writeModelDir } from "../../src/core/io/model-dir.ts";
import type { Plan } from "../../src/core/types.ts";
import { isHfPath } from "./detect.ts";
import { parseJsonText } from "../../src/core/hf-config/json-text.ts";
import { interpretHfConfig, readHfConfig } from "../../src/core/hf-config/read.ts";
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
    const cfg = readHfConfig(path);
    const info: ModelInfo = { format: "hf", path, architecture: cfg.architecture, spec: cfg.spec, stored: cfg.stored, warnings: cfg.warnings };
    return info;
  },
  defaultOut(path, plan: Plan) {
    return `${configDir(path).replace(/\/+$/, "")}-yarn-${plan.context}`;
  },
  async patch({ info, plan, out, dryRun, overwrite }) {
    const dir = configDir(info.path);
    const cfg = readHfConfig(dir);
    const configText = patchedConfigText(cfg, plan);
    const replaced = new Map<string, string>([["config.json", configText]]);
    let diff = unifiedDiff(readFileSync(cfg.file, "utf8"), configText, "a/config.json", "b/config.json");
    const tokFile = join(dir, "tokenizer_config.json");
    if (existsSync(tokFile)) {
      const tokText = readFileSync(tokFile, "utf8");
      let patched: string | null = null;
      try {
        patched = patchedTokenizerConfigText(parseJsonText(tokText), plan.source.context, plan.context);
      } catch {
        patched = null; // an unreadable tokenizer config is carried over unchanged
      }
      if (patched !== null) {
        replaced.set("tokenizer_config.json", patched);
        diff += unifiedDiff(tokText, patched, "a/tokenizer_config.json", "b/tokenizer_config.json");
      }
    }
    const stored = interpretHfConfig(join(out, "config.json"), parseJsonText(configText)).stored;
    if (dryRun) {
      return { out, files: [...replaced.keys()].map((rel) => ({ path: join(out, rel), how: "written" as const })), diff, stored, warnings: [] };
    }
    const files = writeModelDir({ source: dir, out, replaced, overwrite });
    return { out, files, diff, stored, warnings: [] };
  },
};
