// Batch: manifests (JSON and YAML), bounded concurrency, failures isolated and reported, resume from the state
// file (also after SIGKILL), deterministic shards, and real publishing to the stand-in hub with faults.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "./support/harness.ts";
import { ManifestError, parseManifest, parseShard, shardItems } from "../src/batch/manifest.ts";
import type { BatchItem } from "../src/batch/manifest.ts";
import { batchExitCode, runBatch } from "../src/batch/run-batch.ts";
import { readState, StateFileError } from "../src/batch/state-file.ts";
import { OutputError } from "../src/core/errors.ts";
import { runtimeName } from "../src/core/runtime.ts";
import { StandInHub } from "./support/hub-server.ts";
import { publish } from "../src/hub/publish.ts";
import { hfPublishOperations } from "../src/hub/publish-operations.ts";
import { createRetryFetch } from "../src/hub/retry-fetch.ts";

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "yarnify-batch-"));
}

const manifest = (n: number) => JSON.stringify({ defaults: { factor: 4 }, items: Array.from({ length: n }, (_, i) => ({ id: `m${i}`, source: `org/m${i}` })) });

test("manifest: JSON and YAML, defaults, stable ids, and one-line errors", () => {
  const json = parseManifest(JSON.stringify({ defaults: { factor: 4, private: true }, items: [{ source: "org/a", push: "me/a" }, { source: "org/b", context: 65536, pr: true }] }));
  assert.equal(json.items[0].factor, 4);
  assert.equal(json.items[0].private, true);
  assert.equal(json.items[1].context, 65536);
  assert.equal(json.items[1].factor, undefined, "an item's context replaces the default factor");
  assert.match(json.items[0].id, /^org_a-[0-9a-f]{10}$/);
  assert.equal(parseManifest(JSON.stringify([{ source: "org/a", push: "me/a", factor: 4, private: true }])).items[0].id, json.items[0].id);
  const yaml = parseManifest("defaults:\n  factor: 2\nitems:\n  - source: org/g-GGUF\n    files: [g-Q4.gguf]\n    format: gguf\n    push: me/g\n", "p.yaml");
  assert.deepEqual(yaml.items[0].files, ["g-Q4.gguf"]);
  assert.equal(yaml.items[0].format, "gguf");
  for (const [text, re] of [
    ["{", /not valid JSON/],
    [JSON.stringify({ items: [{ source: "a/b" }] }), /exactly one of "factor" and "context"/],
    [JSON.stringify([{ source: "a/b", factor: 2, colour: "red" }]), /unknown key "colour"/],
    [JSON.stringify([{ source: "a/b", factor: 2, pr: true, push: "me/x" }]), /cannot go with "push"/],
    [JSON.stringify([{ id: "x", source: "a/b", factor: 2 }, { id: "x", source: "a/c", factor: 2 }]), /^m\.json: items 1 \("x"\) and 2 \("x"\) have the same id "x"/],
    [JSON.stringify([{ source: "hf://a", factor: 2 }]), /item 1: "source": hf:\/\/a: expected hf:\/\/org\/name/],
    [JSON.stringify([{ source: "a/b", factor: -1 }]), /positive number/],
  ] as const) {
    assert.throws(() => parseManifest(text, "m.json"), (e: unknown) => e instanceof ManifestError && re.test((e as Error).message) && !(e as Error).message.includes("\n"));
  }
});

