// `batch --hf-jobs N` against the stand-in hub's Jobs API: one labelled job per shard, each running the shard as the
// container would (in-process here), followed to the end, reports gathered from the logs; faults: a refused and a
// lost submission (no job submitted twice), a job that fails (its shard resubmitted on the next run with what it
// finished marked done), a job that dies before printing anything.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "./support/harness.ts";
import { withStandInHub } from "./support/hub-server.ts";
import { inProcessShardJobs } from "./support/shard-job-runner.ts";
import { buffers } from "./support/cli-io.ts";
import { command } from "./support/cli-run.ts";
import { TINY_CONFIG } from "./support/batch-fixtures.ts";
import { runCli } from "../src/cli/main.ts";
import { parseManifest, shardItems } from "../src/batch/manifest.ts";
import { type HfJobsBatchEvent, runHfJobsBatch } from "../src/hub/hf-jobs-batch.ts";
import { JOB_LABELS, shardJobSpec, SUMMARY_MARKER } from "../src/hub/shard-job-spec.ts";
import { runtimeName } from "../src/core/runtime.ts";
import { createRetryFetch } from "../src/hub/retry-fetch.ts";
import { VERSION } from "../src/version.ts";

const TOKEN = "hf_test_writer";
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);
/** Backoffs and polls cut to a few milliseconds (the jobs still run in real time). */
const fastSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.min(ms, 5)));

/** Six hub items m0..m5 (shards of 3: [m0 m2 m5] [m1] [m3 m4]); m2's source does not exist yet. */
function hubManifest(): string {
  return JSON.stringify({
    defaults: { factor: 4 },
    items: Array.from({ length: 6 }, (_, i) => ({ id: `m${i}`, source: i === 2 ? "org/missing" : `org/m${i}`, push: `me/m${i}-8k` })),
  });
}

