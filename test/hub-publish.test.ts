// Publishing to the stand-in hub: new repos get every file in one commit, a PR or branch on the source gets
// the config only, a GGUF is an edit of its header, faults during upload are retried, an abort leaves no commit.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "./support/harness.ts";
import { StandInHub } from "./support/hub-server.ts";
import { publish, publishIter } from "../src/hub/publish.ts";
import type { PublishEvent } from "../src/hub/publish.ts";
import { ggufHeaderEdit, hfPublishOperations } from "../src/hub/publish-operations.ts";
import { openHubFile } from "../src/hub/open-hub-file.ts";
import { createRetryFetch } from "../src/hub/retry-fetch.ts";
import type { RetryEvent } from "../src/hub/retry-fetch.ts";
import { HubPublishError } from "../src/hub/errors.ts";

const TOKEN = "hf_test_writer";
const CONFIG = JSON.stringify({ model_type: "llama", max_position_embeddings: 4096 });
const PATCHED = JSON.stringify({ model_type: "llama", max_position_embeddings: 16384, rope_scaling: { rope_type: "yarn", factor: 4 } });
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) out[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return out;
}

async function withHub(fn: (hub: StandInHub) => Promise<void>): Promise<void> {
  const hub = new StandInHub();
  await hub.start();
  try {
    await fn(hub);
  } finally {
    await hub.close();
  }
}

const fastRetry = (log?: RetryEvent[]) => createRetryFetch({ sleep: async () => undefined, onRetry: (e) => log?.push(e) });

test("--push to a new private repo: every file, the patched config and the card, in one commit", async () => {
  await withHub(async (hub) => {
    const weights = bytes(1_500_000, 5);
    hub.addRepo("org/llama", { "config.json": CONFIG, "model.safetensors": weights, "tokenizer.json": "{}", "README.md": "# Llama\n" });
    const common = { hubUrl: hub.url, accessToken: TOKEN, fetch: fastRetry() };
    const operations = await hfPublishOperations({ ...common, source: { repo: "org/llama" }, sameRepo: false, changed: [{ path: "config.json", content: PATCHED }], card: "---\nbase_model: org/llama\n---\n# card\n" });
    const events: PublishEvent[] = [];
    const result = await publish({ ...common, repo: "me/llama-16k", operations, title: "yarnify: yarn x4", private: true }, (e) => events.push(e));
    assert.equal(result.createdRepo, true);
    assert.equal(hub.repos.get("me/llama-16k")?.private, true);
    assert.equal(hub.commits.length, 1, "one atomic commit");
    const c = hub.commits[0];
    assert.equal(c.title, "yarnify: yarn x4");
    assert.deepEqual(c.operations.map((o) => o.path).sort(), ["README.md", "config.json", "model.safetensors", "tokenizer.json"]);
    assert.equal(result.commitOid, c.oid);
    assert.equal(result.commitUrl, `${hub.url}/me/llama-16k/commit/${c.oid}`);
    assert.equal(text(hub.file("me/llama-16k", "config.json")), PATCHED);
    assert.equal(sha(hub.file("me/llama-16k", "model.safetensors")!), sha(weights));
    assert.match(text(hub.file("me/llama-16k", "README.md")), /base_model: org\/llama/);
    const phases = events.filter((e) => e.event === "phase").map((e) => (e as { phase: string }).phase);
    assert.deepEqual(phases, ["checkingRepo", "creatingRepo", "preuploading", "uploadingLargeFiles", "committing"]);
    assert.ok(events.some((e) => e.event === "fileProgress" && e.path === "model.safetensors" && e.state === "uploading" && e.progress === 1));
    assert.equal(text(hub.file("org/llama", "config.json")), CONFIG, "source untouched");
  });
});