test("manifest: items that would overwrite each other's state, report or publish are refused, naming both", () => {
  const refused = (items: unknown[], re: RegExp) =>
    assert.throws(() => parseManifest(JSON.stringify({ defaults: { factor: 2 }, items }), "m.json"), (e: unknown) => e instanceof ManifestError && re.test((e as Error).message), re.source);
  const accepted = (items: unknown[]) => assert.equal(parseManifest(JSON.stringify({ defaults: { factor: 2 }, items }), "m.json").items.length, items.length);
  // Reports are named after ids made safe for file names, where case may be folded.
  refused([{ id: "a/b", source: "o/a" }, { id: "c", source: "o/c" }, { id: "a_b", source: "o/b" }], /^m\.json: items 1 \("a\/b"\) and 3 \("a_b"\) would write the same report a_b\.json/);
  refused([{ id: "Run", source: "o/a" }, { id: "run", source: "o/b" }], /items 1 \("Run"\) and 2 \("run"\) would write the same report run\.json/);
  // One repo and branch: from two sources, or a push and a branch on that repo as source.
  refused([{ id: "a", source: "o/a", push: "me/x" }, { id: "b", source: "o/b", push: "me/x" }], /items 1 \("a"\) and 2 \("b"\) both publish to me\/x \(branch main\): the second would publish over the first/);
  refused([{ id: "a", source: "o/a", push: "me/x", branch: "long" }, { id: "b", source: "me/x", branch: "long" }], /items 1 \("a"\) and 2 \("b"\) both publish to me\/x \(branch long\)/);
  accepted([{ source: "o/a", push: "me/x" }, { source: "o/a", push: "me/x", branch: "long" }, { source: "o/a", factor: 4, push: "me/y" }]);
  // Pull requests on one source changing the same files; other files, or another base branch, are other PRs.
  refused([{ id: "a", source: "o/a", pr: true }, { id: "b", source: "o/a", factor: 4, pr: true }], /items 1 \("a"\) and 2 \("b"\) both open a pull request on o\/a changing the config files/);
  refused([{ id: "g", source: "o/g-GGUF", files: ["q4.gguf", "q8.gguf"], pr: true }, { id: "h", source: "o/g-GGUF/q8.gguf", pr: true }], /items 1 \("g"\) and 2 \("h"\) both open a pull request on o\/g-GGUF changing q8\.gguf/);
  accepted([{ source: "o/g-GGUF/q4.gguf", pr: true }, { source: "o/g-GGUF/q8.gguf", pr: true }, { source: "o/a", pr: true }, { source: "o/a", pr: true, branch: "dev" }]);
});

