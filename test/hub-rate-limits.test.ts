// The hub's limits kept by a batch that publishes: 1000 API requests per 5 minutes shared by every concurrent
// request, 128 commits per hour per repo, a 429's Retry-After (or a spent RateLimit header) pausing every request of
// its kind; a batch over the stand-in hub slows down instead of failing. An injected clock runs hours in no time.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "./support/harness.ts";
import { withStandInHub } from "./support/hub-server.ts";
import { buffers } from "./support/cli-io.ts";
import { TINY_CONFIG } from "./support/batch-fixtures.ts";
import { runCli } from "../src/cli/main.ts";
import { writeFileSync } from "node:fs";
import type { BatchItem } from "../src/batch/manifest.ts";
import { runBatch } from "../src/batch/run-batch.ts";
import { createBatchRunner } from "../src/batch/item-runner.ts";
import { type Clock, createHubRateLimiter, HUB_RATE_LIMITS, type RateLimitWait } from "../src/hub/hub-rate-limiter.ts";
import { createRetryFetch } from "../src/hub/retry-fetch.ts";

const TOKEN = "hf_test_writer";
const HUB = "https://huggingface.co";
const MINUTE = 60_000;

/** Virtual time: a sleep ends at once, moving the clock to when it would have ended. */
function virtualClock(): Clock {
  let t = 0;
  return {
    now: () => t,
    sleep: async (ms) => {
      const until = t + ms;
      await Promise.resolve();
      t = Math.max(t, until);
    },
  };
}

/** No more than `limit` of the sorted times in any window of `windowMs`. */
function withinLimit(times: number[], limit: number, windowMs: number): boolean {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted.every((t, i) => i < limit || t - sorted[i - limit] >= windowMs);
}

test("rate limits: 1000 API requests per 5 minutes, shared by 8 concurrent workers; downloads count apart", async () => {
  const clock = virtualClock();
  const limiter = createHubRateLimiter({ clock });
  const api: number[] = [];
  const downloads: Array<[number, number]> = [];
  await Promise.all(Array.from({ length: 8 }, async (_, w) => {
    for (let i = 0; i < 300; i++) {
      await limiter.acquire("GET", `${HUB}/api/models/org/m${w}/revision/main`);
      api.push(clock.now());
      if (i % 50 === 0) {
        const before = clock.now();
        await limiter.acquire("GET", `${HUB}/org/m${w}/resolve/main/config.json`);
        downloads.push([before, clock.now()]);
      }
    }
  }));
  assert.equal(api.length, 2400);
  assert.ok(withinLimit(api, 1000, 5 * MINUTE), "never more than 1000 in a 5-minute window");
  assert.equal(Math.max(...api), 10 * MINUTE, "2400 requests take two more windows: the batch slows down, it does not fail");
  assert.equal(api.filter((t) => t === 0).length, 1000, "the first window is used in full");
  assert.equal(downloads.length, 48);
  assert.ok(downloads.every(([before, granted]) => granted === before), "a download never waits for the API's window");
  assert.deepEqual(limiter.granted(), { api: 2400, resolvers: 48 });
  const other = createHubRateLimiter({ clock: virtualClock() });
  await other.acquire("PUT", "https://cas-server.xethub.hf.co/v1/xorbs/default/abc");
  assert.deepEqual(other.granted(), {}, "uploads to the CAS are not the hub API's");
});

test("rate limits: 128 commits per hour per repo; another repo's commits go on", async () => {
  const clock = virtualClock();
  const waits: RateLimitWait[] = [];
  const limiter = createHubRateLimiter({ clock, onWait: (e) => waits.push(e) });
  const commitsA: number[] = [];
  const commitsB: number[] = [];
  await Promise.all([
    (async () => {
      for (let i = 0; i < 130; i++) {
        await limiter.acquire("POST", `${HUB}/api/models/me/a/commit/main`);
        commitsA.push(clock.now());
      }
    })(),
    (async () => {
      for (let i = 0; i < 5; i++) {
        await limiter.acquire("POST", `${HUB}/api/datasets/me/b/commit/main`);
        commitsB.push(clock.now());
      }
    })(),
  ]);
  assert.equal(commitsA[127], 0);
  assert.equal(commitsA[128], 60 * MINUTE, "the 129th commit waits for the hour");
  assert.ok(withinLimit(commitsA, HUB_RATE_LIMITS.commitsPerRepo.limit, 60 * MINUTE));
  assert.deepEqual(commitsB, [0, 0, 0, 0, 0]);
  assert.deepEqual(waits[0], { bucket: "commits me/a", waitMs: 60 * MINUTE, reason: "limit" });
  assert.equal(limiter.granted()["api"], 135, "a commit is an API request too");
});

