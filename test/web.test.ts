// The page in a real browser: Debian's headless Chromium, driven over the DevTools protocol, loads web/dist from the
// yarnify web server, which also serves the tiny model with Range support. The automation contract must give the CLI's
// own answers (inspect --json's RoPE reading, patch's plan and header byte for byte) and the fused kernel check must pass
// on the browser's WebGPU (SwiftShader in headless Chromium without a GPU).
// The manual path (file picker, factor, download) must save the CLI's bytes; publishing from the page (token, repo,
// the publish button) must put the CLI's bytes on the stand-in hub as a header edit over xet; bad input must end in
// a message on the page. Under Node only: one browser run answers for every runtime, and the suite's time is short.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runtimeName } from "../src/core/runtime.ts";
import { inspect } from "../src/inspect.ts";
import { patch } from "../src/patch.ts";
import { startWebServer, type WebServer } from "../src/web-server.ts";
import { readGgufHeader } from "../converters/gguf/read.ts";
import { openLocalSource } from "../converters/gguf/source.ts";
import { type Browser, findChromium, launchChromium } from "./support/chromium.ts";
import { repoRoot, spawnCli } from "./support/cli-run.ts";
import { test } from "./support/harness.ts";
import { sharedPath } from "./support/shared.ts";
import { withStandInHub } from "./support/hub-server.ts";

const MODEL_DIR = sharedPath("models/tiny-llama-py");
const PAGE = join(repoRoot, "web", "dist");
const chromium = findChromium();

/** The page's automation result, parsed; fails with the page's own message when it wrote an error. */
interface ContractResult {
  inspect: { rope: unknown; engines: unknown; format: string };
  plan: unknown;
  ggufHeaderSha256?: string;
  kernel: { status: string; detail: string };
  error?: { file: string | null; problem: string };
}

