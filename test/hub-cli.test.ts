// The CLI's hub commands (src/cli/hub.ts, src/cli/batch.ts) run in-process: output text/JSON, exit codes, the token kept out of both.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "./support/harness.ts";
import { StandInHub, withStandInHub } from "./support/hub-server.ts";
import { runBatchCommand } from "../src/cli/batch.ts";
import { runCli } from "../src/cli/main.ts";
import { patchHubSource } from "../src/cli/hub.ts";
import { isHubModelArg } from "../src/hub/parse-hub-source.ts";
import { listHubFiles } from "../src/hub/list-hub-files.ts";
import { HubHttpError } from "../src/hub/errors.ts";
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

test("patch --push/--pr: a commit whose answer was lost exits 0 with that commit; a rerun commits nothing (exit 0)", async () => {
  await withStandInHub(async (hub, cacheDir) => {
    hub.addRepo("org/llama", { "config.json": CONFIG });
    const env = { HF_TOKEN: TOKEN, HF_ENDPOINT: hub.url };
    const run = async (args: string[]) => {
      const t = io(env);
      const code = await runCli(["patch", "org/llama", "--factor", "2", "--cache-dir", cacheDir, ...args], t.io);
      return { code, out: t.out.join(""), err: t.err.join("") };
    };
    for (const [target, kind] of [[["--push", "me/llama-4k"], "500-after"], [["--pr"], "drop-after"]] as const) {
      hub.fault({ kind, pathIncludes: "/commit/", times: 1 });
      const first = await run([...target]);
      assert.equal(first.code, 0, first.err);
      const c = hub.commits.at(-1)!;
      assert.ok(first.out.includes(`commit ${hub.url}/${c.repo}/commit/${c.oid} (${c.oid})\n`), first.out);
      const again = await run([...target, "--json"]);
      assert.equal(again.code, 0, again.err);
      assert.deepEqual(JSON.parse(again.out).alreadyPublished, true);
      const text = await run([...target]);
      assert.match(text.out, new RegExp(`commit .*${c.oid} \\(${c.oid}, published by an earlier run: nothing new committed\\)`));
      assert.equal(hub.commits.at(-1), c, "no second commit");
    }
    assert.deepEqual(hub.commits.map((c) => c.ref), ["main", "refs/pr/1"]);
  });
});

