// The CLI as users and scripts run it: end to end on the tiny model, the inspect --json contract, dry runs,
// and every bad input ending in one line, a non-zero exit, nothing written and the source untouched.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runtimeName } from "../src/core/runtime.ts";
import { test } from "./support/harness.ts";
import { sharedPath } from "./support/shared.ts";
import { type CliResult, repoRoot, runCli, runCliAsync } from "./support/cli-run.ts";
import { buffers } from "./support/cli-io.ts";
import { runCli as runInProcess } from "../src/cli/main.ts";
import type { RuntimeName } from "../src/core/runtime.ts";
import { VERSION } from "../src/version.ts";

const tiny = sharedPath("models/tiny-llama-py");
const tmp = () => mkdtempSync(join(tmpdir(), "yarnify-cli-"));

function treeHash(dir: string): string {
  const h = createHash("sha256");
  for (const name of readdirSync(dir, { recursive: true }).map(String).sort()) {
    const p = join(dir, name);
    h.update(name);
    try {
      h.update(readFileSync(p));
    } catch {
      // a directory
    }
  }
  return h.digest("hex");
}

test("patch the tiny model ×4, then inspect --json shows the contract", () => {
  const out = join(tmp(), "tiny-yarn");
  const before = treeHash(tiny);
  const p = runCli(["patch", tiny, "--factor", "4", "--out", out]);
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stdout, /factor\s+4 \(256 → 1024 tokens\)/);
  assert.match(p.stdout, /attention factor\s+1\.138629436/);
  assert.equal(treeHash(tiny), before, "source untouched");
  const r = runCli(["inspect", out, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.format, "hf");
  assert.equal(j.architecture, "LlamaForCausalLM");
  assert.equal(j.rope.method, "yarn");
  assert.equal(j.rope.factor, 4);
  assert.equal(j.rope.originalContext, 256);
  assert.equal(j.rope.context, 1024);
  assert.equal(j.rope.attentionFactor, 0.1 * Math.log(4) + 1);
  assert.equal(j.rope.invFreq.length, 32);
  for (const e of ["transformers", "llamacpp", "vllm", "ortGenai", "mlx"]) {
    assert.equal(j.engines[e].invFreq.length, 32, e);
    assert.equal(typeof j.engines[e].attentionFactor, "number");
    assert.ok(Array.isArray(j.engines[e].warnings));
  }
  // Weights and tokenizer are carried over byte-identical.
  for (const f of ["model.safetensors", "tokenizer.json", "onnx/model.onnx"]) {
    assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(tiny, f))), f);
  }
  assert.equal(JSON.parse(readFileSync(join(out, "tokenizer_config.json"), "utf8")).model_max_length, 1024);
  assert.deepEqual(readdirSync(join(out, "..")), ["tiny-yarn"], "no temporary or lock left");
}, { timeoutMs: 120_000 });

