// Every case of transformers' own RoPE tables (../shared/reference/transformers-rope-golden.json) must be
// reproduced: inv_freq within 2 float32 ulp (or 1e-6 relative), attention factor within 1e-12, cos/sin within 2e-6.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { cosSinRow, type StoredRope, transformersView, ulpDistance } from "../src/core/rope/index.ts";
import { test } from "./support/harness.ts";
import { sharedPath } from "./support/shared.ts";

interface GoldenCase {
  name: string;
  head_dim: number;
  rope_theta: number;
  max_position_embeddings: number;
  rope_parameters: Record<string, unknown>;
  seq_len: number | null;
  inv_freq: number[];
  attention_factor: number;
  positions: number[];
  cos: number[][];
  sin: number[][];
}

const golden = JSON.parse(readFileSync(sharedPath("reference/transformers-rope-golden.json"), "utf8")) as { cases: GoldenCase[] };

test("golden file has cases", () => assert.ok(golden.cases.length >= 10));

for (const c of golden.cases) {
  const stored: StoredRope = {
    theta: c.rope_theta,
    headDim: c.head_dim,
    rotaryDim: c.head_dim,
    maxPositionEmbeddings: c.max_position_embeddings,
    ropeScaling: null,
    ropeParameters: c.rope_parameters,
  };
  test(`golden ${c.name}: inv_freq and attention factor`, () => {
    const view = transformersView(stored, { seqLen: c.seq_len ?? undefined });
    assert.equal(view.invFreq.length, c.inv_freq.length);
    view.invFreq.forEach((x, j) => {
      const ok = ulpDistance(x, c.inv_freq[j]) <= 2 || Math.abs(x - c.inv_freq[j]) <= 1e-6 * Math.abs(c.inv_freq[j]);
      assert.ok(ok, `inv_freq[${j}] = ${x}, transformers ${c.inv_freq[j]}`);
    });
    assert.ok(Math.abs(view.attentionFactor - c.attention_factor) <= 1e-12, `attention factor ${view.attentionFactor} vs ${c.attention_factor}`);
  });
  test(`golden ${c.name}: cos/sin rows`, () => {
    // The rows come from the module's forward pass, whose length is the largest position + 1
    // (this is what the length-dependent methods key on).
    const view = transformersView(stored, { seqLen: Math.max(...c.positions) + 1 });
    c.positions.forEach((p, i) => {
      const row = cosSinRow(view, p);
      for (let k = 0; k < row.cos.length; k++) {
        assert.ok(Math.abs(row.cos[k] - c.cos[i][k]) <= 2e-6, `cos[p=${p}][${k}] ${row.cos[k]} vs ${c.cos[i][k]}`);
        assert.ok(Math.abs(row.sin[k] - c.sin[i][k]) <= 2e-6, `sin[p=${p}][${k}] ${row.sin[k]} vs ${c.sin[i][k]}`);
      }
    });
  });
}