test("hub refusals: exit 6 and one line saying what to do; a token that is not hf_ is refused before any request, never printed", async () => {
  await withStandInHub(async (hub, cacheDir) => {
    hub.addRepo("org/llama", { "config.json": CONFIG });
    hub.addRepo("org/secret", { "config.json": CONFIG }, { private: true });
    const run = async (args: string[], env: Record<string, string> = { HF_TOKEN: TOKEN }) => {
      const t = io({ HF_ENDPOINT: hub.url, ...env });
      const code = await runCli([...args, "--cache-dir", cacheDir], t.io);
      return { code, err: t.err.join(""), out: t.out.join("") };
    };
    const manifest = join(cacheDir, "m.json");
    writeFileSync(manifest, JSON.stringify([{ source: "org/llama", factor: 2, push: "me/llama-4k" }]));
    const notHf = "Bearer_abc123secret";
    const requests = hub.requests.length;
    for (const [args, env, from] of [
      [["patch", "org/llama", "--factor", "2", "--push", "me/x", "--token", notHf], {}, "--token"],
      [["inspect", "org/llama"], { HF_TOKEN: notHf }, "HF_TOKEN"],
      [["batch", manifest], { HUGGING_FACE_HUB_TOKEN: notHf }, "HUGGING_FACE_HUB_TOKEN"],
    ] as const) {
      const r = await run([...args], { ...env });
      assert.equal(r.code, 6, r.err);
      assert.equal(r.err, `yarnify: ${from}: the token is not a Hugging Face token (they start with hf_): check --token or HF_TOKEN\n`);
      assert.ok(!r.err.includes("abc123secret") && !r.out.includes("abc123secret"));
    }
    assert.equal(hub.requests.length, requests, "nothing was sent");
    for (const [args, env, re] of [
      // A token the hub does not know.
      [["inspect", "org/llama"], { HF_TOKEN: "hf_unknowntoken99" }, /^yarnify: org\/llama@main: HTTP 401 Invalid credentials in Authorization header; check the repo name, and that --token or HF_TOKEN is a valid token/],
      // No token for a private repo (the hub answers 401, as for a repo that does not exist).
      [["inspect", "org/secret"], {}, /^yarnify: org\/secret@main: HTTP 401 Repository not found; check the repo name, and that --token or HF_TOKEN is a valid token that can see the repo/],
      [["inspect", "org/llama@nope"], {}, /^yarnify: org\/llama@nope: HTTP 404 Invalid rev id: nope; check the repo name, the revision and the file name\n$/],
      // Writing where the token may not.
      [["patch", "org/llama", "--factor", "2", "--push", "someone/x", "--json"], { HF_TOKEN: TOKEN }, /^yarnify: someone\/x: publish failed: HTTP 403 You don't have the rights to create a repo under someone; the token may not do this: use a token with write access/],
    ] as const) {
      const r = await run([...args], { ...env });
      assert.equal(r.code, 6, r.err);
      // Under --json the error is one object on stdout (nothing on stderr): the same file and problem.
      let line = r.err;
      if ((args as readonly string[]).includes("--json")) {
        assert.equal(r.err, "");
        const e = (JSON.parse(r.out) as { error: { code: number; file: string | null; problem: string } }).error;
        assert.equal(e.code, 6);
        line = `yarnify: ${e.file}: ${e.problem}\n`;
      }
      assert.match(line, re);
      assert.equal(line.split("\n").length, 2, line);
      assert.ok(!(line + r.out).includes("hf_unknowntoken99") && !(line + r.out).includes(TOKEN) && !line.includes("URL:"), line);
    }
    // The client library's errors (here listFiles's) become the same lines.
    await assert.rejects(listHubFiles({ hubUrl: hub.url, repo: "org/secret" }), (e: unknown) => e instanceof HubHttpError && e.status === 401 && /^org\/secret@main: HTTP 401 Repository not found; check the repo name/.test((e as Error).message));
  });
});

test("batch refuses before publishing anything: a --concurrency that is no count, items that would overwrite each other, a garbage or unwritable state file", async () => {
  await withStandInHub(async (hub, dir) => {
    for (const n of ["a", "b"]) hub.addRepo(`org/${n}`, { "config.json": CONFIG });
    const manifest = join(dir, "m.json");
    const items = [{ id: "a", source: "org/a", push: "me/a-4k" }, { id: "b", source: "org/b", push: "me/b-4k" }];
    const write = (list: unknown[]) => writeFileSync(manifest, JSON.stringify({ defaults: { factor: 2 }, items: list }));
    const run = async (...args: string[]) => {
      const t = io({ HF_TOKEN: TOKEN, HF_ENDPOINT: hub.url });
      const code = await runCli(["batch", manifest, "--cache-dir", join(dir, "cache"), ...args], t.io);
      return { code, err: t.err.join(""), out: t.out.join("") };
    };
    write(items);
    for (const bad of ["abc", "0", "2.5", "4x"]) {
      const r = await run("--concurrency", bad);
      assert.equal(r.code, 1, `${bad}: ${r.err}`);
      assert.equal(r.err, `yarnify: --concurrency: "${bad}" is not a whole number ≥ 1\n`);
    }
    write([...items, { id: "c", source: "org/b", factor: 4, push: "me/a-4k" }]);
    const twice = await run();
    assert.deepEqual([twice.code, twice.err], [1, `yarnify: ${manifest}: items 1 ("a") and 3 ("c") both publish to me/a-4k (branch main): the second would publish over the first; give each its own repo or branch\n`]);
    write(items);
    const state = join(dir, "state.jsonl");
    writeFileSync(state, "<html>not a state file</html>\n");
    const garbage = await run("--state", state);
    assert.deepEqual([garbage.code, garbage.err], [1, `yarnify: ${state}: not a batch state file (line 1 is not a state line): delete it to start the batch over, or pass --state <another file>\n`]);
    const unwritable = join(state, "state.jsonl");
    const readOnly = await run("--state", unwritable);
    assert.equal(readOnly.code, 4);
    assert.ok(readOnly.err.startsWith(`yarnify: ${unwritable}: the batch state file cannot be written (E`) && readOnly.err.endsWith("): make it writable, or pass --state <another file>\n"), readOnly.err);
    assert.equal(hub.requests.filter((q) => q.method !== "GET").length, 0, "nothing was published");
    assert.equal(hub.commits.length, 0);
    // Reset as told: the run publishes both.
    rmSync(state);
    const ok = await run("--state", state, "--concurrency", "2");
    assert.equal(ok.code, 0, ok.err);
    assert.deepEqual(hub.commits.map((c) => c.repo).sort(), ["me/a-4k", "me/b-4k"]);
  });
});
