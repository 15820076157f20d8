// Kubernetes Indexed Jobs: the pod's share from JOB_COMPLETION_INDEX/JOB_COMPLETION_COUNT, state and reports of its
// own, and the Job manifest in examples/ run as its pods would run it: every item of a 6-model manifest patched once.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { test } from "./support/harness.ts";
import { buffers } from "./support/cli-io.ts";
import { repoRoot } from "./support/cli-run.ts";
import { localManifest } from "./support/batch-fixtures.ts";
import { runCli } from "../src/cli/main.ts";
import { VERSION } from "../src/version.ts";
import { indexedJobShard, perIndexPath } from "../src/batch/indexed-job.ts";
import { parseManifest, shardItems } from "../src/batch/manifest.ts";
import { readState } from "../src/batch/state-file.ts";
import { HUB_RATE_LIMITS } from "../src/hub/hub-rate-limiter.ts";

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}

interface JobManifest {
  apiVersion: string;
  kind: string;
  spec: {
    completionMode: string;
    completions: number;
    parallelism: number;
    backoffLimitPerIndex?: number;
    template: { spec: { restartPolicy: string; containers: Array<{ command: string[]; env: EnvVar[]; volumeMounts: Array<{ name: string; mountPath: string }> }> } };
  };
}


test("indexed job: the pod's shard from the environment; an index without a count, or past it, is refused", () => {
  assert.deepEqual(indexedJobShard({ JOB_COMPLETION_INDEX: "0", JOB_COMPLETION_COUNT: "3" }), { shard: { index: 1, count: 3 }, index: 0 });
  assert.deepEqual(indexedJobShard({ JOB_COMPLETION_INDEX: "2", JOB_COMPLETION_COUNT: "3" }), { shard: { index: 3, count: 3 }, index: 2 });
  assert.equal(indexedJobShard({ HOME: "/root" }), undefined);
  for (const [env, re] of [
    [{ JOB_COMPLETION_INDEX: "1" }, /^JOB_COMPLETION_INDEX: is set but JOB_COMPLETION_COUNT is not/],
    [{ JOB_COMPLETION_COUNT: "3" }, /^JOB_COMPLETION_COUNT: is set but JOB_COMPLETION_INDEX is not/],
    [{ JOB_COMPLETION_INDEX: "3", JOB_COMPLETION_COUNT: "3" }, /^JOB_COMPLETION_INDEX: 3 is not below JOB_COMPLETION_COUNT 3$/],
    [{ JOB_COMPLETION_INDEX: "x", JOB_COMPLETION_COUNT: "3" }, /^JOB_COMPLETION_INDEX: "x" is not a whole number$/],
  ] as const) {
    assert.throws(() => indexedJobShard(env), (e: Error) => re.test(e.message));
  }
  assert.equal(perIndexPath("/data/m.yaml.state.jsonl", 2, "file"), "/data/m.yaml.state-2.jsonl");
  assert.equal(perIndexPath("/data/m.yaml.reports", 2, "folder"), "/data/m.yaml.reports-2");
});