test("rate limits: a 429's Retry-After pauses every request of its kind (past retry-fetch's usual cap); a spent RateLimit header pauses its bucket", async () => {
  const clock = virtualClock();
  const limiter = createHubRateLimiter({ clock });
  let refused = false;
  const sent: Array<[string, number]> = [];
  const base = (async (input: RequestInfo | URL) => {
    const url = String(input);
    sent.push([url.replace(HUB, ""), clock.now()]);
    if (url.includes("/me/a/commit/") && !refused) {
      refused = true;
      return new Response("{}", { status: 429, headers: { "Retry-After": "2580" } });
    }
    if (url.endsWith("/api/whoami-v2")) return new Response("{}", { status: 200, headers: { RateLimit: '"api";r=0;t=55' } });
    return new Response("{}", { status: 200 });
  }) as typeof fetch;
  const fetch = createRetryFetch({ fetch: base, limiter, maxRetryAfterMs: 61 * MINUTE, sleep: clock.sleep, random: () => 1 });
  await fetch(`${HUB}/api/models/me/a/commit/main`, { method: "POST", body: "{}" });
  assert.deepEqual(sent.map(([u, t]) => [u, t]), [["/api/models/me/a/commit/main", 0], ["/api/models/me/a/commit/main", 2_580_000]]);
  // The pause holds for the repo's other commits until then, not for other repos or other requests.
  await Promise.all([fetch(`${HUB}/api/models/me/b/commit/main`, { method: "POST" }), fetch(`${HUB}/api/models/me/c`)]);
  assert.deepEqual(sent.slice(2).map(([, t]) => t), [2_580_000, 2_580_000]);
  // The hub says the API budget is spent for 55 s: the next API request waits, downloads do not.
  await fetch(`${HUB}/api/whoami-v2`);
  const at = clock.now();
  await fetch(`${HUB}/org/m/resolve/main/config.json`);
  await fetch(`${HUB}/api/models/org/m`);
  assert.deepEqual(sent.slice(-2).map(([, t]) => t - at), [0, 55_000]);
  // Without the limiter's allowance (retry-fetch's default cap of 120 s) the same 429 fails the request.
  refused = false;
  await assert.rejects(createRetryFetch({ fetch: base, sleep: clock.sleep })(`${HUB}/api/models/me/a/commit/main`, { method: "POST" }), /hub asked to retry after 2580 s/);
});

test("rate limits: a batch publishing to the stand-in hub keeps 2 commits an hour to one repo and rides out a 429 of 50 minutes", async () => {
  await withStandInHub(async (hub, dir) => {
    hub.addRepo("org/a", { "config.json": TINY_CONFIG });
    const clock = virtualClock();
    const limiter = createHubRateLimiter({ clock, limits: { commitsPerRepo: { limit: 2, windowMs: 60 * MINUTE } } });
    const commitTimes: number[] = [];
    const timed = (async (input: RequestInfo | URL, init?: RequestInit) => {
      if (String(input).includes("/commit/")) commitTimes.push(clock.now());
      return globalThis.fetch(input, init);
    }) as typeof fetch;
    // Five versions of one model, each on a branch of one repo; the third commit is refused for 50 minutes.
    const fault = hub.fault({ kind: "429", method: "POST", pathIncludes: "/api/models/me/all/commit/", times: 1, retryAfterSeconds: 3000 });
    hub.addRepo("me/all", { "README.md": "versions" });
    const items: BatchItem[] = [2, 3, 4, 5, 6].map((f) => ({ id: `x${f}`, source: "org/a", factor: f, push: "me/all", branch: `x${f}` }));
    const runItem = createBatchRunner({ hubUrl: hub.url, accessToken: TOKEN, fetch: createRetryFetch({ limiter, maxRetryAfterMs: 61 * MINUTE, sleep: clock.sleep, fetch: timed }), cacheDir: join(dir, "cache") });
    const summary = await runBatch({ items, runItem, concurrency: 3 });
    assert.deepEqual(summary.reports.map((r) => r.status), ["done", "done", "done", "done", "done"], summary.reports.map((r) => r.error).join("; "));
    assert.equal(fault.hits, 1);
    assert.deepEqual(hub.refs("me/all").sort(), ["main", "x2", "x3", "x4", "x5", "x6"]);
    assert.equal(commitTimes.length, 6, "five commits and the one refused");
    assert.ok(withinLimit(commitTimes, 2, 60 * MINUTE), commitTimes.join(", "));
    assert.ok(clock.now() >= 120 * MINUTE, "five commits at two an hour take two hours");
  });
}, { timeoutMs: 60_000 });

test("rate limits: --api-limit and --commit-limit take whole numbers; the CLI's batch waits for the API limit and says so", async () => {
  await withStandInHub(async (hub, dir) => {
    hub.addRepo("org/a", { "config.json": TINY_CONFIG });
    const manifest = join(dir, "m.json");
    writeFileSync(manifest, JSON.stringify([{ id: "a", source: "org/a", factor: 4, push: "me/a-8k" }]));
    for (const [flag, value] of [["--api-limit", "0"], ["--commit-limit", "many"]]) {
      const bad = buffers();
      assert.equal(await runCli(["batch", manifest, flag, value], bad.io), 1);
      assert.equal(bad.err(), `yarnify: ${flag}: "${value}" is not a whole number ≥ 1\n`);
    }
    // Three API requests per 5 minutes: the item's fourth waits for the window; Ctrl-C ends the wait, and the item
    // stays undone for the next run.
    const controller = new AbortController();
    const err: string[] = [];
    const stderr = (s: string) => {
      err.push(s);
      if (s.startsWith("waiting")) controller.abort();
    };
    const code = await runCli(["batch", manifest, "--token", TOKEN, "--hub-url", hub.url, "--cache-dir", join(dir, "cache"), "--api-limit", "3"], { stdout: () => undefined, stderr, isTTY: false, abortSignal: controller.signal });
    assert.equal(code, 1, err.join(""));
    assert.match(err.join(""), /waiting (29\d|300)\.\d s: the hub's limit on api\n/);
    assert.match(err.join(""), /^interrupted a: /m);
    const api = hub.requests.filter((r) => r.path.startsWith("/api/"));
    assert.equal(api.length, 3, api.map((r) => `${r.method} ${r.path}`).join(", "));
    assert.equal(hub.commits.length, 0);
  });
}, { timeoutMs: 60_000 });