test("state file: garbage is refused and named with how to start over; a torn last line is not; it must be writable before the first item", async () => {
  const dir = tmp();
  try {
    const items = parseManifest(manifest(3)).items;
    const ran: string[] = [];
    const runItem = async (item: BatchItem) => (ran.push(item.id), null);
    const state = join(dir, "s.jsonl");
    for (const garbage of ["garbage\n", '{"id":"m0","status":"done","finishedAt":"t"}\n{"items":[]}\n', "\u0000\u0001binary", '{"id":"m0","status":"done","finishedAt":"t"}\nnot json\n{"id":"m1","status":"done","finishedAt":"t"}\n']) {
      writeFileSync(state, garbage);
      await assert.rejects(
        runBatch({ items, runItem, statePath: state }),
        (e: unknown) => e instanceof StateFileError && e.exitCode === 1 && (e as Error).message.startsWith(`${state}: not a batch state file (line `) && /delete it to start the batch over, or pass --state <another file>$/.test((e as Error).message),
        JSON.stringify(garbage),
      );
    }
    assert.deepEqual(ran, [], "nothing ran");
    // A kill cut the last append short: that item runs again, the others are skipped.
    writeFileSync(state, '{"id":"m0","status":"done","finishedAt":"t"}\n{"id":"m1","sta');
    const resumed = await runBatch({ items, runItem, statePath: state });
    assert.deepEqual([ran, resumed.skipped], [["m1", "m2"], 1]);
    // A state file that cannot be written is found before any item runs (root writes read-only files: a path
    // below a regular file fails for every user).
    ran.length = 0;
    const unwritable = [join(dir, "s.jsonl", "state.jsonl"), dir];
    if (process.getuid?.() !== 0) {
      chmodSync(state, 0o444);
      unwritable.push(state);
    }
    for (const statePath of unwritable) {
      await assert.rejects(runBatch({ items, runItem, statePath }), (e: unknown) => e instanceof OutputError && e.exitCode === 4 && (e as Error).message.startsWith(`${statePath}: the batch state file cannot be written (`) && (e as Error).message.endsWith("make it writable, or pass --state <another file>"), statePath);
    }
    await assert.rejects(runBatch({ items, runItem, reportDir: join(dir, "s.jsonl", "reports") }), (e: unknown) => e instanceof OutputError && /the report folder cannot be made \(ENOTDIR\)/.test((e as Error).message));
    assert.deepEqual(ran, [], "nothing ran");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("shards: disjoint, cover everything, same on every machine and in any order", () => {
  const items = parseManifest(manifest(40)).items;
  const shards = [1, 2, 3, 4].map((i) => shardItems(items, parseShard(`${i}/4`)).map((x) => x.id));
  assert.deepEqual(shards.flat().sort(), items.map((x) => x.id).sort());
  assert.ok(shards.every((s) => s.length > 0));
  const reversed = [1, 2, 3, 4].map((i) => shardItems([...items].reverse(), { index: i, count: 4 }).map((x) => x.id).sort());
  assert.deepEqual(reversed, shards.map((s) => [...s].sort()));
  assert.deepEqual(shardItems(items, parseShard("1/1")), items);
  for (const bad of ["0/4", "5/4", "2", "a/b", "1/0"]) assert.throws(() => parseShard(bad), ManifestError, bad);
});

test("bounded concurrency, one failure does not stop the others, reports and exit code", async () => {
  const dir = tmp();
  try {
    const items = parseManifest(manifest(6)).items;
    let running = 0;
    let peak = 0;
    const summary = await runBatch({
      items,
      concurrency: 2,
      reportDir: join(dir, "reports"),
      statePath: join(dir, "state.jsonl"),
      runItem: async (item, ctx) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 10));
        running--;
        ctx.log(`patched ${item.source} with token hf_secretsecret123`);
        if (item.id === "m2") throw new Error("hub said no for hf_secretsecret123");
        return { source: item.source };
      },
    });
    assert.equal(peak, 2);
    assert.deepEqual([summary.total, summary.done, summary.failed, summary.skipped], [6, 5, 1, 0]);
    assert.equal(batchExitCode(summary), 1);
    const failed = JSON.parse(readFileSync(join(dir, "reports", "m2.json"), "utf8"));
    assert.equal(failed.status, "failed");
    assert.equal(failed.error, "Error: hub said no for ***");
    const ok = JSON.parse(readFileSync(join(dir, "reports", "m0.json"), "utf8"));
    assert.deepEqual(ok.result, { source: "org/m0" });
    assert.deepEqual(ok.log, ["patched org/m0 with token ***"]);
    const all = JSON.parse(readFileSync(join(dir, "reports", "summary.json"), "utf8"));
    assert.equal(all.failed, 1);
    // Rerun: done items are skipped, the failed one runs again.
    const ran: string[] = [];
    const again = await runBatch({ items, statePath: join(dir, "state.jsonl"), runItem: async (item) => (ran.push(item.id), null) });
    assert.deepEqual(ran, ["m2"]);
    assert.deepEqual([again.done, again.skipped, again.failed], [1, 5, 0]);
    assert.equal(batchExitCode(again), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("Ctrl-C stops the batch; interrupted items stay undone and run next time", async () => {
  const dir = tmp();
  try {
    const items = parseManifest(manifest(5)).items;
    const controller = new AbortController();
    const summary = await runBatch({
      items,
      concurrency: 1,
      statePath: join(dir, "s.jsonl"),
      abortSignal: controller.signal,
      runItem: async (item, ctx) => {
        if (item.id === "m2") {
          controller.abort();
          ctx.signal.throwIfAborted();
        }
        return null;
      },
    });
    assert.deepEqual([summary.done, summary.interrupted], [2, 3]);
    assert.equal(batchExitCode(summary), 1);
    assert.deepEqual([...readState(join(dir, "s.jsonl")).keys()], ["m0", "m1"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function childCommand(): { cmd: string; args: string[] } {
  const here = fileURLToPath(new URL(".", import.meta.url));
  const rt = runtimeName();
  if (rt === "node") return { cmd: process.execPath, args: [join(here, "fixtures", "batch-child.js")] };
  if (rt === "bun") return { cmd: process.execPath, args: [join(here, "fixtures", "batch-child.ts")] };
  return { cmd: process.execPath, args: ["run", "-A", join(here, "fixtures", "batch-child.ts")] };
}

test("a batch killed with SIGKILL resumes where it stopped", async () => {
  const dir = tmp();
  try {
    const state = join(dir, "state.jsonl");
    const log = join(dir, "log.txt");
    const { cmd, args } = childCommand();
    const run = (delay: number) => spawn(cmd, [...args, manifest(6), state, log, String(delay)], { stdio: "ignore" });
    const child = run(150);
    // Kill once two items are recorded as done.
    const t0 = Date.now();
    while (!(existsSync(state) && readState(state).size >= 2)) {
      if (Date.now() - t0 > 30_000) throw new Error("child made no progress");
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const doneBefore = [...readState(state).keys()];
    assert.ok(doneBefore.length >= 2 && doneBefore.length < 6, `done before kill: ${doneBefore}`);
    const second = run(0);
    const code = await new Promise<number | null>((r) => second.once("exit", r));
    assert.equal(code, 0);
    const started = readFileSync(log, "utf8").trim().split("\n");
    const secondRun = started.slice(started.lastIndexOf(doneBefore[doneBefore.length - 1]) + 1);
    // No item recorded as done before the kill ran again; every item is done now.
    assert.ok(doneBefore.every((id) => started.filter((s) => s === id).length === 1), started.join(","));
    assert.deepEqual([...readState(state).keys()].sort(), ["m0", "m1", "m2", "m3", "m4", "m5"]);
    assert.ok(secondRun.length >= 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, { timeoutMs: 60_000 });

test("batch publishing to the stand-in hub: a fault that outlasts the retries is reported, a rerun finishes", async () => {
  const hub = new StandInHub();
  await hub.start();
  const dir = tmp();
  try {
    for (const n of ["a", "b", "c"]) hub.addRepo(`org/${n}`, { "config.json": `{"n":"${n}"}`, "model.safetensors": new Uint8Array(20_000).fill(1) });
    const items: BatchItem[] = parseManifest(JSON.stringify({ defaults: { factor: 4 }, items: ["a", "b", "c"].map((n) => ({ source: `org/${n}`, push: `me/${n}-long` })) })).items;
    hub.fault({ kind: "500", pathIncludes: "/api/models/me/b-long/commit/", times: 3 });
    const runItem = async (item: BatchItem) => {
      const common = { hubUrl: hub.url, accessToken: "hf_test_writer", fetch: createRetryFetch({ retries: 2, sleep: async () => undefined }) };
      const operations = await hfPublishOperations({ ...common, source: { repo: item.source }, sameRepo: false, changed: [{ path: "config.json", content: `{"patched":true}` }] });
      const r = await publish({ ...common, repo: item.push!, operations, title: `yarnify x${item.factor}` });
      return { commitUrl: r.commitUrl, commitOid: r.commitOid };
    };
    const first = await runBatch({ items, runItem, concurrency: 3, statePath: join(dir, "s.jsonl"), reportDir: join(dir, "r") });
    assert.deepEqual([first.done, first.failed], [2, 1]);
    const failed = first.reports.find((r) => r.status === "failed")!;
    assert.equal(failed.item.push, "me/b-long");
    assert.match(failed.error!, /HTTP 500.*after 3 attempts/);
    assert.ok(!failed.error!.includes("hf_test_writer"));
    const second = await runBatch({ items, runItem, statePath: join(dir, "s.jsonl"), reportDir: join(dir, "r") });
    assert.deepEqual([second.done, second.skipped, second.failed], [1, 2, 0]);
    assert.equal(new TextDecoder().decode(hub.file("me/b-long", "config.json")), `{"patched":true}`);
    const report = JSON.parse(readFileSync(join(dir, "r", `${failed.id}.json`), "utf8"));
    assert.equal(report.status, "done");
    assert.equal(report.result.commitOid, hub.commits.find((c) => c.repo === "me/b-long")!.oid);
  } finally {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