test("inspect --json of an unscaled model: method none, plain frequencies", () => {
  const r = runCli(["inspect", tiny, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.rope.method, "none");
  assert.equal(j.rope.invFreq[1], Math.fround(1 / Math.fround(10000 ** Math.fround(2 / 64))));
});

test("--dry-run prints a unified diff and writes nothing", () => {
  const dir = tmp();
  const out = join(dir, "x");
  const r = runCli(["patch", tiny, "--context", "1024", "--dry-run", "--out", out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^--- a\/config.json\n\+\+\+ b\/config.json\n@@ /m);
  assert.match(r.stdout, /^-  "max_position_embeddings": 256,$/m);
  assert.match(r.stdout, /^\+  "max_position_embeddings": 1024,$/m);
  assert.match(r.stdout, /^\+    "rope_type": "yarn",$/m);
  assert.deepEqual(readdirSync(dir), []);
});

test("flags prints llama.cpp, vLLM and SGLang equivalents", () => {
  const out = join(tmp(), "m");
  assert.equal(runCli(["patch", tiny, "--factor", "4", "--out", out]).code, 0);
  const r = runCli(["flags", out, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.match(j.llamacpp.command, /--rope-scaling yarn --rope-scale 4 --yarn-orig-ctx 256/);
  assert.match(j.llamacpp.command, /--override-kv llama\.context_length=int:1024/);
  assert.match(j.vllm.command, /--hf-overrides '\{"rope_parameters": \{"rope_type": "yarn", "factor": 4\.0, "original_max_position_embeddings": 256/);
  assert.match(j.vllm.command, /--max-model-len 1024/);
  assert.equal(j.sglang.env.SGLANG_ALLOW_OVERWRITE_LONGER_CONTEXT_LEN, "1");
});

test("the bundled examples all inspect; DeepSeek shows its softmax scale", () => {
  // examples/github and examples/kubernetes hold CI manifests for `batch` (test/batch-github.test.ts, batch-k8s.test.ts).
  const ciExamples = new Set(["github", "kubernetes"]);
  for (const ex of readdirSync(join(repoRoot, "examples")).filter((e) => !ciExamples.has(e))) {
    const r = runCli(["inspect", join(repoRoot, "examples", ex), "--json"]);
    assert.equal(r.code, 0, `${ex}: ${r.stderr}`);
  }
  const ds = JSON.parse(runCli(["inspect", join(repoRoot, "examples/deepseek-v3"), "--json"]).stdout);
  assert.equal(ds.rope.attentionFactor, 1);
  assert.ok(Math.abs(ds.rope.softmaxScaleFactor - (0.1 * Math.log(40) + 1) ** 2) < 1e-12);
});

/** A model directory made for one bad-input case. */
function modelWith(config: string | null, extra: Record<string, string> = {}): string {
  const dir = tmp();
  const m = join(dir, "model");
  mkdirSync(m);
  if (config !== null) writeFileSync(join(m, "config.json"), config);
  for (const [k, v] of Object.entries(extra)) writeFileSync(join(m, k), v);
  return m;
}

const goodConfig = readFileSync(join(tiny, "config.json"), "utf8");

const badCases: { name: string; model: () => string; args: string[]; message: RegExp; code: number }[] = [
  { name: "missing config.json", model: () => modelWith(null), args: ["--factor", "4"], message: /config\.json: not found/, code: 2 },
  { name: "invalid JSON", model: () => modelWith("{ \"hidden_size\": 8,"), args: ["--factor", "4"], message: /config\.json: invalid JSON at line 1/, code: 2 },
  { name: "no RoPE fields", model: () => modelWith(JSON.stringify({ model_type: "bert", hidden_size: 768, num_attention_heads: 12, max_position_embeddings: 512 })), args: ["--factor", "4"], message: /no RoPE fields/, code: 2 },
  { name: "unknown rope type", model: () => modelWith(goodConfig.replace('"rope_type": "default"', '"rope_type": "magic"')), args: ["--factor", "4"], message: /unknown rope type "magic"/, code: 2 },
  { name: "factor 1", model: () => modelWith(goodConfig), args: ["--factor", "1"], message: /factor must be greater than 1, got 1/, code: 3 },
  { name: "factor not a number", model: () => modelWith(goodConfig), args: ["--factor", "four"], message: /factor must be a number, got four/, code: 3 },
  { name: "beta_fast ≤ beta_slow", model: () => modelWith(goodConfig), args: ["--factor", "4", "--beta-fast", "1", "--beta-slow", "2"], message: /beta_fast \(1\) must be greater than beta_slow \(2\)/, code: 3 },
  { name: "original context ≥ target", model: () => modelWith(goodConfig), args: ["--context", "256"], message: /target context 256 is not above the original context 256/, code: 3 },
  { name: "already scaled without --force", model: () => modelWith(goodConfig.replace('"rope_type": "default"', '"rope_type": "linear", "factor": 2.0')), args: ["--factor", "4"], message: /already has linear scaling.*--force/, code: 3 },
];

// The first case runs as a process (its exit status and streams); the others in-process through the same output seam
// (src/cli/main.ts runCli, which test/cli-inprocess.test.ts holds to the spawned CLI's output and exit codes).
async function patchCli(args: string[], spawned: boolean): Promise<CliResult> {
  if (spawned) return runCli(args);
  const b = buffers();
  const code = await runInProcess(args, b.io);
  return { code, stdout: b.out(), stderr: b.err() };
}

badCases.forEach((c, i) => {
  test(`bad input: ${c.name}${i === 0 ? " (a spawned CLI)" : ""}`, async () => {
    const m = c.model();
    const before = treeHash(join(m, ".."));
    const r = await patchCli(["patch", m, ...c.args, "--out", join(m, "..", "out")], i === 0);
    assert.equal(r.code, c.code, `exit code; stderr: ${r.stderr}`);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^yarnify: /);
    assert.match(lines[0], c.message);
    if (c.code === 2) assert.ok(lines[0].includes(m), "names the file");
    assert.equal(r.stdout, "");
    assert.equal(treeHash(join(m, "..")), before, "nothing written, source untouched");
  });
});

test("bad input: output path exists", () => {
  const m = modelWith(goodConfig);
  const out = join(m, "..", "taken");
  mkdirSync(out);
  const r = runCli(["patch", m, "--factor", "4", "--out", out]);
  assert.equal(r.code, 4);
  assert.match(r.stderr, /^yarnify: .*taken: output path exists; choose another --out, or --overwrite to replace it\n$/);
  assert.deepEqual(readdirSync(out), []);
  // --force re-plans; it does not overwrite.
  assert.equal(runCli(["patch", m, "--factor", "4", "--out", out, "--force"]).code, 4);
  assert.deepEqual(readdirSync(out), []);
});

test("--overwrite (-o for --out) replaces an existing output, never the source or a folder holding it", () => {
  const m = modelWith(goodConfig);
  const out = join(m, "..", "taken");
  mkdirSync(out);
  writeFileSync(join(out, "stale.txt"), "old");
  const r = runCli(["patch", m, "--factor", "4", "-o", out, "--overwrite"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(out).sort(), readdirSync(m).sort(), "the new output, nothing of the old");
  assert.equal(JSON.parse(readFileSync(join(out, "config.json"), "utf8")).rope_parameters.factor, 4);
  assert.ok(!readdirSync(join(m, "..")).some((n) => n.includes(".yarnify-")), "no temporary, lock or old output left");
  const before = treeHash(m);
  for (const target of [m, join(m, "..")]) {
    const refused = runCli(["patch", m, "--factor", "4", "-o", target, "--overwrite"]);
    assert.equal(refused.code, 4, target);
    assert.match(refused.stderr, /the output is the source|the output would contain the source/);
  }
  assert.equal(treeHash(m), before, "source untouched");
  const help = runCli(["patch", "--help"]);
  assert.match(help.stdout, /--force\s+Re-plan .*overwriting an output needs --overwrite/);
  assert.match(help.stdout, /-o, --out <path>/);
  assert.match(help.stdout, /--pr, --create-pr/);
});

test("bad input: output cannot be written", () => {
  const m = modelWith(goodConfig);
  const r = runCli(["patch", m, "--factor", "4", "--out", join(m, "..", "missing-parent", "out")]);
  assert.equal(r.code, 4);
  assert.match(r.stderr, /^yarnify: .*out: parent directory .* does not exist\n$/);
  if (process.getuid?.() !== 0) {
    const ro = join(m, "..", "ro");
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    const r2 = runCli(["patch", m, "--factor", "4", "--out", join(ro, "out")]);
    assert.equal(r2.code, 4);
  }
  assert.ok(!existsSync(join(m, "..", "missing-parent")));
});

test("bad input: unknown command and unknown option", () => {
  const a = runCli(["frobnicate"]);
  assert.notEqual(a.code, 0);
  assert.match(a.stderr, /^yarnify: unknown command "frobnicate"/);
  const b = runCli(["patch", tiny, "--factr", "4"]);
  assert.notEqual(b.code, 0);
  assert.match(b.stderr, /^yarnify: Unknown option `--factr`/);
});

test("Node's launcher sizes libuv's thread pool before it starts (a thread per core, at least 4), keeping a size set", () => {
  const dir = tmp();
  try {
    // Preloaded into the launcher's process: at exit, the size it ended with and its threads (libuv's among them).
    const probe = join(dir, "probe.cjs");
    writeFileSync(probe, 'process.on("exit", () => console.log(JSON.stringify({ size: process.env.UV_THREADPOOL_SIZE, threads: require("node:fs").readdirSync("/proc/self/task").length })));');
    const run = (size?: string) => {
      const env: Record<string, string | undefined> = { ...process.env, UV_THREADPOOL_SIZE: size };
      if (size === undefined) delete env.UV_THREADPOOL_SIZE;
      const r = spawnSync("node", ["--require", probe, join(repoRoot, "bin/yarnify.cjs"), "inspect", join(tiny, "tiny-llama-f16.gguf"), "--json"], { encoding: "utf8", env });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout.trim().split("\n").pop()!) as { size: string; threads: number };
    };
    const cores = Number(spawnSync("node", ["-p", "require('node:os').availableParallelism()"], { encoding: "utf8" }).stdout);
    const sized = run();
    assert.equal(sized.size, String(Math.max(4, cores)));
    const one = run("1");
    assert.equal(one.size, "1");
    // The pool's threads all start with it: the difference is the launcher's size taking effect.
    assert.equal(sized.threads - one.threads, Math.max(4, cores) - 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`identical output on Node, Bun and Deno (from ${runtimeName()})`, () => {
  const outputs = (["node", "bun", "deno"] as const).map((rt) => runCli(["inspect", join(repoRoot, "examples/qwen2.5-7b-instruct"), "--json"], { runtime: rt }));
  for (const o of outputs) assert.equal(o.code, 0, o.stderr);
  assert.equal(outputs[1].stdout, outputs[0].stdout);
  assert.equal(outputs[2].stdout, outputs[0].stdout);
}, { timeoutMs: 120_000 });

test("patch <hub source> --push through the real CLI process, against the stand-in hub", async () => {
  const { StandInHub } = await import("./support/hub-server.ts");
  const hub = new StandInHub();
  await hub.start();
  try {
    hub.addRepo("org/tiny", { "config.json": goodConfig, "tokenizer_config.json": readFileSync(join(tiny, "tokenizer_config.json"), "utf8") });
    const cache = tmp();
    const r = await runCliAsync(["patch", "org/tiny", "--factor", "4", "--push", "me/tiny-1k", "--hub-url", hub.url, "--cache-dir", cache, "--token", "hf_test_writer", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!(r.stdout + r.stderr).includes("hf_test_writer"), "token never printed");
    const j = JSON.parse(r.stdout);
    assert.equal(j.repo, "me/tiny-1k");
    assert.equal(hub.commits.length, 1);
    const paths = hub.commits[0].operations.map((o) => o.path).sort();
    assert.deepEqual(paths, ["README.md", "config.json", "tokenizer_config.json"]);
    const insp = await runCliAsync(["inspect", "me/tiny-1k", "--hub-url", hub.url, "--cache-dir", cache, "--json"]);
    assert.equal(insp.code, 0, insp.stderr);
    const ij = JSON.parse(insp.stdout);
    assert.deepEqual([ij.rope.method, ij.rope.factor, ij.rope.originalContext, ij.rope.context], ["yarn", 4, 256, 1024]);
  } finally {
    await hub.close();
  }
}, { timeoutMs: 120_000 });

test("patch <hub GGUF> --pr through the CLI: the new header over the original file, tensor data unchanged", async () => {
  const { StandInHub } = await import("./support/hub-server.ts");
  const { readGgufHeader } = await import("../converters/gguf/read.ts");
  const { openLocalSource } = await import("../converters/gguf/source.ts");
  const hub = new StandInHub();
  await hub.start();
  try {
    const src = readFileSync(sharedPath("models/tiny-llama-py/tiny-llama-f16.gguf"));
    hub.addRepo("org/tiny-GGUF", { "tiny-llama-f16.gguf": new Uint8Array(src) });
    const r = await runCliAsync(["patch", "org/tiny-GGUF/tiny-llama-f16.gguf", "--factor", "4", "--pr", "--hub-url", hub.url, "--cache-dir", tmp(), "--token", "hf_test_writer", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(hub.commits.length, 1);
    const ref = hub.commits[0].ref;
    const published = hub.file("org/tiny-GGUF", "tiny-llama-f16.gguf", ref);
    assert.ok(published, `published on ${ref}`);
    const dir = tmp();
    const a = join(dir, "a.gguf");
    writeFileSync(a, published!);
    const headerOf = async (path: string) => {
      const source = await openLocalSource(path);
      try {
        return await readGgufHeader(source);
      } finally {
        await source.close();
      }
    };
    const before = await headerOf(sharedPath("models/tiny-llama-py/tiny-llama-f16.gguf"));
    const after = await headerOf(a);
    const m = after.metadata as Record<string, { value: unknown }>;
    assert.equal(m["llama.rope.scaling.type"].value, "yarn");
    assert.equal(m["llama.rope.scaling.factor"].value, 4);
    assert.equal(m["llama.rope.scaling.original_context_length"].value, 256);
    assert.equal(m["llama.context_length"].value, 1024);
    assert.ok(Buffer.from(published!.subarray(after.dataOffset)).equals(src.subarray(before.dataOffset)), "tensor data byte-identical");
  } finally {
    await hub.close();
  }
}, { timeoutMs: 120_000 });

test("eval prints a method × context table, writes the SVG plot, and --json gives the results", () => {
  const dir = tmp();
  const docs = join(dir, "docs.jsonl");
  const text = JSON.parse(readFileSync(sharedPath("data/eval-docs.json"), "utf8")).docs[0].text as string;
  writeFileSync(docs, JSON.stringify({ text }) + "\n");
  const plot = join(dir, "p.svg");
  const r = runCli(["eval", tiny, "--text", docs, "--context", "128,512", "--methods", "none,yarn", "--plot", plot, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.deepEqual(j.results.map((x: { method: string; context: number }) => `${x.method}@${x.context}`).sort(), ["none@128", "none@512", "yarn@128", "yarn@512"]);
  for (const x of j.results) assert.ok(x.perplexity > 1 && x.tokens > 0, JSON.stringify(x));
  const at = (m: string, c: number) => j.results.find((x: { method: string; context: number }) => x.method === m && x.context === c).perplexity;
  assert.equal(at("none", 128), at("yarn", 128), "below the trained length YaRN's factor is 1");
  assert.ok(at("yarn", 512) < at("none", 512), "past the trained length YaRN beats plain RoPE");
  assert.match(readFileSync(plot, "utf8"), /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  const missing = runCli(["eval", tiny]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^yarnify: --text <file> is required/);
  // Without --plot nothing is written: not in the working directory, not named in the output.
  const cwd = tmp();
  const plain = runCli(["eval", tiny, "--text", docs, "--context", "128", "--methods", "none"], { cwd });
  assert.equal(plain.code, 0, plain.stderr);
  assert.deepEqual(readdirSync(cwd), []);
  assert.match(plain.stdout, /device: [^;\n]+\n/);
  assert.ok(!("plot" in JSON.parse(runCli(["eval", tiny, "--text", docs, "--context", "128", "--methods", "none", "--json"], { cwd }).stdout)));
  assert.deepEqual(readdirSync(cwd), []);
}, { timeoutMs: 180_000 });

test("no command: the help (exit 1); --version names yarnify's version and each runtime's own", () => {
  const none = runCli([]);
  assert.equal(none.code, 1);
  assert.match(none.stdout, /Usage:\n {2}\$ yarnify[\s\S]*Commands:\n {2}inspect <model>/);
  const own = (name: string) => (JSON.parse(readFileSync(join(repoRoot, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
  const versions: Record<RuntimeName, string> = {
    node: spawnSync("node", ["-p", "process.versions.node"], { encoding: "utf8" }).stdout.trim(),
    bun: own("bun"),
    deno: own("deno"),
  };
  for (const runtime of ["node", "bun", "deno"] as const) {
    const r = runCli(["--version"], { runtime });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `yarnify ${VERSION} (${runtime} ${versions[runtime]})\n`);
  }
});

test("--json: an error is one JSON object on stdout, nothing on stderr, the same exit code", () => {
  const dir = tmp();
  const missing = join(dir, "nothing-here");
  const r = runCli(["inspect", missing, "--json"]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, "");
  assert.deepEqual(JSON.parse(r.stdout), { error: { code: 2, file: missing, problem: "no such file or directory" } });
  const option = runCli(["inspect", missing, "--json", "--bogus"]);
  assert.equal(option.code, 1);
  assert.deepEqual(JSON.parse(option.stdout), { error: { code: 1, file: null, problem: "Unknown option `--bogus`" } });
  const text = runCli(["inspect", missing]);
  assert.equal(text.stdout, "");
  assert.equal(text.stderr, `yarnify: ${missing}: no such file or directory\n`);
});

test("help: a --no-* flag says what it does, with no \"(default: true)\"", () => {
  const help = runCli(["patch", "--help"]).stdout;
  for (const flag of ["--no-truncate", "--no-verify"]) {
    const line = help.split("\n").find((l) => l.trimStart().startsWith(flag));
    assert.ok(line, flag);
    assert.doesNotMatch(line, /default/, line);
  }
  assert.doesNotMatch(runCli(["validate", "--help"]).stdout, /--no-gpu.*default/);
});

if (runtimeName() === "node") {
  test("npx yarnify in the checkout: no npm warning about the project's config", () => {
    const r = spawnSync("npm", ["exec", "--no", "--", "yarnify", "--version"], { cwd: repoRoot, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^yarnify /);
    assert.doesNotMatch(r.stderr, /npm warn/i);
  });
}
