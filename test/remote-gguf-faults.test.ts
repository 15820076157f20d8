// Issue 16 item 9: a GGUF URL whose server stalls before the headers, stalls or drops part-way through a body. The CLI
// (on the runtime running the tests) gives up after --timeout without progress and two retries, with one line and exit
// 2, leaving nothing at the output; a connection dropped once is resumed with a Range request from the byte it had.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCliAsync } from "./support/cli-run.ts";
import { ggufHeaderBytes, LLAMA_KV, makeGguf, type MakeGgufParams } from "./support/gguf-make.ts";
import { test } from "./support/harness.ts";
import { type RangeFault, type RangeRequest, serveRanges } from "./support/range-server.ts";

const MODEL: MakeGgufParams = { arch: "llama", kv: LLAMA_KV, tensors: [{ name: "w", shape: [256, 1024] }] }; // 1 MiB of tensor data
const BYTES = makeGguf(MODEL);
const DATA_OFFSET = ggufHeaderBytes(MODEL).header.length;
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Runs the CLI against a server that treats each request as `fault` says; the server's requests come back too. */
async function withServer(fault: (r: RangeRequest) => RangeFault, run: (url: string, dir: string) => Promise<void>): Promise<RangeRequest[]> {
  const server = await serveRanges(BYTES, "m.gguf", fault);
  const dir = mkdtempSync(join(tmpdir(), "yarnify-remote-"));
  try {
    await run(server.url, dir);
    return server.requests;
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const dataRequest = (r: RangeRequest) => r.start >= DATA_OFFSET;

test("a GGUF URL whose server never sends headers: inspect gives up after --timeout and two retries, one line, exit 2", async () => {
  const requests = await withServer(() => "stall-headers", async (url) => {
    const started = Date.now();
    const r = await runCliAsync(["inspect", url, "--timeout", "0.3"]);
    const seconds = (Date.now() - started) / 1000;
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, `yarnify: ${url}: no data for 0.3 s (3 attempts; a longer --timeout waits longer for a slow server)\n`);
    assert.ok(seconds < 10, `took ${seconds} s`);
  });
  assert.equal(requests.length, 3);
}, { timeoutMs: 30_000 });

test("a GGUF URL that stalls mid-body: patch asks again from where the data stopped, then exit 2 and nothing written", async () => {
  // The first data request stalls after 64 KiB, the later ones before their headers: progress resets the count of
  // attempts, so only a server that stops sending altogether is given up on.
  let data = 0;
  const requests = await withServer((r) => (!dataRequest(r) ? "serve" : data++ === 0 ? "stall-body" : "stall-headers"), async (url, dir) => {
    const r = await runCliAsync(["patch", url, "--factor", "4", "--timeout", "0.3", "--out", join(dir, "x.gguf")]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^yarnify: http:\/\/127\.0\.0\.1:\d+\/m\.gguf: no data for 0\.3 s \(3 attempts; [^\n]*\)\n$/);
    assert.deepEqual(readdirSync(dir), []);
  });
  // The two retries ask for the bytes after the 64 KiB already received.
  assert.deepEqual(requests.filter(dataRequest).map((r) => r.start - DATA_OFFSET), [0, 65536, 65536]);
}, { timeoutMs: 30_000 });

test("a GGUF URL that drops the connection mid-body: once is resumed to the same bytes as a local patch; always is exit 2", async () => {
  const local = mkdtempSync(join(tmpdir(), "yarnify-remote-local-"));
  try {
    writeFileSync(join(local, "m.gguf"), BYTES);
    const l = await runCliAsync(["patch", join(local, "m.gguf"), "--factor", "4", "--out", join(local, "x.gguf")]);
    assert.equal(l.code, 0, l.stderr);
    const want = sha(readFileSync(join(local, "x.gguf")));
    let drops = 0;
    const once = await withServer((r) => (dataRequest(r) && drops++ === 0 ? "drop-body" : "serve"), async (url, dir) => {
      const r = await runCliAsync(["patch", url, "--factor", "4", "--timeout", "5", "--out", join(dir, "x.gguf")]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(sha(readFileSync(join(dir, "x.gguf"))), want);
      assert.deepEqual(readdirSync(dir), ["x.gguf"]);
    });
    assert.deepEqual(once.filter(dataRequest).map((r) => r.start - DATA_OFFSET), [0, 65536]);
    // Dropped after 64 KiB, then without an answer: only attempts without progress count.
    let data = 0;
    const always = await withServer((r) => (!dataRequest(r) ? "serve" : data++ === 0 ? "drop-body" : "drop"), async (url, dir) => {
      const r = await runCliAsync(["patch", url, "--factor", "4", "--timeout", "5", "--out", join(dir, "x.gguf")]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^yarnify: http:\/\/127\.0\.0\.1:\d+\/m\.gguf: (the connection (dropped|closed)|request failed)[^\n]* \(3 attempts; [^\n]*\)\n$/);
      assert.deepEqual(readdirSync(dir), []);
    });
    assert.deepEqual(always.filter(dataRequest).map((r) => r.start - DATA_OFFSET), [0, 65536, 65536]);
  } finally {
    rmSync(local, { recursive: true, force: true });
  }
}, { timeoutMs: 60_000 });

test("--timeout must be a number of seconds above 0", async () => {
  const r = await runCliAsync(["inspect", "http://127.0.0.1:9/m.gguf", "--timeout", "soon"]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'yarnify: --timeout: "soon" is not a number of seconds above 0\n');
});
