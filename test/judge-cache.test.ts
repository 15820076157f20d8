// The judge cache of test/all.sh (test/support/judge-cache.ts): an entry is found again only for the same bytes and
// the same options, and without YARNIFY_JUDGE_CACHE every call computes.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "./support/harness.ts";
import { cachedFixture, judged } from "./support/judge-cache.ts";

/** Runs `fn` with YARNIFY_JUDGE_CACHE set to `cache` (or unset), then puts the variable back as it was. */
async function withCacheVar<T>(cache: string | undefined, fn: () => Promise<T>): Promise<T> {
  const before = process.env.YARNIFY_JUDGE_CACHE;
  if (cache === undefined) delete process.env.YARNIFY_JUDGE_CACHE;
  else process.env.YARNIFY_JUDGE_CACHE = cache;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.YARNIFY_JUDGE_CACHE;
    else process.env.YARNIFY_JUDGE_CACHE = before;
  }
}

test("judge cache: a judgement is computed once per file bytes and options; another byte or option computes again", async () => {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-judge-cache-"));
  try {
    const cache = join(dir, "cache");
    const model = join(dir, "m.gguf");
    writeFileSync(model, "GGUF one");
    let computed = 0;
    const judge = (options: unknown) => judged("test judgement", { files: [model], options }, async () => ({ n: ++computed, x: 0.1 + 0.2 }));
    await withCacheVar(undefined, async () => {
      await judge({ length: 256 });
      await judge({ length: 256 });
    });
    assert.equal(computed, 2, "without the variable every call computes");
    mkdirSync(cache);
    await withCacheVar(cache, async () => {
      const first = await judge({ length: 256 });
      assert.deepEqual(await judge({ length: 256 }), first, "the same bytes and options: the stored result, to the last bit");
      assert.equal(computed, 3);
      await judge({ length: 512 });
      assert.equal(computed, 4, "another option");
      writeFileSync(model, "GGUF two");
      await judge({ length: 256 });
      assert.equal(computed, 5, "other bytes at the same path");
      assert.ok(readdirSync(cache).every((n) => n.endsWith(".json")), "no temporary left");
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("judge cache: a fixture is written once per inputs, later copies are byte-identical", async () => {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-judge-cache-"));
  try {
    const cache = join(dir, "cache");
    let writes = 0;
    const write = (content: string) => async (path: string) => {
      writes++;
      writeFileSync(path, content);
    };
    mkdirSync(cache);
    await withCacheVar(cache, async () => {
      const data = Float32Array.of(1, 2, 3);
      await cachedFixture(join(dir, "a.bin"), ["fixture", { type: "Q8_0" }, data], write("first"));
      await cachedFixture(join(dir, "b.bin"), ["fixture", { type: "Q8_0" }, Float32Array.of(1, 2, 3)], write("second"));
      assert.equal(writes, 1);
      assert.equal(readFileSync(join(dir, "b.bin"), "utf8"), "first");
      await cachedFixture(join(dir, "c.bin"), ["fixture", { type: "Q8_0" }, Float32Array.of(1, 2, 4)], write("third"));
      await cachedFixture(join(dir, "d.bin"), ["fixture", { type: "Q4_0" }, data], write("fourth"));
      assert.equal(writes, 3, "other weights or another type write again");
      assert.equal(readFileSync(join(dir, "c.bin"), "utf8"), "third");
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
