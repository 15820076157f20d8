// Checks of incremental decoding shared by the CPU and WebGPU tests: every family's fixture loaded, and a
// decoding session's logits against a full forward pass's at each step.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ForwardBackend } from "../../src/eval/backend.ts";
import { openCheckpoint } from "../../src/eval/model/checkpoint.ts";
import { modelRopeFor } from "../../src/eval/model/model-rope.ts";
import { loadWeights, type ModelWeights } from "../../src/eval/model/weights.ts";
import { firstTokens } from "../../src/eval/tokenizer.ts";
import { evalDocs, FIXTURES, fixtureWeights, writeHfFixture, type FixtureName } from "./family-fixtures.ts";

/** Every family's fixture, loaded: [name, weights, tokens, the rope of `length` tokens (YaRN ×2)]. */
export async function familyDecodeCases(length: number) {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-decode-"));
  try {
    const text = evalDocs(1)[0]!;
    const names: FixtureName[] = ["llama", "llama3", "mistral", "qwen2", "qwen3", "gemma3", "phi3"];
    return await Promise.all(names.map(async (name) => {
      const f = FIXTURES[name];
      writeHfFixture(join(dir, name), f, fixtureWeights(f));
      const ck = await openCheckpoint(join(dir, name));
      const weights: ModelWeights = await loadWeights(ck);
      await ck.close();
      return { name, weights, tokens: Int32Array.from(firstTokens(ck.tokenizer(), text, length)), rope: modelRopeFor(ck.rope, "yarn", length, 2) };
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Largest |a − b| over the logits, and the largest |b| (the scale the difference is judged against). */
function maxDiff(a: Float32Array, b: Float32Array): { diff: number; scale: number } {
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return { diff, scale };
}

/**
 * Decodes `tokens` as prefill of `prefill`, one chunk of `chunk`, then single tokens, on `decodeOn`, and compares
 * every append's logits with `fullOn`'s last-position logits of the same prefix (relative to the logits' scale).
 */
export async function checkDecoding(decodeOn: ForwardBackend, fullOn: ForwardBackend, c: { name: string; tokens: Int32Array; rope: Parameters<ForwardBackend["decoder"]>[0] }, prefill: number, chunk: number, tolerance: number): Promise<void> {
  const session = await decodeOn.decoder(c.rope, c.tokens.length);
  try {
    let at = 0;
    const steps = [prefill, chunk, ...Array<number>(c.tokens.length - prefill - chunk).fill(1)];
    for (const n of steps) {
      const got = await session.append(c.tokens.subarray(at, at + n));
      at += n;
      assert.equal(session.length, at);
      let want = new Float32Array(0);
      await fullOn.logitRows({ tokens: c.tokens.subarray(0, at), rope: c.rope, firstRow: at - 1 }, (_row, _count, logits) => {
        want = logits.slice(0, got.length);
      });
      const { diff, scale } = maxDiff(got, want);
      assert.ok(diff <= tolerance * scale, `${c.name}: after ${at} tokens the logits differ by ${diff} (scale ${scale})`);
    }
    await assert.rejects(session.append(c.tokens.subarray(0, 1)), /do not fit the cache/);
  } finally {
    session.release();
  }
}
