import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "./support/harness.ts";
import { readSafetensorsHeader } from "../src/weights/read-safetensors-header.ts";
import { readSafetensorsTensor } from "../src/weights/read-safetensors-tensor.ts";
import { SafetensorsError } from "../src/weights/safetensors-error.ts";
import { loadSafetensors } from "../src/weights/load-safetensors.ts";
import { writeSafetensors } from "./support/safetensors-write.ts";

/** ../shared beside the checkout (the tests also run from dist/test under Node). */
function sharedDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) dir = dirname(dir);
  return join(dir, "..", "shared");
}
const TINY = join(sharedDir(), "models/tiny-llama-py/model.safetensors");

test("safetensors: F32, F16 and BF16 tensors read back as float32; bad input is refused", async () => {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-st-"));
  try {
    const file = join(dir, "m.safetensors");
    const f32 = new Float32Array([1.5, -2, 3.25]);
    const f16 = new Uint16Array([0x3c00, 0xc000, 0x3800]); // 1, -2, 0.5
    const bf16 = new Uint16Array([0x3f80, 0xc040, 0x4049]); // 1, -3, 3.140625
    writeSafetensors(file, {
      a: { dtype: "F32", shape: [3], bytes: new Uint8Array(f32.buffer) },
      b: { dtype: "F16", shape: [1, 3], bytes: new Uint8Array(f16.buffer) },
      c: { dtype: "BF16", shape: [3], bytes: new Uint8Array(bf16.buffer) },
      d: { dtype: "I32", shape: [1], bytes: new Uint8Array(4) },
    });
    assert.deepEqual(Array.from((await readSafetensorsTensor({ file, name: "a" })).data), [1.5, -2, 3.25]);
    const b = await readSafetensorsTensor({ file, name: "b" });
    assert.deepEqual([b.shape, Array.from(b.data)], [[1, 3], [1, -2, 0.5]]);
    assert.deepEqual(Array.from((await readSafetensorsTensor({ file, name: "c" })).data), [1, -3, 3.140625]);
    await assert.rejects(readSafetensorsTensor({ file, name: "d" }), /I32; only F32, F16 and BF16/);
    await assert.rejects(readSafetensorsTensor({ file, name: "missing" }), SafetensorsError);
    writeFileSync(join(dir, "bad.safetensors"), new Uint8Array([255, 255, 255, 255, 0, 0, 0, 0, 1, 2]));
    await assert.rejects(readSafetensorsHeader(join(dir, "bad.safetensors")), /header length/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("safetensors: the tiny llama's bf16 layer-0 q_proj reads with its shape and sane values", async () => {
  const file = TINY;
  const header = await readSafetensorsHeader(file);
  assert.equal(header.metadata.format, "pt");
  const t = await readSafetensorsTensor({ file, name: "model.layers.0.self_attn.q_proj.weight", header });
  assert.equal(t.dtype, "BF16");
  assert.equal(t.data.length, t.shape[0]! * t.shape[1]!);
  let sumSq = 0;
  for (const x of t.data) {
    assert.ok(Number.isFinite(x));
    sumSq += x * x;
  }
  const rms = Math.sqrt(sumSq / t.data.length);
  assert.ok(rms > 1e-4 && rms < 1, `q_proj rms ${rms}`);
});

test("safetensors: a sharded index loads every shard; rows of a 2-D tensor read alone", () => {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-st-"));
  try {
    const emb = new Float32Array([0, 1, 10, 11, 20, 21]);
    writeSafetensors(join(dir, "a.safetensors"), { emb: { dtype: "F32", shape: [3, 2], bytes: new Uint8Array(emb.buffer) } });
    writeSafetensors(join(dir, "b.safetensors"), { h: { dtype: "F16", shape: [2], bytes: new Uint8Array(new Uint16Array([0x3c00, 0x3800]).buffer) } });
    writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ weight_map: { emb: "a.safetensors", h: "b.safetensors" } }));
    const store = loadSafetensors(dir);
    assert.deepEqual([...store.entries.keys()].sort(), ["emb", "h"]);
    assert.deepEqual(Array.from(store.get("h").data), [1, 0.5]);
    assert.deepEqual(Array.from(store.rows("emb", [2, 0])), [20, 21, 0, 1]);
    assert.throws(() => store.rows("emb", [3]), /row 3 outside/);
    assert.throws(() => store.get("missing"), SafetensorsError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