test("indexed job: the example Job manifest, run as its 3 pods would run it, patches each of 6 local models exactly once", async () => {
  const job = parseYaml(readFileSync(join(repoRoot, "examples/kubernetes/yarnify-batch-job.yaml"), "utf8")) as JobManifest;
  assert.equal(job.apiVersion, "batch/v1");
  assert.equal(job.kind, "Job");
  assert.equal(job.spec.completionMode, "Indexed", "only an Indexed Job sets JOB_COMPLETION_INDEX");
  assert.equal(job.spec.template.spec.restartPolicy, "Never", "backoffLimitPerIndex needs restartPolicy Never");
  const [container] = job.spec.template.spec.containers;
  const env = new Map(container.env.map((e) => [e.name, e]));
  const pods = job.spec.completions;
  assert.equal(env.get("JOB_COMPLETION_COUNT")?.value, String(pods), "JOB_COMPLETION_COUNT must equal completions");
  assert.equal(job.spec.parallelism, pods);
  assert.ok(env.get("HF_TOKEN")?.valueFrom?.secretKeyRef && env.get("HF_TOKEN")!.value === undefined, "the token comes from a Secret, never written in the manifest");
  assert.deepEqual(container.command.slice(0, 4), ["npx", "--yes", `yarnify@${VERSION}`, "batch"], "the example installs this version");
  const args = container.command.slice(3);
  assert.ok(!args.includes("--shard"), "the pods take their share from the environment");
  assert.ok(Number(args[args.indexOf("--api-limit") + 1]) * pods <= HUB_RATE_LIMITS.api.limit, "the pods share the token's API budget");
  const [mount] = container.volumeMounts;
  assert.ok(args[1].startsWith(mount.mountPath + "/"), "the manifest is on the shared volume");

  // The shared volume: 6 local models and a manifest naming them; the pods run concurrently, as the Job runs them.
  const volume = mkdtempSync(join(tmpdir(), "yarnify-k8s-"));
  try {
    const { manifest, names } = localManifest(volume, 6);
    const onVolume = (s: string) => (s.startsWith(mount.mountPath + "/") ? join(volume, s.slice(mount.mountPath.length + 1)) : s);
    assert.equal(onVolume(args[1]), manifest);
    const podEnv = (index: number) => ({
      ...Object.fromEntries(container.env.filter((e) => e.value !== undefined).map((e) => [e.name, onVolume(e.value!)])),
      JOB_COMPLETION_INDEX: String(index),
    });
    const runPod = async (index: number) => {
      const b = buffers(undefined, podEnv(index));
      return { code: await runCli(args.map(onVolume), b.io), out: b.out(), err: b.err() };
    };
    const results = await Promise.all(Array.from({ length: pods }, (_, i) => runPod(i)));
    const items = parseManifest(readFileSync(manifest, "utf8"), manifest).items;
    const shares = results.map((r, i) => {
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, new RegExp(`\\(shard ${i + 1}/${pods}\\): \\d+ done, 0 skipped, 0 failed`));
      const summary = JSON.parse(readFileSync(perIndexPath(`${manifest}.reports`, i, "folder") + "/summary.json", "utf8")) as { reports: Array<{ id: string; status: string }> };
      assert.ok(summary.reports.every((r) => r.status === "done"));
      const ids = summary.reports.map((r) => r.id).sort();
      assert.deepEqual(ids, shardItems(items, { index: i + 1, count: pods }).map((it) => it.id).sort(), "the split of --shard (index+1)/count");
      assert.deepEqual([...readState(perIndexPath(`${manifest}.state.jsonl`, i, "file")).keys()].sort(), ids, "a state file of its own");
      return ids;
    });
    assert.deepEqual(shares.flat().sort(), items.map((it) => it.id).sort(), "every item, and none twice");
    assert.ok(shares.every((s) => s.length > 0), `every pod has work: ${shares.map((s) => s.length)}`);
    assert.deepEqual(readdirSync(join(volume, "out")).sort(), names.map((n) => `${n}-8k`));
    for (const n of names) assert.equal(JSON.parse(readFileSync(join(volume, "out", `${n}-8k`, "config.json"), "utf8")).max_position_embeddings, 8192);
    assert.ok(!existsSync(`${manifest}.state.jsonl`), "no pod wrote the shared default state file");
    // A pod the Job restarts resumes its own share: nothing is patched again.
    const again = await runPod(1);
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, new RegExp(`\\(shard 2/${pods}\\): 0 done, ${shares[1].length} skipped, 0 failed`));
    // --shard wins over the environment (and the environment then names no files): shard 2's items are tried
    // again from the shared default state, and refused because their outputs exist.
    const explicit = buffers(undefined, { JOB_COMPLETION_INDEX: "0", JOB_COMPLETION_COUNT: "3" });
    assert.equal(await runCli(["batch", manifest, "--shard", `2/${pods}`], explicit.io), shares[1].length > 0 ? 1 : 0);
    assert.match(explicit.out(), new RegExp(`\\(shard 2/${pods}\\): 0 done, 0 skipped, ${shares[1].length} failed`));
    assert.ok(existsSync(`${manifest}.state.jsonl`));
    const bad = buffers(undefined, { JOB_COMPLETION_INDEX: "1" });
    assert.equal(await runCli(["batch", manifest], bad.io), 1);
    assert.equal(bad.err(), "yarnify: JOB_COMPLETION_INDEX: is set but JOB_COMPLETION_COUNT is not: set it to the Job's completions (or pass --shard i/n)\n");
  } finally {
    rmSync(volume, { recursive: true, force: true });
  }
}, { timeoutMs: 120_000 });
