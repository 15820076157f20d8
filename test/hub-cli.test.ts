// The CLI's hub commands (src/cli/hub.ts, src/cli/batch.ts) run in-process: output text/JSON, exit codes, the token kept out of both.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "./support/harness.ts";
import { StandInHub } from "./support/hub-server.ts";
import { runBatchCommand } from "../src/cli/batch.ts";
import { patchHubSource } from "../src/cli/hub.ts";
import { isHubModelArg } from "../src/hub/parse-hub-source.ts";
import { fakeGgufPatcher } from "./support/hub-fake-gguf.ts";
import { GgufError } from "../converters/gguf/errors.ts";

const CONFIG = JSON.stringify({ model_type: "llama", architectures: ["LlamaForCausalLM"], hidden_size: 256, num_attention_heads: 4, max_position_embeddings: 2048, rope_theta: 10000 });
const TOKEN = "hf_test_writer";

function io(env: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (s: string) => void out.push(s), stderr: (s: string) => void err.push(s), isTTY: false, env } };
}

test("isHubModelArg: existing paths stay local", () => {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-cli-"));
  try {
    assert.equal(isHubModelArg("Qwen/Qwen2.5-7B-Instruct"), true);
    assert.equal(isHubModelArg("hf://org/m@v1/x.gguf"), true);
    assert.equal(isHubModelArg(dir), false);
    assert.equal(isHubModelArg("./org/name"), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("patch <hub source> --push --json: commit URL and oid, token from HF_TOKEN, never printed", async () => {
  const hub = new StandInHub();
  await hub.start();
  const cacheDir = mkdtempSync(join(tmpdir(), "yarnify-cli-"));
  try {
    hub.addRepo("org/llama", { "config.json": CONFIG });
    hub.fault({ kind: "500", pathIncludes: "/api/models/org/llama/revision/", times: 1 });
    const t = io({ HF_TOKEN: TOKEN, HF_ENDPOINT: hub.url });
    const code = await patchHubSource("org/llama", { factor: 2 }, { push: "me/llama-4k", json: true, cacheDir }, t.io);
    assert.equal(code, 0);
    const r = JSON.parse(t.out.join(""));
    assert.equal(r.repo, "me/llama-4k");
    assert.equal(r.commitOid, hub.commits[0].oid);
    assert.equal(r.commitUrl, `${hub.url}/me/llama-4k/commit/${r.commitOid}`);
    assert.equal(r.plan.context, 4096);
    assert.match(t.err.join(""), /retrying GET .*revision\/main \(500\)/, "retries are reported, not silent");
    assert.ok(!(t.out.join("") + t.err.join("")).includes(TOKEN));
    // Text mode prints the commit, progress goes to stderr.
    const t2 = io({ HF_TOKEN: TOKEN, HF_ENDPOINT: hub.url });
    await patchHubSource("org/llama", { factor: 4 }, { pr: true, cacheDir }, t2.io);
    assert.match(t2.out.join(""), /pull request .*\/org\/llama\/discussions\/1 \(org\/llama@refs\/pr\/1\)\ncommit /);
    assert.match(t2.err.join(""), /committing/);
  } finally {
    await hub.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test("batch <manifest> --shard: state and reports beside the manifest, exit code 1 on a failure", async () => {
  const hub = new StandInHub();
  await hub.start();
  const dir = mkdtempSync(join(tmpdir(), "yarnify-cli-"));
  try {
    for (const n of ["a", "b", "c", "d"]) hub.addRepo(`org/${n}`, { "config.json": CONFIG });
    const manifest = join(dir, "patches.yaml");
    writeFileSync(manifest, "defaults:\n  factor: 2\nitems:\n" + ["a", "b", "c", "d", "zz"].map((n) => `  - id: ${n}\n    source: org/${n}\n    push: me/${n}-4k\n`).join(""));
    const runShard = async (shard: string) => {
      const t = io({ HF_TOKEN: TOKEN, HF_ENDPOINT: hub.url });
      const code = await runBatchCommand(manifest, { shard, concurrency: 2, cacheDir: join(dir, "cache") }, t.io);
      return { code, out: t.out.join(""), err: t.err.join("") };
    };
    const results = [await runShard("1/2"), await runShard("2/2")];
    const done = results.map((r) => Number(r.out.match(/(\d+) done/)![1])).reduce((a, b) => a + b);
    assert.equal(done, 4, results.map((r) => r.out).join(""));
    assert.deepEqual(results.map((r) => r.code).sort(), [0, 1], "the shard with org/zz (missing) fails");
    assert.ok(existsSync(`${manifest}.state.jsonl`) && existsSync(join(`${manifest}.reports`, "zz.json")));
    assert.match(JSON.parse(readFileSync(join(`${manifest}.reports`, "zz.json"), "utf8")).error, /org\/zz/);
    assert.deepEqual([...new Set(hub.commits.map((c) => c.repo))].sort(), ["me/a-4k", "me/b-4k", "me/c-4k", "me/d-4k"]);
  } finally {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("patch org/x-GGUF/file.gguf --push --json goes through the GGUF path (with the converter's patcher)", async () => {
  const hub = new StandInHub();
  await hub.start();
  try {
    const g = new Uint8Array(5000).fill(3);
    g.set(new TextEncoder().encode("GGUF"), 0);
    hub.addRepo("org/x-GGUF", { "x-Q4.gguf": g });
    const env = { HF_TOKEN: TOKEN, HF_ENDPOINT: hub.url };
    const without = io(env);
    // Without a stand-in the GGUF converter itself reads the header, and refuses these bytes as no GGUF it reads.
    await assert.rejects(patchHubSource("org/x-GGUF/x-Q4.gguf", { factor: 2 }, { push: "me/x-4k-GGUF" }, without.io), (e: unknown) => e instanceof GgufError && e.message.includes("x-Q4.gguf"));
    assert.equal(hub.commits.length, 0);
    const t = io(env);
    const code = await patchHubSource("org/x-GGUF/x-Q4.gguf", { factor: 2 }, { push: "me/x-4k-GGUF", json: true }, t.io, { patchGgufHeader: fakeGgufPatcher });
    assert.equal(code, 0);
    const r = JSON.parse(t.out.join(""));
    assert.deepEqual(r.files, [{ path: "x-Q4.gguf", headerBytes: { before: 64, after: 96 } }]);
    assert.equal(r.commitOid, hub.commits[0].oid);
    assert.equal(hub.file("me/x-4k-GGUF", "x-Q4.gguf")!.length, 5032);
    assert.ok(hub.file("me/x-4k-GGUF", "README.md"));
  } finally {
    await hub.close();
  }
});
