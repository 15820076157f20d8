// The JSON files that travel with an ONNX model: genai_config.json (ORT GenAI) beside it, and a
// transformers config.json beside it or one folder up (optimum / transformers.js put the .onnx in onnx/).
import { existsSync } from "node:fs";
import { readTextCapped } from "../../src/core/io/read-text.ts";
import { JsonSyntaxError, parseJsonText } from "../../src/core/hf-config/json-text.ts";
import { dirname, join } from "node:path";
import { OnnxError } from "./errors.ts";

export interface Sidecars {
  genaiConfigPath?: string;
  genaiConfig?: GenaiConfig;
  configPath?: string;
  config?: Record<string, unknown>;
}

export interface GenaiConfig {
  model?: { context_length?: number; decoder?: { head_size?: number } & Record<string, unknown> } & Record<string, unknown>;
  search?: { max_length?: number } & Record<string, unknown>;
  [key: string]: unknown;
}

export function findSidecars(modelPath: string): Sidecars {
  const dir = dirname(modelPath);
  const out: Sidecars = {};
  const genai = join(dir, "genai_config.json");
  if (existsSync(genai)) {
    out.genaiConfigPath = genai;
    out.genaiConfig = readObject(genai) as GenaiConfig;
  }
  for (const candidate of [join(dir, "config.json"), join(dirname(dir), "config.json")]) {
    if (existsSync(candidate)) {
      out.configPath = candidate;
      out.config = readObject(candidate);
      break;
    }
  }
  return out;
}

function readObject(path: string): Record<string, unknown> {
  const v = readJson(path);
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new OnnxError(path, "not a JSON object");
  return v as Record<string, unknown>;
}

/** A sidecar's JSON: a regular file under the config size cap, parsed without prototypes and depth-capped. */
function readJson(path: string): unknown {
  const text = readTextCapped(path);
  try {
    return parseJsonText(text).value;
  } catch (err) {
    if (err instanceof JsonSyntaxError) throw new OnnxError(path, `not valid JSON (${err.problem})`);
    throw err;
  }
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** The trained context and head size the sidecars declare, and which file said so. */
export function sidecarContext(s: Sidecars): { context?: number; headDim?: number; from?: string } {
  const g = s.genaiConfig?.model;
  const genaiContext = num(g?.context_length);
  if (genaiContext !== undefined) return { context: genaiContext, headDim: num(g?.decoder?.head_size), from: s.genaiConfigPath };
  const c = s.config;
  if (c) {
    const context = num(c.max_position_embeddings) ?? num(c.n_positions) ?? num(c.seq_length);
    const heads = num(c.num_attention_heads);
    const hidden = num(c.hidden_size);
    const headDim = num(c.head_dim) ?? (heads && hidden ? hidden / heads : undefined);
    if (context !== undefined) return { context, headDim, from: s.configPath };
  }
  return {};
}
