// Pure parts of the hub layer: source syntax, file-name checks, token redaction, Retry-After, settings.
import assert from "node:assert/strict";
import { test } from "./support/harness.ts";
import { formatHubSource, parseHubSource } from "../src/hub/parse-hub-source.ts";
import { assertSafeRepoPath, localPathFor } from "../src/hub/safe-repo-path.ts";
import { describeError, redactSecrets, registerSecret } from "../src/hub/redact.ts";
import { parseRetryAfter } from "../src/hub/retry-fetch.ts";
import { type HubParams, hubJsParams, hubParamsFromOptions, resolveHubParams, splitHubParams } from "../src/hub/hub-params.ts";
import { defaultCacheDir } from "../src/hub/cache-dir.ts";
import { homedir } from "node:os";
import { join } from "node:path";
import { HubSourceError, UnsafeRepoPathError, HubError } from "../src/hub/errors.ts";
import { createProgressWriter } from "../src/hub/progress-text.ts";

test("parseHubSource: repo ids, revisions, files, hf:// URLs", () => {
  assert.deepEqual(parseHubSource("Qwen/Qwen2.5-7B-Instruct"), { repo: "Qwen/Qwen2.5-7B-Instruct" });
  assert.deepEqual(parseHubSource("org/model@v1.0"), { repo: "org/model", revision: "v1.0" });
  assert.deepEqual(parseHubSource("org/model-GGUF/model-Q4_K_M.gguf"), { repo: "org/model-GGUF", path: "model-Q4_K_M.gguf" });
  assert.deepEqual(parseHubSource("hf://org/m@refs%2Fpr%2F3/sub/x.gguf"), { repo: "org/m", revision: "refs/pr/3", path: "sub/x.gguf" });
  assert.deepEqual(parseHubSource("hf://org/m"), { repo: "org/m" });
  assert.equal(formatHubSource({ repo: "org/m", revision: "refs/pr/3", path: "a.gguf" }), "hf://org/m@refs/pr/3/a.gguf");
  assert.equal(formatHubSource({ repo: "org/m", revision: "feature/x" }), "hf://org/m@feature%2Fx");
});

test("parseHubSource: the hub's special refs (refs/pr/N, refs/convert/NAME) written as they are", () => {
  assert.deepEqual(parseHubSource("org/name@refs/pr/12"), { repo: "org/name", revision: "refs/pr/12" });
  assert.deepEqual(parseHubSource("hf://org/name@refs/pr/3/sub/m.gguf"), { repo: "org/name", revision: "refs/pr/3", path: "sub/m.gguf" });
  assert.deepEqual(parseHubSource("org/name-GGUF@refs/pr/1/m-Q4_K_M.gguf"), { repo: "org/name-GGUF", revision: "refs/pr/1", path: "m-Q4_K_M.gguf" });
  assert.deepEqual(parseHubSource("hf://org/data@refs/convert/parquet"), { repo: "org/data", revision: "refs/convert/parquet" });
  // Anything else after "refs" stays a path: a tag or branch named "refs" is legal, refs/pr/x is not a PR.
  assert.deepEqual(parseHubSource("org/name@refs/pr/x.gguf"), { repo: "org/name", revision: "refs", path: "pr/x.gguf" });
  for (const s of ["org/name@refs/pr/12", "hf://org/name@refs/pr/3/sub/m.gguf", "org/m@feature%2Fx/a.gguf"]) {
    assert.deepEqual(parseHubSource(formatHubSource(parseHubSource(s)!)), parseHubSource(s), `round trip ${s}`);
  }
});

test("parseHubSource: local paths are not hub sources, malformed hub sources throw", () => {
  for (const local of ["./model", "../x/y", "/abs/org/name", "~/models/x", "C:\\models\\x", "model"]) {
    assert.equal(parseHubSource(local), undefined, local);
  }
  for (const bad of ["hf://org", "hf://org/../x", "org/na me", "org/model@", "hf://org/m@a..b", "org/m/../../etc/passwd", "hf://org/m//x"]) {
    assert.throws(() => parseHubSource(bad), (e: unknown) => e instanceof HubSourceError || e instanceof UnsafeRepoPathError, bad);
  }
});

test("repo file names are checked before local writes", () => {
  for (const ok of ["config.json", "onnx/model.onnx", "a/b/c.gguf"]) assert.doesNotThrow(() => assertSafeRepoPath(ok, "o/r"));
  for (const bad of ["../x", "a/../../x", "/etc/passwd", "C:/x", "a//b", "./a", "a\\..\\b", "x\0y", ""]) {
    assert.throws(() => assertSafeRepoPath(bad, "o/r"), UnsafeRepoPathError, JSON.stringify(bad));
  }
  assert.match(localPathFor("/tmp/root", "a/b.json", "o/r"), /\/tmp\/root\/a\/b\.json$/);
});