test("--pr on the source repo changes the config only and opens a pull request", async () => {
  await withHub(async (hub) => {
    hub.addRepo("other/qwen", { "config.json": CONFIG, "model.safetensors": bytes(100_000), "README.md": "# Qwen\n" });
    const common = { hubUrl: hub.url, accessToken: TOKEN, fetch: fastRetry() };
    const operations = await hfPublishOperations({ ...common, source: { repo: "other/qwen" }, sameRepo: true, changed: [{ path: "config.json", content: PATCHED }] });
    const result = await publish({ ...common, repo: "other/qwen", operations, title: "yarnify: yarn x4", pr: true });
    assert.equal(result.pullRequestUrl, `${hub.url}/other/qwen/discussions/1`);
    assert.deepEqual(hub.commits.map((c) => [c.ref, c.operations]), [["refs/pr/1", [{ kind: "file", path: "config.json" }]]]);
    assert.equal(text(hub.file("other/qwen", "config.json", "refs/pr/1")), PATCHED);
    assert.equal(text(hub.file("other/qwen", "config.json")), CONFIG, "main untouched");
    assert.equal(hub.lfsUploads.length, 0, "no weights uploaded");
    await assert.rejects(publish({ ...common, repo: "other/missing", operations, title: "t", pr: true }), HubPublishError);
  });
});

test("--branch creates the branch from main and commits there", async () => {
  await withHub(async (hub) => {
    hub.addRepo("me/llama", { "config.json": CONFIG, "model.safetensors": bytes(50_000) });
    const common = { hubUrl: hub.url, accessToken: TOKEN, fetch: fastRetry() };
    const operations = await hfPublishOperations({ ...common, source: { repo: "me/llama" }, sameRepo: true, changed: [{ path: "config.json", content: PATCHED }] });
    const r = await publish({ ...common, repo: "me/llama", operations, title: "yarnify: yarn x4", branch: "yarn-16k" });
    assert.equal(r.createdBranch, true);
    assert.equal(r.branch, "yarn-16k");
    assert.equal(text(hub.file("me/llama", "config.json", "yarn-16k")), PATCHED);
    assert.ok(hub.file("me/llama", "model.safetensors", "yarn-16k"));
    assert.equal(text(hub.file("me/llama", "config.json")), CONFIG);
    // A second publish to the existing branch reuses it.
    const r2 = await publish({ ...common, repo: "me/llama", operations, title: "again", branch: "yarn-16k" });
    assert.equal(r2.createdBranch, false);
    assert.equal(hub.commits.length, 2);
  });
});

test("GGUF on the same repo: an edit of the header over the original file", async () => {
  await withHub(async (hub) => {
    const original = bytes(2_000_000, 9);
    original.set(new TextEncoder().encode("GGUF"), 0);
    hub.addRepo("me/m-GGUF", { "m.gguf": original });
    const common = { hubUrl: hub.url, accessToken: TOKEN, fetch: fastRetry() };
    const blob = await openHubFile({ ...common, repo: "me/m-GGUF", path: "m.gguf" });
    const header = new Uint8Array(1056).fill(0x47);
    const op = ggufHeaderEdit({ path: "m.gguf", original: blob, header, replaces: 1024 });
    const before = hub.requests.length;
    const r = await publish({ ...common, repo: "me/m-GGUF", operations: [op], title: "yarnify: gguf header" });
    const stored = hub.file("me/m-GGUF", "m.gguf")!;
    assert.equal(stored.length, original.length + 32);
    assert.deepEqual(stored.subarray(0, 1056), header);
    assert.equal(sha(stored.subarray(1056)), sha(original.subarray(1024)), "tensor bytes unchanged");
    assert.equal(hub.commits[0].oid, r.commitOid);
    assert.deepEqual(hub.commits[0].operations, [{ kind: "lfsFile", path: "m.gguf" }]);
    // The original was read with Range requests (never as one whole download).
    const reads = hub.requests.slice(before).filter((q) => q.path.endsWith("/m.gguf") && q.method === "GET");
    assert.ok(reads.length > 0 && reads.every((q) => q.range !== undefined));
    // Without xet (the stand-in offers basic LFS only) the spliced file is uploaded whole: record that fact.
    assert.equal(hub.lfsUploads.filter((u) => u.completed).reduce((s, u) => s + u.bytesReceived, 0), stored.length);
  });
});

