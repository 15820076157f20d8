// `yarnify batch` with local items beside hub items: paths relative to the manifest, `out`, `push` of a local
// result, refusals reported per item, and a rerun that skips what is done.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { test } from "./support/harness.ts";
import { withStandInHub } from "./support/hub-server.ts";
import { buffers } from "./support/cli-io.ts";
import { TINY_CONFIG, writeTinyModel } from "./support/batch-fixtures.ts";
import { runCli } from "../src/cli/main.ts";
import { isLocalItem } from "../src/batch/local-runner.ts";
import { parseManifest } from "../src/batch/manifest.ts";
import { splitFrontMatter } from "../src/hub/model-card.ts";

const TOKEN = "hf_test_writer";
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

test("batch: which items are local (an out, a plain path, an existing folder) and which go to the hub", () => {
  const [withOut, dotted, absolute, hub] = parseManifest(JSON.stringify({
    defaults: { factor: 4 },
    items: [{ source: "models/a", out: "models/a-8k" }, { source: "./models/a" }, { source: "/data/a" }, { source: "org/a" }],
  })).items;
  assert.equal(withOut.out, "models/a-8k");
  const base = mkdtempSync(join(tmpdir(), "yarnify-local-"));
  try {
    assert.deepEqual([withOut, dotted, absolute, hub].map((it) => isLocalItem(it, base)), [true, true, true, false]);
    mkdirSync(join(base, "org", "a"), { recursive: true });
    assert.equal(isLocalItem(hub, base), true, "an existing folder named like a repo is local, as for `patch`");
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test("batch: local items patched to their out beside a hub item; a local push publishes; refusals per item; a rerun skips", async () => {
  await withStandInHub(async (hub, dir) => {
    for (const n of ["a", "b", "c"]) writeTinyModel(join(dir, "models"), n);
    hub.addRepo("org/h", { "config.json": TINY_CONFIG, "model.safetensors": new Uint8Array(300).fill(3) });
    const manifest = join(dir, "batch", "manifest.yaml");
    mkdirSync(join(dir, "batch"));
    writeFileSync(manifest, [
      "defaults: { factor: 4 }",
      "items:",
      "  - { id: a, source: ../models/a, out: ../out/a-8k }",
      "  - { id: b, source: ../models/b }",
      "  - { id: c, source: ../models/c, out: ../out/c-8k, push: me/c-8k, private: true, options: { baseModel: org/c } }",
      "  - { id: h, source: org/h, push: me/h-8k }",
      "  - { id: missing, source: ../models/missing, out: ../out/missing }",
      "  - { id: pr, source: ../models/a, out: ../out/a-pr, pr: true }",
      "  - { id: hubout, source: org/h, out: ../out/h }",
      "",
    ].join("\n"));
    const args = ["batch", manifest, "--token", TOKEN, "--hub-url", hub.url, "--cache-dir", join(dir, "cache"), "--json"];
    const b = buffers();
    assert.equal(await runCli(args, b.io), 1, b.err());
    const summary = JSON.parse(b.out()) as { done: number; failed: number; reports: Array<{ id: string; status: string; error: string | null; result: Record<string, unknown> | null }> };
    const byId = new Map(summary.reports.map((r) => [r.id, r]));
    assert.deepEqual(summary.reports.map((r) => [r.id, r.status]), [["a", "done"], ["b", "done"], ["c", "done"], ["h", "done"], ["missing", "failed"], ["pr", "failed"], ["hubout", "failed"]]);
    // The sources stay as they were; each output carries the plan and the weights unchanged.
    const a = JSON.parse(readFileSync(join(dir, "out", "a-8k", "config.json"), "utf8"));
    assert.equal(a.max_position_embeddings, 8192);
    assert.equal(a.rope_scaling.factor, 4);
    assert.equal(a.rope_scaling.original_max_position_embeddings, 2048);
    assert.equal(readFileSync(join(dir, "models", "a", "config.json"), "utf8"), TINY_CONFIG);
    assert.deepEqual(readFileSync(join(dir, "out", "a-8k", "model.safetensors")), readFileSync(join(dir, "models", "a", "model.safetensors")));
    assert.equal(byId.get("a")!.result!.out, join(dir, "out", "a-8k"));
    assert.deepEqual(byId.get("a")!.result!.written, [join(dir, "out", "a-8k", "config.json")]);
    assert.equal(byId.get("b")!.result!.out, join(dir, "models", "b-yarn-8192"), "no out: beside the source, as `patch` names it");
    assert.ok(existsSync(join(dir, "models", "b-yarn-8192", "config.json")));
    // The local push: every output file and a card in one commit to a new private repo.
    const c = hub.commits.find((x) => x.repo === "me/c-8k")!;
    assert.equal(byId.get("c")!.result!.commitOid, c.oid);
    assert.deepEqual(c.operations.map((o) => o.path).sort(), ["README.md", "config.json", "model.safetensors"]);
    assert.equal(JSON.parse(text(hub.file("me/c-8k", "config.json"))).rope_scaling.factor, 4);
    assert.equal(hub.repos.get("me/c-8k")!.private, true);
    const meta = parseYaml(splitFrontMatter(text(hub.file("me/c-8k", "README.md"))).frontMatter!) as { base_model: string };
    assert.equal(meta.base_model, "org/c");
    assert.equal(JSON.parse(text(hub.file("me/h-8k", "config.json"))).rope_scaling.factor, 4, "the hub item went through the hub runner");
    assert.match(byId.get("missing")!.error!, /models\/missing: no such file or directory$/);
    assert.match(byId.get("pr")!.error!, /"pr" opens a pull request on a hub source/);
    assert.match(byId.get("hubout")!.error!, /org\/h: no such file or directory here \("out" is for local sources/);
    assert.ok(!existsSync(join(dir, "out", "a-pr")), "a refused item writes nothing");
    // A rerun: done items are skipped (no second output, no second commit); the failed ones are tried again.
    const commits = hub.commits.length;
    const again = buffers();
    assert.equal(await runCli(args, again.io), 1);
    const second = JSON.parse(again.out()) as { skipped: number; failed: number };
    assert.deepEqual([second.skipped, second.failed], [4, 3]);
    assert.equal(hub.commits.length, commits);
    assert.ok(!b.out().includes(TOKEN) && !b.err().includes(TOKEN));
  });
}, { timeoutMs: 120_000 });