test("hf-jobs: a job per shard, a refused and a lost submission never doubled, a failed job's shard resubmitted with what it finished", async () => {
  await withStandInHub(async (hub, dir) => {
    for (const i of [0, 1, 3, 4, 5]) hub.addRepo(`org/m${i}`, { "config.json": TINY_CONFIG });
    hub.jobs.executor = inProcessShardJobs(dir);
    const items = parseManifest(hubManifest()).items;
    assert.deepEqual([1, 2, 3].map((index) => shardItems(items, { index, count: 3 }).map((it) => it.id)), [["m0", "m2", "m5"], ["m1"], ["m3", "m4"]]);
    // The first submission is refused (429: no job), the second's answer is lost after the hub created the job.
    const refused = hub.fault({ kind: "429", method: "POST", pathIncludes: "/api/jobs/me", times: 1, retryAfterSeconds: 0 });
    const lost = hub.fault({ kind: "500-after", method: "POST", pathIncludes: "/api/jobs/me", times: 1 });
    const params = { items, shards: 3, hubUrl: hub.url, accessToken: TOKEN, fetch: createRetryFetch({ retries: 2, sleep: async () => undefined }), pollMs: 5, install: `yarnify@${VERSION}`, concurrency: 2, sleep: fastSleep };
    const events: HfJobsBatchEvent[] = [];
    const first = await runHfJobsBatch(params, (e) => events.push(e));
    assert.deepEqual([refused.hits, lost.hits], [1, 1]);
    assert.equal(hub.jobs.jobs.length, 3, "one job per shard, none twice");
    assert.deepEqual(events.filter((e) => e.event !== "stage").map((e) => [e.event, e.shard]), [["found", "1/3"], ["submitted", "2/3"], ["submitted", "3/3"]]);
    assert.equal(first.namespace, "me", "the token's user");
    for (const [i, job] of hub.jobs.jobs.entries()) {
      assert.deepEqual(job.labels, { [JOB_LABELS.batch]: first.batch, [JOB_LABELS.shard]: `${i + 1}-of-3`, [JOB_LABELS.submission]: "first" });
      assert.equal(job.flavor, "cpu-basic");
      assert.equal(job.dockerImage, "node:22");
      assert.match(job.command[2], new RegExp(`npx --yes 'yarnify@${VERSION.replace(/\./g, "\\.")}' batch manifest\\.json --shard ${i + 1}/3 --concurrency 2 --json`));
      assert.equal(job.secrets.HF_TOKEN, TOKEN, "the token travels as a secret");
      assert.ok(!JSON.stringify(job.environment).includes(TOKEN) && !job.command.join(" ").includes(TOKEN), "never in the environment or the command");
      assert.equal(job.environment.HF_ENDPOINT, hub.url);
    }
    assert.deepEqual(first.shards.map((s) => [s.shard, s.stage, s.items]), [["1/3", "ERROR", 3], ["2/3", "COMPLETED", 1], ["3/3", "COMPLETED", 2]]);
    assert.equal(first.shards[0].jobUrl, `${hub.url}/jobs/me/${hub.jobs.jobs[0].id}`);
    assert.deepEqual(first.reports.map((r) => [r.id, r.status]), [["m0", "done"], ["m1", "done"], ["m2", "failed"], ["m3", "done"], ["m4", "done"], ["m5", "done"]]);
    assert.match(first.reports[2].error!, /org\/missing/);
    assert.deepEqual([first.done, first.failed, first.total], [5, 1, 6]);
    const r0 = first.reports[0].result as { commitOid: string };
    assert.equal(r0.commitOid, hub.commits.find((c) => c.repo === "me/m0-8k")!.oid, "the report is the job's, gathered from its logs");
    assert.equal(JSON.parse(text(hub.file("me/m3-8k", "config.json"))).rope_scaling.factor, 4);

    // The next run finds the finished shards and resubmits the failed one, passing on what its job finished.
    hub.addRepo("org/missing", { "config.json": TINY_CONFIG });
    const commits = hub.commits.length;
    const again: HfJobsBatchEvent[] = [];
    const second = await runHfJobsBatch(params, (e) => again.push(e));
    assert.equal(second.batch, first.batch, "the same manifest and shard count: the same batch");
    assert.equal(hub.jobs.jobs.length, 4);
    const retry = hub.jobs.jobs[3];
    assert.deepEqual(again.filter((e) => e.event !== "stage"), [
      { event: "submitted", shard: "1/3", jobId: retry.id, retryOf: hub.jobs.jobs[0].id },
      { event: "found", shard: "2/3", jobId: hub.jobs.jobs[1].id, stage: "COMPLETED" },
      { event: "found", shard: "3/3", jobId: hub.jobs.jobs[2].id, stage: "COMPLETED" },
    ]);
    assert.equal(retry.labels[JOB_LABELS.submission], `retry-${hub.jobs.jobs[0].id}`);
    assert.deepEqual(retry.environment.YARNIFY_STATE.split("\n").map((l) => (JSON.parse(l) as { id: string }).id).sort(), ["m0", "m5"]);
    assert.equal(hub.commits.length, commits + 1, "only the failed item ran again");
    assert.deepEqual(second.reports.map((r) => r.status), ["done", "done", "done", "done", "done", "done"]);
    assert.deepEqual(second.shards[0].earlierJobs, [hub.jobs.jobs[0].id]);
    assert.equal((second.reports[0].result as { commitOid: string }).commitOid, r0.commitOid, "the earlier job's report stands for items it finished");
    await hub.jobs.idle();
  });
}, { timeoutMs: 120_000 });

