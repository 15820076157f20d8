// `patch` of a hub source end to end against the stand-in: the lead's HF patch on the downloaded config,
// then publishing: a new repo (every file + card), a pull request (config only), a local output (whole model).
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { test } from "./support/harness.ts";
import { StandInHub } from "./support/hub-server.ts";
import { patchHub } from "../src/hub/patch-hub.ts";
import type { PatchHubEvent } from "../src/hub/patch-hub.ts";
import { splitFrontMatter } from "../src/hub/model-card.ts";
import { createRetryFetch } from "../src/hub/retry-fetch.ts";

const SHARED = new URL("../../shared/models/tiny-llama-py/", import.meta.url);
const shared = (name: string) => {
  // Works from test/ (Bun, Deno) and from dist/test/ (Node).
  for (const base of [SHARED, new URL("../../../shared/models/tiny-llama-py/", import.meta.url)]) {
    const u = new URL(name, base);
    if (existsSync(u)) return readFileSync(u);
  }
  throw new Error(`shared fixture ${name} not found`);
};
const TOKEN = "hf_test_writer";
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

async function setup(fn: (hub: StandInHub, cacheDir: string, common: { hubUrl: string; accessToken: string; fetch: typeof fetch; cacheDir: string }) => Promise<void>): Promise<void> {
  const hub = new StandInHub();
  await hub.start();
  const cacheDir = mkdtempSync(join(tmpdir(), "yarnify-hubpatch-"));
  hub.addRepo(
    "org/tiny-llama",
    {
      "config.json": shared("config.json"),
      "tokenizer_config.json": shared("tokenizer_config.json"),
      "README.md": "---\nlicense: apache-2.0\n---\n" + text(shared("README.md")),
      "model.safetensors": new Uint8Array(shared("model.safetensors")),
    },
    { license: "apache-2.0" },
  );
  try {
    await fn(hub, cacheDir, { hubUrl: hub.url, accessToken: TOKEN, fetch: createRetryFetch({ sleep: async () => undefined }), cacheDir });
  } finally {
    await hub.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

test("patch org/model --factor 4 --push me/model-1k: a new repo with every file, the patched config and a card", async () => {
  await setup(async (hub, cacheDir, common) => {
    const events: PatchHubEvent[] = [];
    const r = await patchHub({ ...common, source: "org/tiny-llama", factor: 4, push: "me/tiny-llama-1k", private: true, validate: true }, (e) => events.push(e));
    assert.deepEqual(r.changed.sort(), ["config.json", "tokenizer_config.json"]);
    assert.equal(hub.commits.length, 1);
    const c = hub.commits[0];
    assert.equal(c.repo, "me/tiny-llama-1k");
    assert.equal(c.title, "yarnify: yarn x4 RoPE scaling (256 -> 1024 tokens)");
    assert.deepEqual(c.operations.map((o) => o.path).sort(), ["README.md", "config.json", "model.safetensors", "tokenizer_config.json"]);
    const cfg = JSON.parse(text(hub.file("me/tiny-llama-1k", "config.json")));
    assert.equal(cfg.max_position_embeddings, 1024);
    assert.equal(cfg.rope_parameters.rope_type, "yarn");
    assert.equal(cfg.rope_parameters.factor, 4);
    assert.equal(JSON.parse(text(hub.file("me/tiny-llama-1k", "tokenizer_config.json"))).model_max_length, 1024);
    assert.deepEqual(hub.file("me/tiny-llama-1k", "model.safetensors"), hub.file("org/tiny-llama", "model.safetensors"));
    const card = text(hub.file("me/tiny-llama-1k", "README.md"));
    const meta = parseYaml(splitFrontMatter(card).frontMatter!) as { base_model: string; license: string; tags: string[] };
    assert.equal(meta.base_model, "org/tiny-llama");
    assert.equal(meta.license, "apache-2.0");
    assert.ok(["yarn", "long-context", "rope-scaling"].every((t) => meta.tags.includes(t)));
    assert.ok(card.includes("vllm serve me/tiny-llama-1k --max-model-len 1024"));
    assert.ok(card.includes("--rope-scaling yarn --rope-scale 4 --yarn-orig-ctx 256"), "llama.cpp runtime flags from `flags`");
    assert.ok(card.includes("## Original model card") && card.includes("# tiny-llama-py: a small RoPE model"));
    assert.equal(r.validation?.ok, true);
    assert.ok(card.includes("## Validation") && card.includes("| check | status | detail |"));
    for (const c of r.validation!.checks) assert.ok(card.includes(`| ${c.name} | ${c.status} |`), c.name);
    assert.equal(hub.repos.get("me/tiny-llama-1k")?.private, true);
    assert.equal(r.publish?.commitOid, c.oid);
    // Every file went through the cache, laid out as huggingface_hub lays it out, each downloaded once (the upload
    // reads the weights twice: hash, send).
    const repoDir = join(cacheDir, "models--org--tiny-llama");
    assert.equal(readFileSync(join(repoDir, "refs", "main"), "utf8"), r.commit);
    assert.deepEqual(readdirSync(join(repoDir, "snapshots", r.commit)).sort(), ["README.md", "config.json", "model.safetensors", "tokenizer_config.json"]);
    assert.equal(readdirSync(join(repoDir, "blobs")).length, 4);
    const weightReads = hub.requests.filter((q) => q.path.startsWith("/org/tiny-llama/resolve/") && q.path.endsWith("/model.safetensors"));
    assert.equal(weightReads.reduce((n, q) => n + q.bytes, 0), hub.file("org/tiny-llama", "model.safetensors")!.length);
    assert.ok(events.some((e) => e.event === "patched") && events.some((e) => e.event === "phase" && e.phase === "committing"));
  });
});

test("patch org/model --push with a measure (--eval): the whole model is fetched, the card gets a section per task", async () => {
  await setup(async (hub, _cache, common) => {
    const seen: string[] = [];
    const r = await patchHub({
      ...common,
      source: "org/tiny-llama",
      factor: 4,
      push: "me/tiny-llama-1k",
      evaluation: async (dir, plan, source) => {
        seen.push(...readdirSync(dir).sort());
        assert.equal(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")).rope_parameters.factor, 4);
        assert.equal(JSON.parse(readFileSync(join(source, "config.json"), "utf8")).max_position_embeddings, 256, "the source, drift's baseline");
        assert.ok(readdirSync(source).includes("model.safetensors"));
        return [
          { title: "Perplexity", note: `measured at ${plan.originalContext} and ${plan.context}`, markdown: "| method | 256 | 1024 |\n|---|---:|---:|\n| yarn x4 (this model) | 3.317 | 5.410 |" },
          { title: "Drift from the original", note: "at 256", markdown: "| statistic | 256 |\n|---|---:|\n| mean KL (nats) | 0.160697 |" },
        ];
      },
    });
    assert.ok(seen.includes("model.safetensors"), `the measure saw the weights: ${seen.join(", ")}`);
    assert.deepEqual(r.evaluation?.map((x) => x.note), ["measured at 256 and 1024", "at 256"]);
    const card = text(hub.file("me/tiny-llama-1k", "README.md"));
    assert.ok(card.includes("## Perplexity\n\nmeasured at 256 and 1024\n\n| method | 256 | 1024 |"), card);
    assert.ok(card.includes("## Drift from the original\n\nat 256\n\n| statistic | 256 |"), card);
    assert.ok(card.indexOf("## Perplexity") < card.indexOf("## Drift from the original"));
    assert.ok(card.indexOf("## Drift from the original") < card.indexOf("## Original model card"));
  });
});

test("patch org/model --factor 4 --pr: a pull request with the config files only", async () => {
  await setup(async (hub, _cache, common) => {
    const r = await patchHub({ ...common, source: "org/tiny-llama", factor: 4, pr: true });
    assert.equal(r.publish?.pullRequestUrl, `${hub.url}/org/tiny-llama/discussions/1`);
    assert.equal(hub.commits.length, 1);
    assert.equal(hub.commits[0].ref, "refs/pr/1");
    assert.deepEqual(hub.commits[0].operations.map((o) => o.path).sort(), ["config.json", "tokenizer_config.json"]);
    assert.equal(hub.lfsUploads.length, 0);
    assert.equal(JSON.parse(text(hub.file("org/tiny-llama", "config.json", "refs/pr/1"))).rope_parameters.factor, 4);
    assert.equal(JSON.parse(text(hub.file("org/tiny-llama", "config.json"))).max_position_embeddings, 256);
    assert.equal(r.card, undefined, "a PR on the source keeps its card");
  });
});

test("patch org/model --context 1024 --out dir: the whole model locally, a rerun reads the cache", async () => {
  await setup(async (hub, _cacheDir, common) => {
    const outDir = mkdtempSync(join(tmpdir(), "yarnify-hubout-"));
    try {
      const r = await patchHub({ ...common, source: "hf://org/tiny-llama", context: 1024, out: join(outDir, "m") });
      assert.equal(r.publish, undefined);
      assert.deepEqual(readdirSync(join(outDir, "m")).sort(), ["README.md", "config.json", "model.safetensors", "tokenizer_config.json"]);
      assert.equal(JSON.parse(readFileSync(join(outDir, "m", "config.json"), "utf8")).max_position_embeddings, 1024);
      const bodies = () => hub.requests.filter((q) => q.path.includes("/resolve/") && q.range === undefined).length;
      const before = bodies();
      const again = await patchHub({ ...common, source: { repo: "org/tiny-llama", revision: r.commit }, context: 1024, out: join(outDir, "m2") });
      assert.equal(bodies(), before, "nothing downloaded again");
      assert.equal(again.commit, r.commit);
      // A dry run with a publish target computes the diff and publishes nothing.
      const dry = await patchHub({ ...common, source: "org/tiny-llama", factor: 2, push: "me/x", dryRun: true });
      assert.match(dry.patch.diff, /"factor": 2/);
      assert.equal(hub.commits.length, 0);
      assert.equal(hub.repos.has("me/x"), false);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });
});

test("--pr on org/model@dev goes against dev, based on the commit read; --branch starts at that commit", async () => {
  await setup(async (hub, _cache, common) => {
    const repo = hub.repos.get("org/tiny-llama")!;
    const main = repo.branches.get("main")!;
    repo.branches.set("dev", { oid: "d".repeat(40), files: new Map([...main.files, ["dev-only.txt", { content: new Uint8Array([1]), lfs: false }]]) });
    const r = await patchHub({ ...common, source: "org/tiny-llama@dev", factor: 2, pr: true });
    assert.equal(r.commit, "d".repeat(40));
    assert.equal(r.publish?.branch, "dev");
    assert.equal(hub.commits[0].ref, "refs/pr/1");
    const b = await patchHub({ ...common, source: "org/tiny-llama@dev", factor: 2, branch: "yarn-512" });
    assert.equal(b.publish?.createdBranch, true);
    // The new branch was created from dev's commit, then the config commit landed on it.
    assert.equal(JSON.parse(text(hub.file("org/tiny-llama", "config.json", "yarn-512"))).rope_parameters.factor, 2);
    assert.equal(hub.commits[1].ref, "yarn-512");
    assert.ok(hub.file("org/tiny-llama", "dev-only.txt", "yarn-512"), "branch started at dev's commit, not main");
  });
});
