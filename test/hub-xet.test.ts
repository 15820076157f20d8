// The xet transfer against the stand-in CAS (xet-cas.ts): a GGUF header edit uploads only the chunks that hold
// the new header, to its own repo and (through global dedup) to a new one; unchanged weights are not uploaded
// again; and the file the CAS rebuilds from what arrived is byte for byte the one the client meant.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "./support/harness.ts";
import { StandInHub, withStandInHub } from "./support/hub-server.ts";
import { sharedPath } from "./support/shared.ts";
import { ggufHeaderEdit, hfPublishOperations } from "../src/hub/publish-operations.ts";
import { openHubFile } from "../src/hub/open-hub-file.ts";
import { publish } from "../src/hub/publish.ts";
import { createRetryFetch } from "../src/hub/retry-fetch.ts";
import type { RetryEvent } from "../src/hub/retry-fetch.ts";
import { patchHubSource } from "../src/cli/hub.ts";
import { inspectGguf, patchGguf } from "../converters/gguf/index.ts";
import { plan } from "../src/core/plan.ts";
import { seededRandom } from "../src/core/random.ts";

const TOKEN = "hf_test_writer";
const MAX_CHUNK = 128 * 1024; // the xet chunker's upper bound (2 × its 64 KiB target)
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Incompressible bytes, so every chunk is distinct and a re-upload would show at full size. */
function noise(n: number, seed: number): Uint8Array {
  const r = seededRandom(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 256) | 0;
  return out;
}

function fakeGguf(n: number): Uint8Array {
  const b = noise(n, 7);
  b.set(new TextEncoder().encode("GGUF"), 0);
  return b;
}

const withXetHub = (fn: (hub: StandInHub, common: { hubUrl: string; accessToken: string; fetch: typeof fetch }, dir: string) => Promise<void>) =>
  withStandInHub((hub, dir) => fn(hub, { hubUrl: hub.url, accessToken: TOKEN, fetch: createRetryFetch({ sleep: async () => undefined }) }, dir), { xet: true });

const xorbBytes = (hub: StandInHub) => {
  const xorbs = hub.cas!.uploads.filter((u) => u.kind === "xorb");
  return { sent: xorbs.reduce((n, u) => n + u.bytes, 0), unpacked: xorbs.reduce((n, u) => n + (u.unpackedBytes ?? 0), 0) };
};

test("xet: a GGUF header edit on its own repo uploads only the chunks around the header", async () => {
  await withXetHub(async (hub, common) => {
    const original = fakeGguf(6_000_000);
    hub.addRepo("me/m-GGUF", { "m.gguf": original });
    const header = noise(2080, 3);
    const blob = await openHubFile({ ...common, repo: "me/m-GGUF", path: "m.gguf" });
    await publish({ ...common, repo: "me/m-GGUF", operations: [ggufHeaderEdit({ path: "m.gguf", original: blob, header, replaces: 2048 })], title: "t" });
    const stored = hub.file("me/m-GGUF", "m.gguf")!;
    assert.equal(stored.length, original.length + 32);
    assert.deepEqual(stored.subarray(0, 2080), header);
    assert.equal(sha(stored.subarray(2080)), sha(original.subarray(2048)));
    const { sent, unpacked } = xorbBytes(hub);
    assert.ok(unpacked >= header.length && unpacked <= 2 * MAX_CHUNK, `uploaded ${unpacked} bytes of chunks for a ${header.length}-byte header`);
    assert.ok(sent <= unpacked + 64, "noise does not compress");
    assert.equal(hub.lfsUploads.length, 0, "nothing went through plain LFS");
  });
});

test("xet: the same edit published to a new repo dedups against the original's chunks", async () => {
  await withXetHub(async (hub, common) => {
    const original = fakeGguf(3_000_000);
    hub.addRepo("org/m-GGUF", { "m.gguf": original });
    const blob = await openHubFile({ ...common, repo: "org/m-GGUF", path: "m.gguf" });
    const header = noise(1056, 4);
    await publish({ ...common, repo: "me/m-16k-GGUF", operations: [ggufHeaderEdit({ path: "m.gguf", original: blob, header, replaces: 1024 })], title: "t" });
    const stored = hub.file("me/m-16k-GGUF", "m.gguf")!;
    assert.equal(sha(stored), sha(new Uint8Array([...header, ...original.subarray(1024)])));
    assert.ok(xorbBytes(hub).unpacked <= 2 * MAX_CHUNK);
  });
});