test("hf-jobs: a job that dies before printing its summary fails its items with the job's stage; the CLI writes the reports", async () => {
  await withStandInHub(async (hub, dir) => {
    for (const i of [0, 1, 3, 4, 5]) hub.addRepo(`org/m${i}`, { "config.json": TINY_CONFIG });
    hub.addRepo("org/missing", { "config.json": TINY_CONFIG });
    const run = inProcessShardJobs(dir);
    // Shard 2 of 2 is killed (out of memory) before it prints anything.
    hub.jobs.executor = async (job) => (job.labels[JOB_LABELS.shard] === "2-of-2" ? { exitCode: 137, logs: ["npm warn exec installing", "Killed"] } : run(job));
    mkdirSync(join(dir, "batch"));
    const manifest = join(dir, "batch", "models.json");
    writeFileSync(manifest, hubManifest());
    const b = buffers();
    const args = ["batch", manifest, "--hf-jobs", "2", "--flavor", "cpu-upgrade", "--namespace", "org", "--poll-seconds", "0.01", "--token", TOKEN, "--hub-url", hub.url, "--json"];
    assert.equal(await runCli(args, b.io), 1, b.err());
    const out = JSON.parse(b.out()) as { namespace: string; done: number; failed: number; shards: Array<{ shard: string; stage: string }>; reports: Array<{ id: string; status: string; error: string | null }> };
    assert.equal(out.namespace, "org");
    assert.deepEqual(out.shards.map((s) => [s.shard, s.stage]), [["1/2", "COMPLETED"], ["2/2", "ERROR"]]);
    assert.deepEqual([out.done, out.failed], [3, 3]);
    const killed = out.reports.find((r) => r.id === "m1")!;
    assert.equal(killed.status, "failed");
    assert.equal(killed.error, `no report: job ${hub.jobs.jobs[1].id} ended ERROR (Job failed with exit code: 137) before printing its summary`);
    assert.ok(hub.jobs.jobs.every((j) => j.namespace === "org" && j.flavor === "cpu-upgrade"));
    assert.ok(hub.jobs.jobs.every((j) => j.command[2].includes(" --api-limit 333 ")), "2 jobs and this machine share the token's 1000 API requests");
    // Per-item reports and the summary, as a local run writes them.
    const report = JSON.parse(readFileSync(join(dir, "batch", "models.json.reports", "m0.json"), "utf8")) as { status: string; job: string };
    assert.equal(report.status, "done");
    assert.equal(report.job, `${hub.url}/jobs/org/${hub.jobs.jobs[0].id}`);
    const summary = JSON.parse(readFileSync(join(dir, "batch", "models.json.reports", "summary.json"), "utf8")) as { failed: number };
    assert.equal(summary.failed, 3);
    assert.ok(!b.out().includes(TOKEN) && !b.err().includes(TOKEN));
    assert.ok(hub.jobs.jobs[0].logs.includes(SUMMARY_MARKER));
    // Local items cannot run in a job's container; no token: no jobs.
    const local = join(dir, "batch", "local.json");
    writeFileSync(local, JSON.stringify([{ source: "./m", out: "./m-8k", factor: 4 }]));
    const refused = buffers();
    assert.equal(await runCli(["batch", local, "--hf-jobs", "2", "--token", TOKEN, "--hub-url", hub.url], refused.io), 1);
    assert.match(refused.err(), /^yarnify: .*local\.json item 1: \.\/m is a local path: a Hugging Face Job sees only the hub\n$/);
    const anonymous = buffers(undefined, {});
    assert.equal(await runCli(["batch", manifest, "--hf-jobs", "2", "--hub-url", hub.url], anonymous.io), 6);
    assert.equal(anonymous.err(), "yarnify: --hf-jobs: the Jobs API needs a token (--token or HF_TOKEN)\n");
    await hub.jobs.idle();
  });
}, { timeoutMs: 120_000 });

test("hf-jobs: the shard job's script, run by sh with npx standing in for the install, skips what its state says and prints the summary after the marker", async () => {
  await withStandInHub(async (hub, dir) => {
    hub.addRepo("org/m0", { "config.json": TINY_CONFIG });
    hub.addRepo("org/m1", { "config.json": TINY_CONFIG });
    const items = parseManifest(JSON.stringify([{ id: "m0", source: "org/m0", factor: 4, push: "me/m0-8k" }, { id: "m1", source: "org/m1", factor: 4, push: "me/m1-8k" }])).items;
    const spec = shardJobSpec({ items, shard: { index: 1, count: 1 }, concurrency: 1, install: "yarnify@it's", image: "node:22", flavor: "cpu-basic", hubUrl: hub.url, accessToken: TOKEN, labels: {}, doneIds: ["m1"] });
    // npx --yes <spec> <args...>: the stand-in checks it was handed the spec intact, then runs this checkout's CLI.
    const bin = join(dir, "bin");
    mkdirSync(bin);
    const [exe, ...pre] = command(runtimeName());
    writeFileSync(join(bin, "npx"), `#!/bin/sh\n[ "$1" = --yes ] && [ "$2" = "yarnify@it's" ] || exit 99\nshift 2\nexec ${[exe, ...pre].map((a) => `'${a}'`).join(" ")} "$@"\n`, { mode: 0o755 });
    const child = spawn(spec.command![0], spec.command!.slice(1), { env: { ...process.env, ...spec.environment, ...spec.secrets, PATH: `${bin}:${process.env.PATH}`, HF_HUB_CACHE: join(dir, "cache") } });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const code = await new Promise<number | null>((r) => child.on("close", r));
    assert.equal(code, 0, out);
    const lines = out.split("\n");
    const summary = JSON.parse(lines.slice(lines.indexOf(SUMMARY_MARKER) + 1).join("\n")) as { done: number; skipped: number; reports: Array<{ id: string; status: string }> };
    assert.deepEqual(summary.reports.map((r) => [r.id, r.status]), [["m0", "done"], ["m1", "skipped"]]);
    assert.deepEqual(hub.commits.map((c) => c.repo), ["me/m0-8k"], "the item its state marks done is not patched again");
  });
}, { timeoutMs: 120_000 });