async function withPage<T>(use: (browser: Browser, server: WebServer, dir: string) => Promise<T>): Promise<T> {
  assert.ok(existsSync(join(PAGE, "index.html")), "web/dist is not built: npm run build builds it (npm run build:web alone)");
  const dir = mkdtempSync(join(tmpdir(), "yarnify-web-"));
  const server = await startWebServer({ dirs: { "/": PAGE, "/model/": MODEL_DIR, "/tmp/": dir } });
  const browser = await launchChromium(chromium!);
  try {
    return await use(browser, server, dir);
  } finally {
    await browser.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const resultText = `document.getElementById("yarnify-result").textContent`;
const errorText = `document.getElementById("error").classList.contains("shown") && document.getElementById("error").textContent`;

/** The CLI's patch of the tiny model (factor 4, the library call `patch --json` prints) and its header's bytes. */
async function cliPatch(model: string, dir: string): Promise<{ plan: unknown; bytes: Uint8Array; header: Uint8Array }> {
  const out = join(dir, `cli-${model}`);
  const r = await patch({ model: join(MODEL_DIR, model), factor: 4, out });
  const source = await openLocalSource(out);
  try {
    const h = await readGgufHeader(source);
    const bytes = new Uint8Array(readFileSync(out));
    return { plan: JSON.parse(JSON.stringify(r.plan)), bytes, header: bytes.subarray(0, h.dataOffset) };
  } finally {
    await source.close();
  }
}

if (runtimeName() === "node" && chromium) {
  test("web: the automation contract on the tiny GGUF over HTTP gives inspect's reading, patch's plan and header, and the kernel check passes", async () => {
    await withPage(async (browser, server, dir) => {
      const url = `${server.url}model/tiny-llama-f32.gguf`;
      const page = await browser.open(`${server.url}index.html?source=${encodeURIComponent(url)}&factor=4&run=1`);
      const r = JSON.parse(await page.waitFor<string>(resultText, "the contract's JSON", 45_000)) as ContractResult;
      assert.equal(r.error, undefined, `the page reported ${JSON.stringify(r.error)}`);
      const cliInspect = JSON.parse(JSON.stringify(await inspect({ model: url })));
      assert.equal(r.inspect.format, "gguf");
      assert.deepEqual(r.inspect.rope, cliInspect.rope);
      assert.deepEqual(r.inspect.engines, cliInspect.engines);
      const cli = await cliPatch("tiny-llama-f32.gguf", dir);
      assert.deepEqual(r.plan, cli.plan);
      assert.equal(r.ggufHeaderSha256, createHash("sha256").update(cli.header).digest("hex"));
      assert.equal(r.kernel.status, "pass", r.kernel.detail);
      assert.match(r.kernel.detail, /fused WebGPU attention vs float64 reference at 256 positions up to 1023/);
      // A config.json: the same reading and plan as the CLI's from the same file, and no GGUF header.
      const config = await browser.open(`${server.url}index.html?source=${encodeURIComponent(`${server.url}model/config.json`)}&context=1024&run=1&kernel=0`);
      const c = JSON.parse(await config.waitFor<string>(resultText, "the contract's JSON for config.json")) as ContractResult;
      const cliConfig = JSON.parse(JSON.stringify(await inspect({ model: join(MODEL_DIR, "config.json") })));
      assert.equal(c.inspect.format, "hf");
      assert.deepEqual([c.inspect.rope, c.inspect.engines], [cliConfig.rope, cliConfig.engines]);
      const dry = await patch({ model: MODEL_DIR, context: 1024, dryRun: true, out: join(dir, "hf") });
      assert.deepEqual(c.plan, JSON.parse(JSON.stringify(dry.plan)));
      assert.equal(c.ggufHeaderSha256, undefined);
    });
  }, { timeoutMs: 60_000 });

  test("web: open a GGUF with the file picker, set the factor, download: the CLI's patched bytes", async () => {
    await withPage(async (browser, server, dir) => {
      const page = await browser.open(`${server.url}index.html`);
      const downloads = join(dir, "downloads");
      await browser.send("Browser.setDownloadBehavior", { behavior: "allow", downloadPath: downloads, eventsEnabled: true });
      const { root } = (await page.send("DOM.getDocument")) as { root: { nodeId: number } };
      const { nodeId } = (await page.send("DOM.querySelector", { nodeId: root.nodeId, selector: "#file" })) as { nodeId: number };
      await page.send("DOM.setFileInputFiles", { nodeId, files: [join(MODEL_DIR, "tiny-llama-f16.gguf")] });
      await page.waitFor(`!document.getElementById("download").disabled`, "the plan after opening the file");
      await page.evaluate(`(() => { const f = document.getElementById("factor"); f.value = "8"; f.dispatchEvent(new Event("input")); })()`);
      const name = await page.waitFor<string>(`document.getElementById("plan").textContent.includes("2048 tokens") && document.getElementById("plan").textContent.match(/tiny-llama-f16-yarn-2048\\.gguf/)?.[0]`, "the plan for ×8");
      await page.evaluate(`document.getElementById("download").click()`);
      const until = Date.now() + 30_000;
      while (!browser.events.some((e) => e.method === "Browser.downloadProgress" && e.params?.["state"] === "completed")) {
        const failed = browser.events.find((e) => e.method === "Browser.downloadProgress" && e.params?.["state"] === "canceled");
        assert.equal(failed, undefined, "the download was cancelled");
        assert.ok(Date.now() < until, `no completed download within 30 s (page error: ${await page.evaluate(errorText)})`);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(readdirSync(downloads), [name]);
      const out = join(dir, "cli-f16.gguf");
      await patch({ model: join(MODEL_DIR, "tiny-llama-f16.gguf"), factor: 8, out });
      const got = readFileSync(join(downloads, name));
      assert.equal(got.length, readFileSync(out).length);
      assert.ok(got.equals(readFileSync(out)), "the downloaded file differs from the CLI's patch");
    });
  }, { timeoutMs: 60_000 });

  test("web: publish from the page: a GGUF from disk reaches the stand-in hub as a header edit over xet, the CLI's bytes; a config.json as a pull request", async () => {
    await withStandInHub(async (hub) => {
      await withPage(async (browser, server, dir) => {
        const gguf = join(MODEL_DIR, "tiny-llama-f16.gguf");
        const original = readFileSync(gguf);
        // The original is on the hub (its chunks in the CAS), as when a person patches a model they found there.
        hub.addRepo("org/tiny-GGUF", { "tiny-llama-f16.gguf": original });
        hub.addRepo("me/tiny", { "config.json": readFileSync(join(MODEL_DIR, "config.json")) });
        const publishFrom = async (file: string, fields: Record<string, string>, pr: boolean) => {
          const page = await browser.open(`${server.url}index.html`);
          const { root } = (await page.send("DOM.getDocument")) as { root: { nodeId: number } };
          const { nodeId } = (await page.send("DOM.querySelector", { nodeId: root.nodeId, selector: "#file" })) as { nodeId: number };
          await page.send("DOM.setFileInputFiles", { nodeId, files: [file] });
          await page.waitFor(`!document.getElementById("publish").disabled`, "the plan after opening the file");
          const set = Object.entries({ ...fields, token: "hf_test_writer", hub: hub.url }).map(([id, v]) => `document.getElementById(${JSON.stringify(id)}).value = ${JSON.stringify(v)};`);
          await page.evaluate(`(() => { ${set.join(" ")} document.getElementById("pr").checked = ${pr}; document.getElementById("publish").click(); })()`);
          return page.waitFor<string>(`document.getElementById("publish-url")?.href || (${errorText} && "error: " + ${errorText})`, "the published commit's URL", 45_000);
        };
        const url = await publishFrom(gguf, { repo: "me/tiny-yarn-GGUF" }, false);
        assert.doesNotMatch(url, /^error/, url);
        const cli = join(dir, "cli-f16-x4.gguf");
        await patch({ model: gguf, factor: 4, out: cli });
        const stored = hub.file("me/tiny-yarn-GGUF", "tiny-llama-f16.gguf");
        assert.ok(stored && Buffer.from(stored).equals(readFileSync(cli)), "the published file differs from the CLI's patch");
        const xorbs = hub.cas!.uploads.filter((u) => u.kind === "xorb");
        const unpacked = xorbs.reduce((n, u) => n + (u.unpackedBytes ?? 0), 0);
        assert.ok(unpacked > 0 && unpacked <= 256 * 1024, `${unpacked} bytes of chunks uploaded for a header edit of a ${original.length}-byte file`);
        assert.equal(hub.lfsUploads.length, 0, "nothing went through plain LFS");
        const commit = hub.commits.at(-1)!;
        assert.equal(commit.title, "yarnify: yarn x4 RoPE scaling (256 -> 1024 tokens)");
        assert.match(commit.description, /Header only; tensor data unchanged\./);
        // A config.json, as a pull request on its repo: the CLI's file.
        const prUrl = await publishFrom(join(MODEL_DIR, "config.json"), { repo: "me/tiny" }, true);
        assert.match(prUrl, /\/me\/tiny\/discussions\/1$/);
        const dry = await patch({ model: MODEL_DIR, factor: 4, out: join(dir, "hf") });
        assert.equal(new TextDecoder().decode(hub.file("me/tiny", "config.json", "refs/pr/1")), readFileSync(join(dry.out, "config.json"), "utf8"));
      });
    }, { xet: true, cors: true });
  }, { timeoutMs: 90_000 });

  test("web: bad input ends in a message on the page, never a blank page or a download", async () => {
    await withPage(async (browser, server, dir) => {
      writeFileSync(join(dir, "config.json"), '{"model_type": "llama", "max_position_embeddings": 4096,');
      const cases: Array<[string, RegExp]> = [
        [`${server.url}tmp/config.json`, /config\.json: .*JSON/i],
        [`${server.url}model/missing.gguf`, /missing\.gguf: HTTP 404/],
        [`${server.url}model/README.md`, /README\.md: /],
      ];
      for (const [source, message] of cases) {
        const page = await browser.open(`${server.url}index.html?source=${encodeURIComponent(source)}&factor=4&run=1`);
        const r = JSON.parse(await page.waitFor<string>(resultText, `the contract's answer for ${source}`)) as ContractResult;
        assert.match(r.error?.problem ?? "", message, JSON.stringify(r));
        assert.match(await page.evaluate<string>(errorText), message);
        assert.equal(await page.evaluate<boolean>(`document.getElementById("download").disabled`), true);
      }
      // A factor that does not extend the model: the page says so and offers nothing to save.
      const page = await browser.open(`${server.url}index.html?source=${encodeURIComponent(`${server.url}model/tiny-llama-f16.gguf`)}`);
      await page.waitFor(`!document.getElementById("download").disabled`, "the first plan");
      await page.evaluate(`(() => { const f = document.getElementById("factor"); f.value = "0.5"; f.dispatchEvent(new Event("input")); })()`);
      assert.match(await page.waitFor<string>(errorText, "the message for factor 0.5"), /factor must be greater than 1/);
      assert.equal(await page.evaluate<boolean>(`document.getElementById("download").disabled`), true);
    });
  }, { timeoutMs: 60_000 });
}

if (runtimeName() === "node") {
  test("web: yarnify web --port 0 serves the page on 127.0.0.1 with byte ranges, nothing outside it, until stopped", async () => {
    const child = spawnCli(["web", "--port", "0"]);
    const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (d) => {
          out += d;
          const m = /^yarnify web: (http:\/\/127\.0\.0\.1:\d+\/) /m.exec(out);
          if (m) resolve(m[1]);
        });
        child.on("close", () => reject(new Error(`yarnify web ended before printing its URL: ${out}`)));
      });
      const page = await fetch(url);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /id="yarnify-result"/);
      const range = await fetch(`${url}index.html`, { headers: { Range: "bytes=2-5" } });
      assert.equal(range.status, 206);
      assert.equal(await range.text(), "doct"); // "<!doctype html>"
      assert.match(range.headers.get("content-range") ?? "", /^bytes 2-5\/\d+$/);
      assert.equal((await fetch(`${url}%2e%2e/package.json`)).status, 404);
      assert.equal((await fetch(`${url}index.html`, { headers: { Range: "bytes=999999999-" } })).status, 416);
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await exited, 143, "SIGTERM ends it with 128 + 15");
  }, { timeoutMs: 30_000 });
}

if (runtimeName() !== "node" || !chromium) {
  console.log(`     web tests not registered: ${runtimeName() !== "node" ? `they run under Node's run of the suite (this is ${runtimeName()})` : "no chromium found (.ci/run installs Debian's; $CHROMIUM names another)"}`);
}
