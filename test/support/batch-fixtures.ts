// Models and manifests for the batch tests: tiny Hugging Face model folders (a config.json and a weights file)
// that a local batch item patches, and manifests listing them.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A Llama config with a 2048-token context: factor 4 plans 8192. */
export const TINY_CONFIG = JSON.stringify({ model_type: "llama", architectures: ["LlamaForCausalLM"], hidden_size: 256, num_attention_heads: 4, max_position_embeddings: 2048, rope_theta: 10000 });

/** Writes `<dir>/<name>/` with config.json and model.safetensors (bytes that patch carries over unchanged). */
export function writeTinyModel(dir: string, name: string): string {
  const path = join(dir, name);
  mkdirSync(path, { recursive: true });
  writeFileSync(join(path, "config.json"), TINY_CONFIG);
  writeFileSync(join(path, "model.safetensors"), new Uint8Array(64).fill(name.length));
  return path;
}

/**
 * `count` local models under `<dir>/models/` and a YAML manifest at `<dir>/manifest.yaml` whose paths are relative
 * to it. Items are named m0, m1, ... (ids chosen so that 3 shards each get some of 6 items).
 */
export function localManifest(dir: string, count: number): { manifest: string; names: string[] } {
  const names = Array.from({ length: count }, (_, i) => `m${i}`);
  for (const n of names) writeTinyModel(join(dir, "models"), n);
  const manifest = join(dir, "manifest.yaml");
  writeFileSync(manifest, `defaults:\n  factor: 4\nitems:\n${names.map((n) => `  - id: ${n}\n    source: ./models/${n}\n    out: ./out/${n}-8k\n`).join("")}`);
  return { manifest, names };
}