test("tokens are redacted from messages, errors and URLs", () => {
  registerSecret("s3cr3t-custom-token");
  const text = "Authorization: Bearer hf_abcdefghijklmnop; url https://x/y?token=hf_zzzzzzzzzz&a=1; also s3cr3t-custom-token";
  const out = redactSecrets(text);
  assert.ok(!out.includes("hf_abcdefghijklmnop") && !out.includes("hf_zzzzzzzzzz") && !out.includes("s3cr3t-custom-token"), out);
  assert.match(out, /Bearer \*\*\*/);
  const err = new HubError(undefined, "failed with token hf_abcdefghijklmnop");
  assert.ok(!err.message.includes("hf_abc"));
  assert.equal(describeError(new Error("x s3cr3t-custom-token\nsecond line")), "Error: x ***");
});

test("Retry-After: seconds and HTTP dates", () => {
  assert.equal(parseRetryAfter("3"), 3000);
  assert.equal(parseRetryAfter("0.5"), 500);
  assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4_000), 6000);
  assert.equal(parseRetryAfter(null), undefined);
  assert.equal(parseRetryAfter("soon"), undefined);
});

test("settings: option first, then HF_TOKEN / HF_ENDPOINT; cache dir from env", () => {
  const env = { HF_TOKEN: "hf_fromenvtoken1", HF_ENDPOINT: "http://mirror.local/" };
  assert.deepEqual(resolveHubParams({ env }), { env, hubUrl: "http://mirror.local", accessToken: "hf_fromenvtoken1" });
  const p = resolveHubParams({ env, accessToken: "hf_optiontoken12", hubUrl: "http://h" });
  assert.equal(p.accessToken, "hf_optiontoken12");
  assert.equal(p.hubUrl, "http://h");
  assert.equal(resolveHubParams({ env: {} }).hubUrl, "https://huggingface.co");
  assert.equal(resolveHubParams({ env: { HF_TOKEN_PATH: "/nonexistent/token" } }).accessToken, undefined);
  assert.ok(!redactSecrets("x hf_optiontoken12").includes("optiontoken"));
  // huggingface_hub's order: HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, HF_HOME/hub, XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub.
  assert.equal(defaultCacheDir({ HF_HUB_CACHE: "/c", HUGGINGFACE_HUB_CACHE: "/old", HF_HOME: "/h" }), "/c");
  assert.equal(defaultCacheDir({ HUGGINGFACE_HUB_CACHE: "/old", HF_HOME: "/h" }), "/old");
  assert.equal(defaultCacheDir({ HF_HOME: "/h", XDG_CACHE_HOME: "/x" }), "/h/hub");
  assert.equal(defaultCacheDir({ XDG_CACHE_HOME: "/x" }), "/x/huggingface/hub");
  assert.match(defaultCacheDir({}), /\/\.cache\/huggingface\/hub$/);
  assert.equal(defaultCacheDir({ HF_HOME: "~/hf" }), join(homedir(), "hf", "hub"));
});

test("settings: the CLI's from --token/--hub-url or the env; an entry point's split from its other params", () => {
  const env = { HF_TOKEN: "hf_fromenvtoken1", HF_ENDPOINT: "http://mirror.local/" };
  const cli = hubParamsFromOptions({}, { env });
  assert.deepEqual(Object.keys(cli).sort(), ["accessToken", "fetch", "hubUrl"]);
  assert.equal(cli.accessToken, "hf_fromenvtoken1");
  assert.equal(hubParamsFromOptions({ token: "hf_optiontoken12", hubUrl: "http://h" }, { env }).hubUrl, "http://h");
  const ownFetch = (async () => new Response()) as unknown as typeof fetch;
  const { hub, rest } = splitHubParams({ hubUrl: "http://h", fetch: ownFetch, repo: "org/m" });
  assert.deepEqual(rest, { repo: "org/m" });
  assert.equal(hub.fetch, ownFetch);
  const bare: HubParams & { repo: string } = { repo: "org/m" };
  assert.equal(typeof splitHubParams(bare).hub.fetch, "function", "a retrying fetch when the caller gives none");
  assert.deepEqual(hubJsParams({ hubUrl: "http://h", fetch: ownFetch }), { hubUrl: "http://h", fetch: ownFetch });
});

test("progress text: one redrawn line on a TTY, short plain lines otherwise, tokens redacted", () => {
  let tty = "";
  const w = createProgressWriter({ write: (s) => (tty += s), isTTY: true });
  w({ event: "phase", phase: "uploadingLargeFiles" });
  w({ event: "fileProgress", path: "m.gguf", progress: 0.5, state: "uploading" });
  w({ event: "fileProgress", path: "m.gguf", progress: 1, state: "uploading" });
  w.done();
  assert.equal(tty, "uploading files\n\r\x1b[2Kuploading m.gguf: 50%\r\x1b[2Kuploading m.gguf: 100%\n");
  const lines: string[] = [];
  const p = createProgressWriter({ write: (s) => lines.push(s), isTTY: false });
  for (const progress of [0, 0.2, 0.4, 1]) p({ event: "fileProgress", path: "a", progress, state: "hashing" });
  p({ event: "download", path: "config.json", bytes: 10, total: 10, fromCache: false });
  p({ event: "phase", phase: "committing" });
  p({ event: "patched", changed: ["hf_abcdefghijkl"] });
  assert.deepEqual(lines, ["hashing a: 0%\n", "hashing a: 100%\n", "downloading config.json: 0.0 MiB / 0.0 MiB\n", "committing\n", "patched ***\n"]);
});
