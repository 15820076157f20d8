// Reading from the hub through the stand-in: listings, cached downloads, Range reads of a header, private repos,
// retries on 429/500/dropped connections, timeouts, and Ctrl-C leaving no partial file.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { runtimeName } from "../src/core/runtime.ts";
import { test } from "./support/harness.ts";
import { StandInHub, withStandInHub } from "./support/hub-server.ts";
import { listHubFiles } from "../src/hub/list-hub-files.ts";
import { downloadToCache, downloadToCacheIter } from "../src/hub/download-to-cache.ts";
import { blobRangeReader, openHubFile } from "../src/hub/open-hub-file.ts";
import { createRetryFetch } from "../src/hub/retry-fetch.ts";
import type { RetryEvent } from "../src/hub/retry-fetch.ts";
import { HubRetryError, UnsafeRepoPathError } from "../src/hub/errors.ts";

const TOKEN = "hf_test_writer";
const CONFIG = JSON.stringify({ model_type: "llama", max_position_embeddings: 4096, rope_theta: 10000 });

function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) out[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return out;
}


const noSleep = (log: number[]) => async (ms: number) => void log.push(ms);

test("lists a repo and downloads only the named files; a rerun comes from the cache", async () => {
  await withStandInHub(async (hub, dir) => {
    hub.addRepo("org/llama", { "config.json": CONFIG, "model.safetensors": bytes(300_000), "tok/tokenizer.json": "{}" });
    const files = await listHubFiles({ repo: "org/llama", hubUrl: hub.url });
    assert.deepEqual(files.map((f) => [f.path, f.lfs]).sort(), [["config.json", false], ["model.safetensors", true], ["tok/tokenizer.json", false]]);
    const first = await downloadToCache({ repo: "org/llama", paths: ["config.json", "tok/tokenizer.json"], cacheDir: dir, hubUrl: hub.url });
    assert.equal(readFileSync(first[0].localPath, "utf8"), CONFIG);
    assert.equal(readFileSync(first[1].localPath, "utf8"), "{}");
    assert.ok(first.every((f) => !f.fromCache));
    const weightsFetched = hub.requests.filter((r) => r.path.endsWith("model.safetensors") && r.method === "GET");
    assert.equal(weightsFetched.length, 0, "weights must not be downloaded for a config-only step");
    const before = hub.requests.length;
    const again = await downloadToCache({ repo: "org/llama", paths: ["config.json", "tok/tokenizer.json"], cacheDir: dir, hubUrl: hub.url });
    assert.ok(again.every((f) => f.fromCache));
    // One small API call to learn which commit main is; no file is sent again.
    assert.deepEqual(hub.requests.slice(before).map((r) => r.path), ["/api/models/org/llama/revision/main"]);
    // Pinning a commit needs no request at all.
    const pinned = await downloadToCache({ repo: "org/llama", revision: first[0].commit, paths: ["config.json"], cacheDir: dir, hubUrl: hub.url });
    assert.ok(pinned[0].fromCache);
    assert.equal(hub.requests.length, before + 1);
  });
});

test("a GGUF header is read with Range requests, not by downloading the file", async () => {
  await withStandInHub(async (hub) => {
    const gguf = bytes(3_000_000, 7);
    gguf.set(new TextEncoder().encode("GGUF"), 0);
    hub.addRepo("org/m-GGUF", { "m.gguf": gguf });
    const blob = await openHubFile({ repo: "org/m-GGUF", path: "m.gguf", hubUrl: hub.url });
    assert.equal(blob.size, gguf.length);
    const read = blobRangeReader(blob);
    const head = await read(0, 4096);
    assert.deepEqual(head, gguf.subarray(0, 4096));
    assert.deepEqual(await read(2_999_990, 100), gguf.subarray(2_999_990));
    const sent = hub.requests.filter((r) => r.path.endsWith("m.gguf")).reduce((s, r) => s + r.bytes, 0);
    assert.ok(sent < 10_000, `sent ${sent} bytes`);
    assert.ok(hub.requests.filter((r) => r.path.endsWith("m.gguf")).every((r) => r.range !== undefined));
  });
});

test("private repos need the token, and errors never show it", async () => {
  await withStandInHub(async (hub, dir) => {
    hub.addRepo("me/secret", { "config.json": CONFIG }, { private: true });
    await assert.rejects(
      downloadToCache({ repo: "me/secret", paths: ["config.json"], cacheDir: dir, hubUrl: hub.url }),
      (e: Error) => /HTTP 401/.test(e.message),
    );
    const wrong = "hf_wrongtokenvalue123";
    await assert.rejects(
      downloadToCache({ repo: "me/secret", paths: ["config.json"], cacheDir: dir, hubUrl: hub.url, accessToken: wrong }),
      (e: Error) => !e.message.includes(wrong) && !String(e.stack).includes(wrong),
    );
    const ok = await downloadToCache({ repo: "me/secret", paths: ["config.json"], cacheDir: dir, hubUrl: hub.url, accessToken: TOKEN });
    assert.equal(readFileSync(ok[0].localPath, "utf8"), CONFIG);
    assert.ok(hub.requests.filter((r) => r.path.startsWith("/me/secret/resolve")).some((r) => r.authorized));
  });
});

test("hostile file names in a listing are refused before any write", async () => {
  await withStandInHub(async (hub, dir) => {
    hub.addRepo("org/evil", { "config.json": CONFIG, "../../escape.txt": "x" });
    await assert.rejects(listHubFiles({ repo: "org/evil", hubUrl: hub.url }), UnsafeRepoPathError);
    await assert.rejects(downloadToCache({ repo: "org/evil", paths: ["../../escape.txt"], cacheDir: dir, hubUrl: hub.url }), UnsafeRepoPathError);
    assert.equal(existsSync(join(dir, "..", "escape.txt")), false);
  });
});

