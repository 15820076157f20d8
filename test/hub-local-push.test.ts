// `yarnify patch ./model --push repo`: a model patched on this machine, published to the stand-in hub with a card.
import assert from "node:assert/strict";
import { cpSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { test } from "./support/harness.ts";
import { withStandInHub } from "./support/hub-server.ts";
import { runCliAsync } from "./support/cli-run.ts";
import { sharedPath } from "./support/shared.ts";
import { splitFrontMatter } from "../src/hub/model-card.ts";

const TOKEN = "hf_test_writer";
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);


test("patch ./model --push: every output file in one commit, the card below which the source's card is kept", async () => {
  await withStandInHub(async (hub, dir) => {
    const model = join(dir, "tiny");
    cpSync(sharedPath("models/tiny-llama-py"), model, { recursive: true, filter: (src) => !/\.gguf$|\/onnx$/.test(src) });
    const out = join(dir, "tiny-1k");
    const r = await runCliAsync(["patch", model, "--factor", "4", "--out", out, "--push", "me/tiny-1k", "--base-model", "org/tiny-llama-py", "--validate", "--token", TOKEN, "--hub-url", hub.url, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { publish: { repo: string; commitOid: string; commitUrl: string }; validation: { ok: boolean } };
    assert.equal(hub.commits.length, 1);
    assert.equal(j.publish.commitOid, hub.commits[0]!.oid);
    assert.equal(j.publish.repo, "me/tiny-1k");
    const local = readdirSync(out).sort();
    assert.deepEqual(hub.commits[0]!.operations.map((o) => o.path).sort(), local, "every file, README.md replaced by the card");
    assert.equal(JSON.parse(text(hub.file("me/tiny-1k", "config.json"))).rope_parameters.factor, 4);
    assert.deepEqual(hub.file("me/tiny-1k", "model.safetensors"), new Uint8Array(readFileSync(join(out, "model.safetensors"))));
    const card = text(hub.file("me/tiny-1k", "README.md"));
    const meta = parseYaml(splitFrontMatter(card).frontMatter!) as { base_model: string; tags: string[] };
    assert.equal(meta.base_model, "org/tiny-llama-py");
    assert.ok(meta.tags.includes("yarn"));
    assert.ok(card.includes("## What changed") && card.includes("| factor | 4 |"));
    assert.ok(card.includes("## Validation") && card.includes("| real-weights | pass |"));
    assert.ok(card.includes("## Original model card"), "the source's README is kept below");
    assert.ok(!r.stdout.includes(TOKEN) && !r.stderr.includes(TOKEN));
  });
}, { timeoutMs: 240_000 });

test("patch model.gguf --push: the patched file and a card; --pr on a local model is refused", async () => {
  await withStandInHub(async (hub, dir) => {
    const out = join(dir, "tiny-1k.gguf");
    const r = await runCliAsync(["patch", sharedPath("models/tiny-llama-py/tiny-llama-f16.gguf"), "--factor", "4", "--out", out, "--push", "me/tiny-1k-GGUF", "--token", TOKEN, "--hub-url", hub.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /commit .*\/me\/tiny-1k-GGUF\/commit\/[0-9a-f]+/);
    assert.deepEqual(hub.file("me/tiny-1k-GGUF", "tiny-1k.gguf"), new Uint8Array(readFileSync(out)));
    const card = text(hub.file("me/tiny-1k-GGUF", "README.md"));
    const meta = parseYaml(splitFrontMatter(card).frontMatter!) as { base_model?: string; tags: string[] };
    assert.equal(meta.base_model, undefined, "no hub id given: no base_model");
    assert.ok(meta.tags.includes("gguf"));
    assert.ok(card.includes("This is `tiny-llama-f16.gguf`"), "named after the source");
    const pr = await runCliAsync(["patch", sharedPath("models/tiny-llama-py/tiny-llama-f16.gguf"), "--factor", "4", "--out", join(dir, "x.gguf"), "--pr", "--token", TOKEN, "--hub-url", hub.url]);
    assert.notEqual(pr.code, 0);
    assert.match(pr.stderr, /--pr opens a pull request on a hub source/);
    assert.equal(hub.commits.length, 1);
  });
}, { timeoutMs: 240_000 });