test("a dropped connection mid-upload and a 429 on the commit are retried; exactly one commit lands", async () => {
  await withHub(async (hub) => {
    hub.addRepo("org/llama", { "config.json": CONFIG, "model.safetensors": bytes(800_000, 2) });
    const drop = hub.fault({ kind: "drop", method: "PUT", pathIncludes: "/_lfs/upload/", afterBytes: 100_000 });
    const busy = hub.fault({ kind: "429", pathIncludes: "/commit/", retryAfterSeconds: 1 });
    const retries: RetryEvent[] = [];
    const common = { hubUrl: hub.url, accessToken: TOKEN, fetch: fastRetry(retries) };
    const operations = await hfPublishOperations({ ...common, source: { repo: "org/llama" }, sameRepo: false, changed: [{ path: "config.json", content: PATCHED }] });
    await publish({ ...common, repo: "me/llama-x", operations, title: "t" });
    assert.equal(drop.hits, 1);
    assert.equal(busy.hits, 1);
    assert.deepEqual(hub.lfsUploads.map((u) => u.completed), [false, true]);
    assert.ok(hub.lfsUploads[0].bytesReceived >= 100_000 && hub.lfsUploads[0].bytesReceived < 800_000);
    assert.equal(hub.commits.length, 1);
    assert.equal(sha(hub.file("me/llama-x", "model.safetensors")!), sha(hub.file("org/llama", "model.safetensors")!));
    // The second PUT comes from our retry (Node) or from the runtime's own resend on a reset pooled
    // connection (Bun, Deno); the server-side record above shows it either way.
    assert.ok(retries.every((e) => e.method !== "PUT" || e.error !== undefined), JSON.stringify(retries));
    assert.ok(retries.some((e) => e.status === 429 && e.delayMs >= 1000));
    assert.ok(retries.every((e) => !JSON.stringify(e).includes(TOKEN)));
  });
});

test("a pull request is never retried after a server error; a PR whose answer was lost is found, and a rerun opens none", async () => {
  await withHub(async (hub) => {
    hub.addRepo("other/qwen", { "config.json": CONFIG });
    const retries: RetryEvent[] = [];
    const common = { hubUrl: hub.url, accessToken: TOKEN, fetch: fastRetry(retries) };
    const operations = [{ kind: "file" as const, path: "config.json", content: new Blob([PATCHED]) }];
    const params = { ...common, repo: "other/qwen", operations, title: "yarnify: yarn x4", pr: true };
    // A 500 before any work: nothing was opened, and the look at the open pull requests finds none.
    const refused = hub.fault({ kind: "500", pathIncludes: "/commit/", times: 1 });
    await assert.rejects(publish(params), (err: Error) => err instanceof HubPublishError && /HTTP 500/.test(err.message) && !err.message.includes("\n"));
    assert.equal(refused.hits, 1);
    assert.equal(hub.repos.get("other/qwen")!.pullRequests, 0);
    // The hub opens the PR, then the answer is lost (a 500, then a dropped connection): a retry would open a second
    // PR, so none is made; the PR that carries this publish's key is found instead.
    for (const [kind, num] of [["500-after", 1], ["drop-after", 2]] as const) {
      if (num === 2) hub.closePullRequest("other/qwen", 1);
      const lost = hub.fault({ kind, pathIncludes: "/commit/", times: 1 });
      const r = await publish(params);
      assert.equal(lost.hits, 1, kind);
      assert.equal(r.pullRequestUrl, `${hub.url}/other/qwen/discussions/${num}`, kind);
      assert.equal(r.commitOid, hub.commits.at(-1)!.oid, kind);
      assert.equal(r.alreadyPublished, false, kind);
      assert.equal(hub.repos.get("other/qwen")!.pullRequests, num, `${kind}: exactly one pull request more`);
    }
    assert.ok(!retries.some((e) => e.url.includes("/commit/") && e.status !== 429), JSON.stringify(retries));
    assert.match(hub.commits[0].description, /^Yarnify-Publish: [0-9a-f]{16}$/m);
    // A rerun finds the open PR: nothing is committed. A 429 (refused before any work) would be retried.
    const again = await publish(params);
    assert.deepEqual([again.alreadyPublished, again.pullRequestUrl, hub.commits.length], [true, `${hub.url}/other/qwen/discussions/2`, 2]);
    // A closed PR does not count, nor does an open one of another change: a new PR opens, through a 429.
    hub.closePullRequest("other/qwen", 2);
    const busy = hub.fault({ kind: "429", pathIncludes: "/commit/", retryAfterSeconds: 1 });
    const r3 = await publish(params);
    assert.equal(busy.hits, 1);
    assert.deepEqual([r3.alreadyPublished, r3.pullRequestUrl], [false, `${hub.url}/other/qwen/discussions/3`]);
    const other = await publish({ ...params, operations: [{ kind: "file", path: "config.json", content: new Blob([CONFIG]) }] });
    assert.deepEqual([other.alreadyPublished, other.pullRequestUrl], [false, `${hub.url}/other/qwen/discussions/4`]);
  });
});

