// GGUF on the hub: the converter's view (a commit-pinned URL read with Range + auth), and publishing a new
// header as an edit of the original, to a new repo (with a card) or as a pull request on the source.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { test } from "./support/harness.ts";
import { StandInHub } from "./support/hub-server.ts";
import { hubFileLocation } from "../src/hub/hub-file-location.ts";
import { publishPatchedGguf } from "../src/hub/publish-gguf.ts";
import { fetchHubConfig } from "../src/hub/fetch-hub-config.ts";
import { splitFrontMatter } from "../src/hub/model-card.ts";
import { createRetryFetch } from "../src/hub/retry-fetch.ts";
import { plan } from "../src/core/plan.ts";
import { inspect } from "../src/inspect.ts";
import { inspectHub } from "../src/hub/inspect-hub.ts";

const TOKEN = "hf_test_writer";
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const PLAN = plan({ theta: 10000, headDim: 64, rotaryDim: 64, context: 4096, scaling: { method: "none" } }, { factor: 4 });

function gguf(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + 7) & 0xff;
  out.set(new TextEncoder().encode("GGUF"), 0);
  return out;
}

async function withHub(fn: (hub: StandInHub, common: { hubUrl: string; accessToken: string; fetch: typeof fetch; cacheDir: string }) => Promise<void>): Promise<void> {
  const hub = new StandInHub();
  await hub.start();
  const cacheDir = mkdtempSync(join(tmpdir(), "yarnify-hubgguf-"));
  try {
    await fn(hub, { hubUrl: hub.url, accessToken: TOKEN, fetch: createRetryFetch({ sleep: async () => undefined }), cacheDir });
  } finally {
    await hub.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

test("hubFileLocation: a commit-pinned URL that answers Range requests with the token", async () => {
  await withHub(async (hub, common) => {
    const file = gguf(500_000);
    const commit = hub.addRepo("me/private-GGUF", { "q4.gguf": file }, { private: true });
    const loc = await hubFileLocation({ ...common, repo: "me/private-GGUF", path: "q4.gguf" });
    assert.equal(loc.commit, commit);
    assert.ok(loc.url.endsWith(`/me/private-GGUF/resolve/${commit}/q4.gguf`));
    const res = await loc.fetch(loc.url, { headers: { ...loc.headers, Range: "bytes=0-63" } });
    assert.equal(res.status, 206);
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), file.subarray(0, 64));
  });
});

test("GGUF --push to a new repo: the spliced file, a card with tags and llama.cpp usage, one commit", async () => {
  await withHub(async (hub, common) => {
    const file = gguf(1_200_000);
    const commit = hub.addRepo("org/m-GGUF", { "m-Q4_K_M.gguf": file, "README.md": "---\nlicense: llama3\n---\n# M GGUF\n" });
    const header = new Uint8Array(2080).fill(9);
    const r = await publishPatchedGguf({ ...common, source: { repo: "org/m-GGUF", commit }, files: [{ path: "m-Q4_K_M.gguf", header, replaces: 2048 }], plan: PLAN, push: "me/m-16k-GGUF" });
    const stored = hub.file("me/m-16k-GGUF", "m-Q4_K_M.gguf")!;
    assert.deepEqual(stored.subarray(0, 2080), header);
    assert.equal(sha(stored.subarray(2080)), sha(file.subarray(2048)));
    assert.equal(hub.commits.length, 1);
    assert.equal(hub.commits[0].title, "yarnify: yarn x4 RoPE scaling (4096 -> 16384 tokens)");
    assert.match(hub.commits[0].description, /Header only; tensor data unchanged\./);
    const card = new TextDecoder().decode(hub.file("me/m-16k-GGUF", "README.md"));
    assert.equal(card, r.card);
    const meta = parseYaml(splitFrontMatter(card).frontMatter!) as { license: string; base_model: string; tags: string[] };
    assert.deepEqual([meta.license, meta.base_model], ["llama3", "org/m-GGUF"]);
    assert.ok(meta.tags.includes("gguf") && meta.tags.includes("yarn"));
    assert.ok(card.includes("llama-server --hf-repo me/m-16k-GGUF --hf-file m-Q4_K_M.gguf -c 16384"));
    assert.ok(card.includes("# M GGUF"));
  });
});

test("GGUF --pr on the source repo: only the GGUF changes, as an edit", async () => {
  await withHub(async (hub, common) => {
    const file = gguf(300_000);
    const commit = hub.addRepo("other/m-GGUF", { "m.gguf": file, "README.md": "# card" });
    const header = new Uint8Array(1024).fill(5);
    const r = await publishPatchedGguf({ ...common, source: { repo: "other/m-GGUF", commit }, files: [{ path: "m.gguf", header, replaces: 1024 }], plan: PLAN, pr: true });
    assert.equal(r.card, undefined);
    assert.ok(r.pullRequestUrl);
    assert.deepEqual(hub.commits[0].operations, [{ kind: "lfsFile", path: "m.gguf" }]);
    const stored = hub.file("other/m-GGUF", "m.gguf", "refs/pr/1")!;
    assert.equal(stored.length, file.length);
    assert.deepEqual(stored.subarray(0, 1024), header);
    assert.deepEqual(hub.file("other/m-GGUF", "m.gguf"), file, "main untouched");
  });
});

test("fetchHubConfig / inspectHub: inspect reads the config files only", async () => {
  await withHub(async (hub, common) => {
    const config = JSON.stringify({ model_type: "llama", architectures: ["LlamaForCausalLM"], hidden_size: 256, num_attention_heads: 4, max_position_embeddings: 2048, rope_theta: 10000 });
    hub.addRepo("org/llama", { "config.json": config, "model.safetensors": new Uint8Array(10_000) });
    const h = await fetchHubConfig({ ...common, source: "org/llama" });
    const r = await inspect({ model: h.dir });
    assert.equal(r.format, "hf");
    const viaHub = await inspectHub({ ...common, source: "org/llama" });
    assert.deepEqual({ ...viaHub, path: r.path, commit: undefined, fit: undefined }, { ...r, commit: undefined, fit: undefined });
    // The weights are sized from the listing, not downloaded.
    assert.deepEqual([viaHub.fit?.weights?.bytes, viaHub.fit?.weights?.source, r.fit?.weights], [10_000, "safetensors", null]);
    assert.equal(viaHub.path, `hf://org/llama@${h.commit}`);
    assert.equal(viaHub.rope.context, 2048);
    assert.equal(hub.requests.filter((q) => q.path.endsWith("model.safetensors")).length, 0);
    hub.addRepo("org/only-gguf", { "m.gguf": gguf(100) });
    await assert.rejects(fetchHubConfig({ ...common, source: "org/only-gguf" }), /no config\.json/);
  });
});
