// The Hugging Face conventions, against caches built here the way huggingface_hub (`hf download`) lays them out:
// HF_HOME / HF_HUB_CACHE, blobs + refs + snapshots (files `hf` fetched are reused, files yarnify fetches are where
// `hf` and huggingface.js's own cache scanner find them), the token `hf auth login` saves, and HF_HUB_OFFLINE.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readFileSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { scanCacheDir } from "@huggingface/hub";
import { runCli } from "../src/cli/main.ts";
import { test } from "./support/harness.ts";
import { withStandInHub } from "./support/hub-server.ts";
import { sharedPath } from "./support/shared.ts";

const TOKEN = "hf_test_writer";
const tiny = sharedPath("models/tiny-llama-py");
const sha256 = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");
const sha1 = (b: Uint8Array | string) => createHash("sha1").update(b).digest("hex");

/**
 * A repo in the cache as huggingface_hub writes it: blobs/<etag>, snapshots/<commit>/<path> as relative symlinks
 * (../../blobs/<etag>, one more ../ per folder of the path), refs/main holding the commit.
 */
function pythonCache(hubCache: string, repo: string, commit: string, files: Record<string, Uint8Array | string>): void {
  const repoDir = join(hubCache, `models--${repo.replace("/", "--")}`);
  for (const [path, content] of Object.entries(files)) {
    const etag = typeof content === "string" ? sha1(content) : sha256(content);
    const blob = join(repoDir, "blobs", etag);
    mkdirSync(dirname(blob), { recursive: true });
    writeFileSync(blob, content);
    const link = join(repoDir, "snapshots", commit, ...path.split("/"));
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(relative(dirname(link), blob), link);
  }
  mkdirSync(join(repoDir, "refs"), { recursive: true });
  writeFileSync(join(repoDir, "refs", "main"), commit);
}

async function cli(args: string[], env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s), isTTY: false, env });
  return { code, out: out.join(""), err: err.join("") };
}


const tinyConfig = () => readFileSync(join(tiny, "config.json"), "utf8");

test("HF_HOME: files `hf download` fetched are read from its cache; offline, with no request at all", async () => {
  await withStandInHub(async (hub, dir) => {
    const gguf = new Uint8Array(readFileSync(join(tiny, "tiny-llama-f16.gguf")));
    const commit = hub.addRepo("org/tiny", { "config.json": tinyConfig() });
    const ggufCommit = hub.addRepo("org/tiny-GGUF", { "tiny-llama-f16.gguf": gguf });
    const home = join(dir, "hf-home");
    pythonCache(join(home, "hub"), "org/tiny", commit, { "config.json": tinyConfig() });
    pythonCache(join(home, "hub"), "org/tiny-GGUF", ggufCommit, { "tiny-llama-f16.gguf": gguf });
    const env = { HF_HOME: home, HF_ENDPOINT: hub.url, HF_TOKEN_PATH: join(dir, "no-token") };

    const online = await cli(["inspect", "org/tiny", "--json"], env);
    assert.equal(online.code, 0, online.err);
    assert.equal(JSON.parse(online.out).path, `hf://org/tiny@${commit}`);
    assert.deepEqual(hub.requests.filter((q) => q.path.includes("/resolve/")), [], "the cached config.json is not downloaded again");
    const gg = await cli(["inspect", "org/tiny-GGUF/tiny-llama-f16.gguf", "--json"], env);
    assert.equal(gg.code, 0, gg.err);
    assert.equal(JSON.parse(gg.out).rope.originalContext, 256);
    assert.deepEqual(hub.requests.filter((q) => q.path.includes("/resolve/")), [], "a cached GGUF is read from the cache, not over Range requests");

    hub.requests.length = 0;
    for (const value of ["1", "ON", "true"]) {
      const offline = { ...env, HF_HUB_OFFLINE: value };
      for (const args of [["inspect", "org/tiny", "--json"], ["flags", "org/tiny@main"], ["inspect", "org/tiny-GGUF/tiny-llama-f16.gguf"], ["validate", "org/tiny", "--no-gpu"]]) {
        const r = await cli(args, offline);
        assert.ok(r.code === 0 || (args[0] === "validate" && r.code === 5), `${args.join(" ")}: ${r.err}`);
      }
    }
    assert.deepEqual(hub.requests, [], "HF_HUB_OFFLINE: not one request");

    // Offline, what the cache lacks fails in one line naming it and HF_HUB_OFFLINE, exit 6.
    const offline = { ...env, HF_HUB_OFFLINE: "1" };
    for (const [args, named] of [
      [["inspect", "org/other"], "org/other@main"],
      [["inspect", "org/tiny@v2"], "org/tiny@v2"],
      [["inspect", "org/tiny-GGUF/other.gguf"], `hf://org/tiny-GGUF@${ggufCommit}/other.gguf`],
      // Planning works from the cache; the pull request is where the network would be needed.
      [["patch", "org/tiny", "--factor", "4", "--pr", "--token", TOKEN], "/api/models/org/tiny"],
    ] as const) {
      const r = await cli([...args], offline);
      assert.equal(r.code, 6, `${args.join(" ")}: ${r.err}`);
      const errors = r.err.split("\n").filter((l) => l.startsWith("yarnify:"));
      assert.equal(errors.length, 1, r.err);
      assert.ok(errors[0].includes(named) && errors[0].includes("HF_HUB_OFFLINE is set"), r.err);
    }
    assert.deepEqual(hub.requests, []);
  });
});