test("a commit whose answer was lost is found at the branch head: exit as success, one commit; a rerun is a no-op", async () => {
  await withHub(async (hub) => {
    hub.addRepo("org/llama", { "config.json": CONFIG, "model.safetensors": bytes(200_000, 3) });
    const common = { hubUrl: hub.url, accessToken: TOKEN, fetch: fastRetry() };
    const operations = await hfPublishOperations({ ...common, source: { repo: "org/llama" }, sameRepo: false, changed: [{ path: "config.json", content: PATCHED }] });
    const params = { ...common, repo: "me/llama-lost", operations, title: "yarnify: yarn x4", description: "Patched org/llama@0123456789ab" };
    // The commit lands, its answer is a 500; the retry is refused (412: the branch moved) and the head is ours.
    const lost = hub.fault({ kind: "500-after", pathIncludes: "/commit/", times: 1 });
    const r = await publish(params);
    assert.equal(lost.hits, 1);
    assert.equal(hub.commits.length, 1);
    assert.deepEqual([r.commitOid, r.commitUrl, r.alreadyPublished, r.createdRepo], [hub.commits[0].oid, `${hub.url}/me/llama-lost/commit/${hub.commits[0].oid}`, false, true]);
    assert.match(hub.commits[0].description, /^Patched org\/llama@0123456789ab\n\nYarnify-Publish: [0-9a-f]{16}$/);
    // The same publish again: the head carries its key, so no commit request is sent at all.
    const commitRequests = () => hub.requests.filter((q) => q.path.includes("/commit/")).length;
    const before = commitRequests();
    const again = await publish(params);
    assert.deepEqual([again.alreadyPublished, again.commitOid, hub.commits.length, commitRequests()], [true, r.commitOid, 1, before]);
    // A dropped connection after a branch commit: found the same way.
    const dropped = hub.fault({ kind: "drop-after", pathIncludes: "/commit/", times: 1 });
    const onBranch = await publish({ ...params, branch: "long" });
    assert.equal(dropped.hits, 1);
    assert.deepEqual([onBranch.alreadyPublished, onBranch.commitOid, hub.commits.length], [false, hub.commits[1].oid, 2]);
    // Another change (other bytes in a file) is another publish; a failure that is not a lost answer still fails.
    const changed = await publish({ ...params, operations: operations.map((o) => (o.path === "config.json" ? { ...o, content: new Blob([CONFIG]) } : o)) });
    assert.deepEqual([changed.alreadyPublished, hub.commits.length], [false, 3]);
    hub.fault({ kind: "500", pathIncludes: "/commit/", times: 10 });
    await assert.rejects(publish({ ...params, title: "yarnify: yarn x8" }), (e: Error) => e instanceof HubPublishError && /HTTP 500 after 6 attempts/.test(e.message));
    assert.equal(hub.commits.length, 3);
  });
});

test("an abort during upload leaves no commit; errors never show the token", async () => {
  await withHub(async (hub) => {
    hub.addRepo("org/llama", { "config.json": CONFIG, "model.safetensors": bytes(1_000_000, 4) });
    const controller = new AbortController();
    const common = { hubUrl: hub.url, accessToken: TOKEN, fetch: createRetryFetch({ abortSignal: controller.signal }) };
    const operations = await hfPublishOperations({ ...common, source: { repo: "org/llama" }, sameRepo: false, changed: [{ path: "config.json", content: PATCHED }] });
    const it = publishIter({ ...common, repo: "me/llama-abort", operations, title: "t", abortSignal: controller.signal });
    await assert.rejects(
      (async () => {
        for (;;) {
          const r = await it.next();
          if (r.done) break;
          if (r.value.event === "phase" && r.value.phase === "uploadingLargeFiles") controller.abort();
        }
      })(),
    );
    assert.equal(hub.commits.length, 0);
    assert.equal(hub.file("me/llama-abort", "config.json"), undefined);
    // Not our namespace: refused, and the message does not carry the token.
    const secret = "hf_someoneelsestoken99";
    await assert.rejects(
      publish({ hubUrl: hub.url, accessToken: secret, fetch: fastRetry(), repo: "org/llama", operations, title: "t" }),
      (e: Error) => e instanceof HubPublishError && /401|403/.test(e.message) && !e.message.includes(secret),
    );
  });
});

