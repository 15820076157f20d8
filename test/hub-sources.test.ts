// Hub sources in every command that reads a model (inspect, flags, validate, eval; patch's aliases), run in-process
// against the stand-in hub: a GGUF file inspected by its header alone, a pull request addressed as refs/pr/N.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../src/cli/main.ts";
import { test } from "./support/harness.ts";
import { type StandInHub, withStandInHub } from "./support/hub-server.ts";
import { sharedPath } from "./support/shared.ts";

const TOKEN = "hf_test_writer";
const tiny = sharedPath("models/tiny-llama-py");

/** Runs one command line in-process against `hub`, with its own cache. */
async function cli(hub: StandInHub, cacheDir: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io = { stdout: (s: string) => void out.push(s), stderr: (s: string) => void err.push(s), isTTY: false, env: { HF_TOKEN: TOKEN, HF_ENDPOINT: hub.url } };
  const code = await runCli([...args, "--cache-dir", cacheDir], io);
  return { code, out: out.join(""), err: err.join("") };
}


test("inspect org/x-GGUF/file.gguf: the named file's header read with Range requests, the source pinned in `path`", async () => {
  await withStandInHub(async (hub, dir) => {
    const gguf = new Uint8Array(readFileSync(join(tiny, "tiny-llama-f16.gguf")));
    const commit = hub.addRepo("org/tiny-GGUF", { "tiny-llama-f16.gguf": gguf, "README.md": "# tiny" });
    const r = await cli(hub, dir, ["inspect", "org/tiny-GGUF/tiny-llama-f16.gguf", "--json"]);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.format, "gguf");
    assert.equal(j.path, `hf://org/tiny-GGUF@${commit}/tiny-llama-f16.gguf`);
    assert.equal(j.rope.originalContext, 256);
    const fetched = hub.requests.filter((q) => q.path.includes("/resolve/")).reduce((n, q) => n + q.bytes, 0);
    assert.ok(fetched > 0 && fetched < gguf.length / 4, `read ${fetched} of ${gguf.length} bytes: the header, not the file`);
    assert.ok(hub.requests.filter((q) => q.path.includes("/resolve/")).every((q) => q.range && q.authorized), "Range requests with the token");
    // The same through flags and validate; a file that is no GGUF is refused by name.
    const flags = await cli(hub, dir, ["flags", "hf://org/tiny-GGUF/tiny-llama-f16.gguf"]);
    assert.equal(flags.code, 0, flags.err);
    assert.equal(flags.out, "# the model has no RoPE scaling: no flags needed\n");
    const notGguf = await cli(hub, dir, ["inspect", "org/tiny-GGUF/README.md"]);
    assert.equal(notGguf.code, 6);
    assert.match(notGguf.err, /^yarnify: hf:\/\/org\/tiny-GGUF\/README\.md: a single hub file is read only when it is a GGUF/);
  });
});

test("flags, validate and eval take a hub repo (validate from its config files, eval with every file)", async () => {
  await withStandInHub(async (hub, dir) => {
    // The tiny model with its config patched ×4 (by `patch -o`), so that flags has flags to give.
    const patched = join(dir, "tiny-yarn");
    assert.equal((await cli(hub, dir, ["patch", tiny, "--factor", "4", "-o", patched])).code, 0);
    const files: Record<string, Uint8Array> = {};
    for (const f of ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]) files[f] = new Uint8Array(readFileSync(join(patched, f)));
    const commit = hub.addRepo("org/tiny", files);
    const flags = await cli(hub, dir, ["flags", "org/tiny", "--json"]);
    assert.equal(flags.code, 0, flags.err);
    assert.match(JSON.parse(flags.out).llamacpp.command, /llama-server .*--rope-scaling yarn --rope-scale 4 --yarn-orig-ctx 256/);
    assert.ok(!hub.requests.some((q) => q.path.endsWith("/model.safetensors")), "flags downloads no weights");

    const validate = await cli(hub, dir, ["validate", "org/tiny", "--json", "--no-gpu"]);
    const report = JSON.parse(validate.out);
    assert.equal(report.model, `hf://org/tiny@${commit}`);
    const weights = report.checks.find((c: { name: string }) => c.name === "real-weights");
    assert.equal(weights.status, "skipped");
    assert.match(weights.detail, /config files; its weights are not downloaded/);
    assert.ok(!hub.requests.some((q) => q.path.endsWith("/model.safetensors")), "validate downloads no weights");

    const docs = join(dir, "docs.txt");
    writeFileSync(docs, JSON.parse(readFileSync(sharedPath("data/eval-docs.json"), "utf8")).docs[0].text);
    const evaluated = await cli(hub, dir, ["eval", "org/tiny", "--text", docs, "--context", "64", "--methods", "none", "--device", "cpu", "--json", "--plot", join(dir, "p.svg")]);
    assert.equal(evaluated.code, 0, evaluated.err);
    const e = JSON.parse(evaluated.out);
    assert.equal(e.model, `hf://org/tiny@${commit}`);
    assert.ok(e.results[0].perplexity > 1 && e.results[0].perplexity < 1000, String(e.results[0].perplexity));
    assert.ok(hub.requests.some((q) => q.path.endsWith("/model.safetensors")), "eval fetched the weights");
  });
});

test("a pull request opened with --create-pr is addressed as org/name@refs/pr/N, --revision refs/pr/N and hf://…@refs/pr/N", async () => {
  await withStandInHub(async (hub, dir) => {
    hub.addRepo("org/tiny", { "config.json": readFileSync(join(tiny, "config.json"), "utf8") });
    const opened = await cli(hub, dir, ["patch", "org/tiny", "--factor", "4", "--create-pr", "--commit-message", "Extend to 1024 tokens"]);
    assert.equal(opened.code, 0, opened.err);
    assert.match(opened.out, /pull request \S+\/org\/tiny\/discussions\/1 \(org\/tiny@refs\/pr\/1\)\n/);
    assert.equal(hub.commits[0].ref, "refs/pr/1");
    assert.equal(hub.commits[0].title, "Extend to 1024 tokens");
    for (const source of [["org/tiny@refs/pr/1"], ["org/tiny", "--revision", "refs/pr/1"], ["hf://org/tiny@refs/pr/1"]]) {
      const r = await cli(hub, dir, ["inspect", ...source, "--json"]);
      assert.equal(r.code, 0, r.err);
      const j = JSON.parse(r.out);
      assert.equal(j.rope.method, "yarn", source.join(" "));
      assert.equal(j.rope.context, 1024);
      assert.equal(j.path, `hf://org/tiny@${hub.commits[0].oid}`);
    }
    assert.equal(JSON.parse((await cli(hub, dir, ["inspect", "org/tiny", "--json"])).out).rope.method, "none", "main is untouched");
    const clash = await cli(hub, dir, ["inspect", "org/tiny@main", "--revision", "refs/pr/1"]);
    assert.equal(clash.code, 1);
    assert.match(clash.err, /^yarnify: org\/tiny@main: names revision main, --revision refs\/pr\/1\n$/);
    const local = await cli(hub, dir, ["flags", tiny, "--revision", "v1"]);
    assert.match(local.err, /--revision applies to hub sources/);
  });
});