test("429 with Retry-After and 500s are retried; the wait honours Retry-After", async () => {
  await withStandInHub(async (hub, dir) => {
    hub.addRepo("org/llama", { "config.json": CONFIG });
    const f429 = hub.fault({ kind: "429", pathIncludes: "/resolve/", retryAfterSeconds: 3, times: 1 });
    const f500 = hub.fault({ kind: "500", pathIncludes: "/resolve/", times: 2 });
    const waits: number[] = [];
    const retries: RetryEvent[] = [];
    const fetch = createRetryFetch({ sleep: noSleep(waits), baseDelayMs: 10, onRetry: (e) => retries.push(e) });
    const [f] = await downloadToCache({ repo: "org/llama", paths: ["config.json"], cacheDir: dir, hubUrl: hub.url, fetch });
    assert.equal(readFileSync(f.localPath, "utf8"), CONFIG);
    assert.equal(f429.hits, 1);
    assert.equal(f500.hits, 2);
    assert.deepEqual(retries.map((r) => r.status), [429, 500, 500]);
    assert.ok(waits[0] >= 3000, `first wait ${waits[0]} ms must honour Retry-After: 3`);
    assert.ok(waits[1] < 3000);
  });
});

test("retries are bounded and the failure says so; a hub that does not answer times out", async () => {
  await withStandInHub(async (hub, dir) => {
    hub.addRepo("org/llama", { "config.json": CONFIG });
    hub.fault({ kind: "500", pathIncludes: "/resolve/", times: 10 });
    const fetch = createRetryFetch({ sleep: noSleep([]), retries: 2 });
    await assert.rejects(
      downloadToCache({ repo: "org/llama", paths: ["config.json"], cacheDir: dir, hubUrl: hub.url, fetch }),
      (e: unknown) => e instanceof HubRetryError && e.status === 500 && /after 3 attempts/.test(e.message),
    );
    const long = new StandInHub();
    await long.start();
    try {
      long.addRepo("org/llama", { "config.json": CONFIG });
      long.fault({ kind: "429", pathIncludes: "/resolve/", retryAfterSeconds: 3600 });
      await assert.rejects(
        downloadToCache({ repo: "org/llama", paths: ["config.json"], cacheDir: dir, hubUrl: long.url, fetch: createRetryFetch({ sleep: noSleep([]) }) }),
        (e: unknown) => e instanceof HubRetryError && /retry after 3600 s/.test(e.message),
      );
      long.fault({ kind: "hang", pathIncludes: "/resolve/", times: 1 });
      const t0 = performance.now();
      await assert.rejects(
        downloadToCache({ repo: "org/llama", paths: ["config.json"], cacheDir: dir, hubUrl: long.url, fetch: createRetryFetch({ timeoutMs: 200, retries: 0 }) }),
        (e: unknown) => e instanceof HubRetryError && /no response within 200 ms/.test(e.message),
      );
      assert.ok(performance.now() - t0 < 5000);
    } finally {
      await long.close();
    }
  });
});

test("Ctrl-C during a download leaves no partial file in the cache", async () => {
  await withStandInHub(async (hub, dir) => {
    hub.addRepo("org/big", { "model.safetensors": bytes(6_000_000, 3) });
    const controller = new AbortController();
    const fetch = createRetryFetch({ abortSignal: controller.signal });
    const it = downloadToCacheIter({ repo: "org/big", paths: ["model.safetensors"], cacheDir: dir, hubUrl: hub.url, fetch, abortSignal: controller.signal });
    let events = 0;
    await assert.rejects(
      (async () => {
        for (;;) {
          const r = await it.next();
          if (r.done) break;
          if (++events === 1) controller.abort();
        }
      })(),
    );
    assert.ok(events >= 1);
    // Only the revision's commit, recorded before the download began (refs/main): no blob, no snapshot, no partial.
    assert.deepEqual(filesUnder(dir), ["models--org--big/refs/main"]);
  });
});

/** Every file under `dir`, as "/"-separated paths relative to it. */
function filesUnder(dir: string, prefix = ""): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]))
    .sort();
}

function childCommand(file: string): { cmd: string; args: string[] } {
  const here = fileURLToPath(new URL(".", import.meta.url));
  const rt = runtimeName();
  if (rt === "node") return { cmd: process.execPath, args: [join(here, "fixtures", file + ".js")] };
  if (rt === "bun") return { cmd: process.execPath, args: [join(here, "fixtures", file + ".ts")] };
  return { cmd: process.execPath, args: ["run", "-A", join(here, "fixtures", file + ".ts")] };
}

test("a real SIGINT in the middle of a download leaves nothing in the cache", async () => {
  await withStandInHub(async (hub, dir) => {
    hub.addRepo("org/big", { "model.safetensors": bytes(4_000_000, 8) });
    hub.resolveChunkDelayMs = 20;
    const { cmd, args } = childCommand("download-child");
    const child = spawn(cmd, [...args, hub.url, dir], { stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("child never started receiving")), 30_000);
      child.stdout!.on("data", (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes("receiving")) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill("SIGINT");
    const code = await exited;
    assert.ok(!stdout.includes("finished"), "the download was still running when interrupted");
    assert.ok(stdout.includes("interrupted"), stdout);
    // Deno's child_process reports (null, "SIGINT") for a child that handled SIGINT and exited 130.
    assert.ok(code === 130 || (runtimeName() === "deno" && code === null), `exit code ${code}`);
    // Only the revision's commit, recorded before the download began (refs/main): no blob, no snapshot, no partial.
    assert.deepEqual(filesUnder(dir), ["models--org--big/refs/main"]);
  });
}, { timeoutMs: 60_000 });