test("big upload bodies are streamed with their exact length (the path for multi-GB files)", async () => {
  await withHub(async (hub) => {
    const original = bytes(700_000, 11);
    hub.addRepo("me/s-GGUF", { "s.gguf": original });
    const common = { hubUrl: hub.url, accessToken: TOKEN, fetch: createRetryFetch({ bufferBodiesBelow: 1000 }) };
    const blob = await openHubFile({ ...common, repo: "me/s-GGUF", path: "s.gguf" });
    const header = new Uint8Array(64).fill(1);
    await publish({ ...common, repo: "me/s-GGUF", operations: [ggufHeaderEdit({ path: "s.gguf", original: blob, header, replaces: 64 })], title: "t" });
    const stored = hub.file("me/s-GGUF", "s.gguf")!;
    assert.deepEqual(stored.subarray(0, 64), header);
    assert.equal(sha(stored.subarray(64)), sha(original.subarray(64)));
    const put = hub.lfsUploads.find((u) => u.completed)!;
    assert.equal(put.size, original.length, "Content-Length announced");
  });
});

test("publishing with the runtime's own fetch (no fetch given) uploads the right bytes on every runtime", async () => {
  await withHub(async (hub) => {
    const original = bytes(300_000, 12);
    hub.addRepo("me/plain-GGUF", { "p.gguf": original });
    const blob = await openHubFile({ hubUrl: hub.url, accessToken: TOKEN, repo: "me/plain-GGUF", path: "p.gguf" });
    const header = new Uint8Array(32).fill(4);
    await publish({ hubUrl: hub.url, accessToken: TOKEN, repo: "me/plain-GGUF", operations: [ggufHeaderEdit({ path: "p.gguf", original: blob, header, replaces: 32 })], title: "t" });
    const stored = hub.file("me/plain-GGUF", "p.gguf")!;
    assert.deepEqual(stored.subarray(0, 32), header);
    assert.equal(sha(stored.subarray(32)), sha(original.subarray(32)));
  });
});

test("multipart LFS upload (big files) with a part dropped mid-way, and a paged listing", async () => {
  const hub = new StandInHub({ multipartChunkSize: 200_000, treePageSize: 2 });
  await hub.start();
  try {
    const weights = bytes(900_000, 13);
    hub.addRepo("org/big", { "config.json": CONFIG, "a.json": "{}", "b.json": "{}", "model.safetensors": weights });
    const drop = hub.fault({ kind: "drop", method: "PUT", pathIncludes: "/_lfs/part/", afterBytes: 50_000 });
    const common = { hubUrl: hub.url, accessToken: TOKEN, fetch: fastRetry() };
    const operations = await hfPublishOperations({ ...common, source: { repo: "org/big" }, sameRepo: false, changed: [{ path: "config.json", content: PATCHED }] });
    assert.deepEqual(operations.map((o) => o.path).sort(), ["a.json", "b.json", "config.json", "model.safetensors"], "all pages of the listing");
    assert.ok(hub.requests.filter((r) => r.path.includes("/tree/")).length >= 2);
    await publish({ ...common, repo: "me/big", operations, title: "t" });
    assert.equal(drop.hits, 1);
    const parts = hub.lfsUploads.filter((u) => u.oid.includes("#"));
    assert.equal(parts.filter((u) => u.completed).length, 5, "900 kB in 200 kB parts");
    assert.equal(parts.filter((u) => !u.completed).length, 1, "the dropped part, sent again");
    assert.equal(sha(hub.file("me/big", "model.safetensors")!), sha(weights));
  } finally {
    await hub.close();
  }
});
