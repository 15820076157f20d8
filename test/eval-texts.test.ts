import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "./support/harness.ts";
import { sharedPath } from "./support/shared.ts";
import { detectTextFormat, loadTexts, TextInputError } from "../src/eval/texts.ts";
import { slidingWindows } from "../src/eval/windows.ts";

test("eval texts: plain text, JSON Lines, {docs:[...]} JSON and the shared eval docs", () => {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-texts-"));
  try {
    const write = (name: string, s: string) => {
      const f = join(dir, name);
      writeFileSync(f, s);
      return f;
    };
    assert.deepEqual(loadTexts(write("a.txt", "line one\nline two\n")), ["line one\nline two\n"]);
    assert.deepEqual(loadTexts(write("b.jsonl", '{"text": "first"}\n\n{"text": "second\\nline"}\n')), ["first", "second\nline"]);
    assert.deepEqual(loadTexts(write("c.json", '{"docs": [{"text": "x", "path": "p"}, {"text": "y"}]}')), ["x", "y"]);
    // Content decides when the extension does not: JSON Lines in a .txt file.
    assert.equal(detectTextFormat("d.txt", '{"text": "a"}\n{"text": "b"}\n'), "jsonl");
    assert.equal(detectTextFormat("e.txt", "{ not json at all"), "text");
    assert.throws(() => loadTexts(write("f.jsonl", '{"text": "ok"}\n{"body": "no text"}\n')), (e: unknown) => e instanceof TextInputError && /line 2 has no "text"/.test((e as Error).message));
    assert.throws(() => loadTexts(write("g.json", '{"documents": []}')), TextInputError);
    assert.throws(() => loadTexts(join(dir, "missing.txt")), /cannot read/);
    const docs = loadTexts(sharedPath("data/eval-docs.json"));
    assert.equal(docs.length, 24);
    assert.ok(docs.every((d) => d.length > 10_000));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("eval windows: sliding windows (stride < context) score every token 1..n-1 exactly once, with at most `context` tokens each", () => {
  for (const [n, L, S] of [[1000, 256, 64], [256, 256, 128], [300, 256, 255], [10, 4, 1], [1000, 128, 100]] as const) {
    const seen = new Array<number>(n).fill(0);
    for (const w of slidingWindows(n, L, S)) {
      assert.ok(w.length <= L && w.firstTarget >= 1 && w.firstTarget < w.length);
      for (let i = w.firstTarget; i < w.length; i++) seen[w.start + i]!++;
    }
    assert.equal(seen[0], 0);
    assert.ok(seen.slice(1).every((c) => c === 1), `n=${n} L=${L} S=${S}`);
  }
  // With stride S, every window after the first scores its last S tokens (full left context L - S).
  const ws = slidingWindows(1024, 256, 128);
  assert.deepEqual(ws[1], { start: 128, length: 256, firstTarget: 128 });
  // Stride = context gives disjoint windows, whose first tokens have no context and are not scored (as in HF's recipe).
  assert.deepEqual(slidingWindows(300, 256, 256), [{ start: 0, length: 256, firstTarget: 1 }, { start: 256, length: 44, firstTarget: 1 }]);
  assert.throws(() => slidingWindows(100, 16, 17), RangeError);
});