test("HF_HUB_CACHE: yarnify's downloads land in huggingface_hub's layout, found by huggingface.js's cache scanner", async () => {
  await withStandInHub(async (hub, dir) => {
    const weights = new Uint8Array(readFileSync(join(tiny, "model.safetensors")));
    const files = { "config.json": tinyConfig(), "model.safetensors": weights, "tokenizer_config.json": readFileSync(join(tiny, "tokenizer_config.json"), "utf8"), "onnx/notes.txt": "nested" };
    const commit = hub.addRepo("org/tiny", files);
    const cache = join(dir, "cache");
    const env = { HF_HUB_CACHE: cache, HF_HOME: join(dir, "unused-home"), HF_ENDPOINT: hub.url };
    // A local output needs every file: each goes into the cache, then the output is made from there.
    const r = await cli(["patch", "org/tiny", "--factor", "4", "-o", join(dir, "out")], env);
    assert.equal(r.code, 0, r.err);

    const repoDir = join(cache, "models--org--tiny");
    assert.equal(readFileSync(join(repoDir, "refs", "main"), "utf8"), commit, "refs/main holds the commit, no newline");
    for (const [path, content] of Object.entries(files)) {
      const link = join(repoDir, "snapshots", commit, ...path.split("/"));
      assert.ok(lstatSync(link).isSymbolicLink(), `${path} is a link`);
      // The stand-in hub names git blobs by the sha1 of their bytes and LFS files (weights) by their sha256.
      const etag = typeof content === "string" ? sha1(content) : sha256(content);
      assert.equal(readlinkSync(link), relative(dirname(link), join(repoDir, "blobs", etag)), `${path}: relative link to blobs/<etag>`);
      assert.deepEqual(new Uint8Array(readFileSync(link)), typeof content === "string" ? new TextEncoder().encode(content) : content);
    }
    const scanned = await scanCacheDir(cache);
    assert.deepEqual(scanned.warnings, []);
    assert.equal(scanned.repos.length, 1);
    assert.equal(scanned.repos[0].id.name, "org/tiny");
    // huggingface.js's scanner lists a snapshot's top-level files (huggingface_hub's also walks its folders).
    const topLevel = Object.entries(files).filter(([path]) => !path.includes("/"));
    assert.deepEqual(scanned.repos[0].revisions.map((v) => [v.commitOid, v.refs, v.files.length]), [[commit, ["main"], topLevel.length]]);
    assert.equal(scanned.repos[0].size, topLevel.reduce((n, [, c]) => n + (typeof c === "string" ? Buffer.byteLength(c) : c.length), 0));

    // A second revision with the same weights links the blob it already has.
    const weightBytes = () => hub.requests.filter((q) => q.path.endsWith("/model.safetensors")).reduce((n, q) => n + q.bytes, 0);
    const before = weightBytes();
    const next = hub.commitFiles("org/tiny", { "README.md": "# new revision" });
    const again = await cli(["patch", `org/tiny@${next}`, "--factor", "4", "-o", join(dir, "out2")], env);
    assert.equal(again.code, 0, again.err);
    assert.equal(weightBytes(), before, "the weights are not downloaded again for the new commit");
    assert.equal(realpathSync(join(repoDir, "snapshots", next, "model.safetensors")), realpathSync(join(repoDir, "snapshots", commit, "model.safetensors")));
  });
});

test("the token `hf auth login` saved ($HF_HOME/token, or $HF_TOKEN_PATH) opens a private repo; HF_TOKEN comes first", async () => {
  await withStandInHub(async (hub, dir) => {
    hub.addRepo("org/secret", { "config.json": tinyConfig() }, { private: true });
    const home = join(dir, "home");
    mkdirSync(home);
    const base = { HF_HOME: home, HF_ENDPOINT: hub.url };
    const denied = await cli(["inspect", "org/secret"], base);
    assert.equal(denied.code, 6, "no token anywhere: the private repo is not found");
    writeFileSync(join(home, "token"), `${TOKEN}\n`);
    const saved = await cli(["inspect", "org/secret", "--json"], base);
    assert.equal(saved.code, 0, saved.err);
    assert.ok(hub.requests.filter((q) => q.path.startsWith("/api/")).at(-1)!.authorized);
    rmSync(join(home, "token"));
    writeFileSync(join(dir, "elsewhere"), TOKEN);
    assert.equal((await cli(["inspect", "org/secret"], { ...base, HF_TOKEN_PATH: join(dir, "elsewhere") })).code, 0);
    const envFirst = await cli(["inspect", "org/secret"], { ...base, HF_TOKEN_PATH: join(dir, "elsewhere"), HF_TOKEN: "hf_not_a_valid_token" });
    assert.equal(envFirst.code, 6, "HF_TOKEN wins over the saved token");
    assert.ok(!(envFirst.out + envFirst.err + saved.out + saved.err).includes(TOKEN), "the token is never printed");
  });
});
