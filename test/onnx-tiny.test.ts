// The tiny Llama's real torch export: found, patched with factor 4, and judged by ONNX Runtime's perplexity on
// two eval docs at 1024 tokens (4× the trained context). The full 24-doc measurement is bench/onnx-ppl.ts.
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { inspectOnnx } from "../converters/onnx/index.ts";
import { patch } from "../src/patch.ts";
import { test } from "./support/harness.ts";
import { tempDir } from "./support/onnx-fixtures.ts";
import { loadDocs, perplexity, tokenizeDocs } from "./support/onnx-perplexity.ts";
import { sharedPath } from "./support/shared.ts";

const modelDir = sharedPath("models/tiny-llama-py");
const source = join(modelDir, "onnx/model.onnx");

test("onnx tiny model: inv_freq [1,32,1] found by value, theta 10000, dim 64, context 256 from ../config.json", () => {
  const info = inspectOnnx(source);
  assert.equal(info.found.style, "inv-freq");
  assert.deepEqual(info.found.tensors.map((t) => t.shape), [[1, 32, 1]]);
  assert.deepEqual(info.found.consumers.map((c) => c.split(" ")[0]).sort(), ["Cos", "Sin"]);
  assert.deepEqual([info.spec.theta, info.spec.rotaryDim, info.spec.headDim, info.spec.context], [10000, 64, 64, 256]);
  assert.equal(info.found.attentionFactor, 1);
  assert.equal(info.sidecars.config, join(modelDir, "config.json"));
});

test("onnx tiny model: patched with factor 4, ORT perplexity at 1024 tokens drops several-fold", async () => {
  const root = tempDir("tiny");
  const out = join(root, "patched");
  try {
    // Through the library's patch(), which picks the ONNX converter for a .onnx path.
    const res = await patch({ model: source, factor: 4, out });
    assert.equal(res.format, "onnx");
    assert.equal(res.plan.context, 1024);
    const model = join(out, "model.onnx");
    // Everything but the inv_freq tensor, the two inserted scale Muls (+ CastLikes) and the metadata is untouched.
    const before = readFileSync(source);
    const after = readFileSync(model);
    assert.ok(after.length - before.length < 1024, `grew by ${after.length - before.length} bytes`);
    assert.deepEqual(res.files.map((f) => [f.path, f.how === "written"]), [[model, true], [join(out, "model.onnx.data"), false]]);
    assert.ok(res.warnings.some((w) => w.includes("config.json still declares the old context")));
    const sequences = tokenizeDocs({
      tokenizerJson: join(modelDir, "tokenizer.json"),
      tokenizerConfig: join(modelDir, "tokenizer_config.json"),
      docs: loadDocs(sharedPath("data/eval-docs.json")).slice(0, 2),
      length: 1024,
    });
    const plain = await perplexity({ model: source, sequences });
    const yarn = await perplexity({ model, sequences });
    assert.ok(plain > 15, `unpatched ${plain}`);
    assert.ok(yarn < 8 && yarn < plain / 3, `patched ${yarn} vs unpatched ${plain}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}, { timeoutMs: 120_000 });
