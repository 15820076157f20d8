// The JSON files that travel with an ONNX model: genai_config.json (ORT GenAI) beside it, and a
// transformers config.json beside it or one folder up (optimum / transformers.js put the .onnx in onnx/).
import { existsSync, readFileSync } from "node:fs";
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
    out.genaiConfig = readJson(genai) as GenaiConfig;
  }
  for (const candidate of [join(dir, "config.json"), join(dirname(dir), "config.json")]) {
    if (existsSync(candidate)) {
      out.configPath = candidate;
      out.config = readJson(candidate) as Record<string, unknown>;
      break;
    }
  }
  return out;
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new OnnxError(path, `not valid JSON (${(err as Error).message})`);
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