test("xet: unchanged weights pushed to a new repo are not uploaded again", async () => {
  await withXetHub(async (hub, common) => {
    const weights = noise(2_500_000, 5);
    hub.addRepo("org/llama", { "config.json": JSON.stringify({ model_type: "llama" }), "model.safetensors": weights });
    const operations = await hfPublishOperations({ ...common, source: { repo: "org/llama" }, sameRepo: false, changed: [{ path: "config.json", content: "{}" }] });
    await publish({ ...common, repo: "me/llama-x", operations, title: "t" });
    assert.equal(sha(hub.file("me/llama-x", "model.safetensors")!), sha(weights));
    assert.deepEqual(xorbBytes(hub), { sent: 0, unpacked: 0 });
    assert.equal(hub.cas!.uploads.filter((u) => u.kind === "shard").length, 1, "the file is registered by a shard alone");
  });
});

test("xet: a 500 on a xorb upload and a 429 on the shard are retried and reported; the file arrives whole", async () => {
  await withXetHub(async (hub) => {
    const original = fakeGguf(1_000_000);
    hub.addRepo("me/m-GGUF", { "m.gguf": original });
    const xorbFault = hub.fault({ kind: "500", method: "POST", pathIncludes: "/cas/v1/xorbs/" });
    const shardFault = hub.fault({ kind: "429", method: "POST", pathIncludes: "/cas/v1/shards", retryAfterSeconds: 1 });
    const retries: RetryEvent[] = [];
    const common = { hubUrl: hub.url, accessToken: TOKEN, fetch: createRetryFetch({ sleep: async () => undefined, onRetry: (e) => retries.push(e) }) };
    const blob = await openHubFile({ ...common, repo: "me/m-GGUF", path: "m.gguf" });
    const header = noise(600, 6);
    await publish({ ...common, repo: "me/m-GGUF", operations: [ggufHeaderEdit({ path: "m.gguf", original: blob, header, replaces: 512 })], title: "t" });
    assert.deepEqual([xorbFault.hits, shardFault.hits], [1, 1]);
    assert.deepEqual(retries.map((r) => [r.method, r.status, new URL(r.url).pathname.split("/").slice(0, 4).join("/")]), [["POST", 500, "/cas/v1/xorbs"], ["POST", 429, "/cas/v1/shards"]]);
    assert.equal(sha(hub.file("me/m-GGUF", "m.gguf")!), sha(new Uint8Array([...header, ...original.subarray(512)])));
    assert.equal(hub.commits.length, 1);
  });
});

test("xet: a corrupt xorb or a shard naming a missing xorb is refused by the CAS", async () => {
  await withXetHub(async (hub) => {
    const cas = hub.cas!;
    assert.throws(() => cas.putXorb("0".repeat(64), new Uint8Array([0, 10, 0, 0, 1, 20, 0, 0, 1, 2])), /truncated chunk/);
    assert.throws(() => cas.putXorb("0".repeat(64), new Uint8Array([0, 2, 0, 0, 9, 2, 0, 0, 1, 2])), /compression scheme 9/);
    assert.throws(() => cas.putShard(new Uint8Array(300)), /bad magic/);
  });
});

test("yarnify patch org/m-GGUF/file.gguf --factor 4 --pr over xet: the file llama.cpp gets equals a local patch", async () => {
  const source = sharedPath("models/tiny-llama-py/tiny-llama-f16.gguf");
  const original = new Uint8Array(readFileSync(source));
  await withXetHub(async (hub, _common, dir) => {
    hub.addRepo("org/tiny-GGUF", { "tiny.gguf": original });
    const out: string[] = [];
    const io = { stdout: (s: string) => void out.push(s), stderr: () => undefined, isTTY: false, env: { HF_TOKEN: TOKEN, HF_ENDPOINT: hub.url } };
    const code = await patchHubSource("org/tiny-GGUF/tiny.gguf", { factor: 4 }, { pr: true, json: true, cacheDir: join(dir, "cache") }, io);
    assert.equal(code, 0);
    const local = join(dir, "local.gguf");
    await patchGguf({ source, plan: plan((await inspectGguf(source)).spec, { factor: 4 }), out: local });
    const expected = new Uint8Array(readFileSync(local));
    const remote = hub.file("org/tiny-GGUF", "tiny.gguf", "refs/pr/1")!;
    assert.equal(sha(remote), sha(expected));
    const headerBytes = JSON.parse(out.join("")).files[0].headerBytes.after as number;
    const { unpacked } = xorbBytes(hub);
    assert.ok(unpacked <= headerBytes + 2 * MAX_CHUNK, `uploaded ${unpacked} bytes of chunks, header ${headerBytes}, file ${expected.length}`);
    // The original is read whole once (the new sha256 needs it), not once for hashing and again for chunking;
    // the rest is the planning read of the header (256 KiB ranges).
    const downloaded = hub.requests.filter((r) => r.path.includes("/resolve/")).reduce((n, r) => n + r.bytes, 0);
    assert.ok(downloaded <= original.length + 512 * 1024, `downloaded ${downloaded} bytes of a ${original.length}-byte file`);
  });
});
