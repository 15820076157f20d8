// GitHub Actions: `batch --matrix github N` prints the job matrix (one line, empty shards left out), and the workflow
// in examples/ wires it as GitHub reads it: its plan command and its matrix jobs, run here on 6 local models.
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { test } from "./support/harness.ts";
import { buffers } from "./support/cli-io.ts";
import { repoRoot } from "./support/cli-run.ts";
import { localManifest } from "./support/batch-fixtures.ts";
import { runCli } from "../src/cli/main.ts";
import { VERSION } from "../src/version.ts";
import { parseManifest, shardItems } from "../src/batch/manifest.ts";
import { HUB_RATE_LIMITS } from "../src/hub/hub-rate-limiter.ts";

interface Step {
  id?: string;
  run?: string;
  uses?: string;
  env?: Record<string, string>;
}

interface Workflow {
  jobs: Record<string, { needs?: string | string[]; outputs?: Record<string, string>; strategy?: { "fail-fast"?: boolean; matrix?: unknown }; steps: Step[] }>;
}

const INSTALL = `npx --yes yarnify@${VERSION}`;

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const b = buffers();
  const code = await runCli(args, b.io);
  return { code, out: b.out(), err: b.err() };
}

test("--matrix github N: one line of {include: [{shard}]}, shards without items left out, bad requests refused", async () => {
  const dir = mkdtempSync(join(tmpdir(), "yarnify-matrix-"));
  try {
    const { manifest } = localManifest(dir, 6);
    const r = await cli(["batch", manifest, "--matrix", "github", "3"]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.split("\n").length, 2, "one line and its newline, as $GITHUB_OUTPUT wants");
    assert.deepEqual(JSON.parse(r.out), { include: [{ shard: "1/3" }, { shard: "2/3" }, { shard: "3/3" }] });
    const items = parseManifest(readFileSync(manifest, "utf8"), manifest).items;
    const wide = await cli(["batch", manifest, "--matrix", "github", "12"]);
    const listed = (JSON.parse(wide.out) as { include: Array<{ shard: string }> }).include.map((e) => e.shard);
    const expected = Array.from({ length: 12 }, (_, i) => `${i + 1}/12`).filter((s, i) => shardItems(items, { index: i + 1, count: 12 }).length > 0);
    assert.deepEqual(listed, expected);
    assert.ok(listed.length < 12 && listed.length <= items.length);
    assert.match(wide.err, /^shards with no items left out: (\d+\/12(, )?)+\n$/);
    for (const [args, re] of [
      [["--matrix", "gitlab", "3"], /^yarnify: --matrix gitlab: the matrix formats are: github\n$/],
      [["--matrix", "github"], /^yarnify: --matrix github: give the number of shards: yarnify batch <manifest> --matrix github N\n$/],
      [["--matrix", "github", "0"], /^yarnify: --matrix github: "0" is not a whole number ≥ 1\n$/],
      [["--matrix", "github", "257"], /^yarnify: --matrix github: the number of shards must be a whole number from 1 to 256 \(GitHub's matrix limit\), got 257\n$/],
      [["4"], /^yarnify: 4: unexpected argument \(the number of shards goes with --matrix\)\n$/],
    ] as const) {
      const bad = await cli(["batch", manifest, ...args]);
      assert.equal(bad.code, 1, args.join(" "));
      assert.match(bad.err, re);
      assert.equal(bad.out, "");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the GitHub workflow in examples/: its plan job's matrix feeds jobs that patch each of 6 local models once", async () => {
  const workflow = parseYaml(readFileSync(join(repoRoot, "examples/github/yarnify-batch.yml"), "utf8")) as Workflow;
  const [planName, plan] = Object.entries(workflow.jobs).find(([, j]) => j.steps.some((s) => s.run?.includes("--matrix github")))!;
  const planStep = plan.steps.find((s) => s.run?.includes("--matrix github"))!;
  // $(...) inside `echo "matrix=..." >> "$GITHUB_OUTPUT"`, and the job output reading that step's output.
  const planCommand = /^echo "matrix=\$\((.+)\)" >> "\$GITHUB_OUTPUT"$/.exec(planStep.run!.trim())?.[1];
  assert.ok(planCommand?.startsWith(`${INSTALL} batch `), planStep.run);
  assert.equal(plan.outputs?.matrix, `\${{ steps.${planStep.id}.outputs.matrix }}`);
  const [, patch] = Object.entries(workflow.jobs).find(([, j]) => j.strategy?.matrix !== undefined)!;
  assert.deepEqual([patch.needs].flat(), [planName]);
  assert.match(String(patch.strategy!.matrix), new RegExp(`^\\$\\{\\{ fromJSON\\(needs\\.${planName}\\.outputs\\.matrix\\) \\}\\}$`, "i"));
  assert.equal(patch.strategy!["fail-fast"], false, "one failing shard does not cancel the others");
  const patchStep = patch.steps.find((s) => s.run?.includes("--shard"))!;
  assert.equal(patchStep.env?.HF_TOKEN, "${{ secrets.HF_TOKEN }}", "the token from a secret");
  const [, planManifest] = /batch (\S+) --matrix github (\d+)$/.exec(planCommand!)!;
  const patchRun = patchStep.run!.trim();
  assert.ok(patchRun.includes(" --shard ${{ matrix.shard }}"), patchRun);
  const patchArgs = (shard: string) => patchRun.replace("${{ matrix.shard }}", shard).split(/\s+/);
  assert.deepEqual(patchArgs("1/1").slice(0, 5), [...INSTALL.split(" "), "batch", planManifest], "the jobs run the manifest the plan split");
  const jobArgs = patchArgs("1/1");
  assert.ok(Number(jobArgs[jobArgs.indexOf("--api-limit") + 1]) * Number(/--matrix github (\d+)$/.exec(planCommand!)![1]) <= HUB_RATE_LIMITS.api.limit, "the jobs share the token's API budget");

  // The repository: 6 local models and manifest.yaml at its root. The plan job runs, then each matrix job on a
  // fresh checkout of its own (a runner of its own), as GitHub runs them.
  const base = mkdtempSync(join(tmpdir(), "yarnify-gha-"));
  try {
    const checkout = join(base, "repo");
    const { manifest, names } = localManifest(checkout, 6);
    const inRepo = (a: string) => (a === planManifest ? join(checkout, a) : a);
    const planned = await cli(planCommand!.split(/\s+/).slice(INSTALL.split(" ").length).map(inRepo));
    assert.equal(planned.code, 0, planned.err);
    const matrix = JSON.parse(planned.out) as { include: Array<{ shard: string }> };
    const leftOut = /shards with no items left out: (.*)/.exec(planned.err)?.[1].split(", ") ?? [];
    assert.equal(matrix.include.length + leftOut.length, Number(/--matrix github (\d+)$/.exec(planCommand!)![1]));
    const jobs = await Promise.all(matrix.include.map(async ({ shard }, job) => {
      const runner = join(base, `runner-${job}`);
      cpSync(checkout, runner, { recursive: true });
      const args = patchArgs(shard).slice(INSTALL.split(" ").length).map((a) => (a === planManifest ? join(runner, a) : a));
      const r = await cli(args);
      assert.equal(r.code, 0, r.err);
      const summary = JSON.parse(readFileSync(join(runner, `${planManifest}.reports`, "summary.json"), "utf8")) as { shard: string; reports: Array<{ id: string; status: string }> };
      assert.equal(summary.shard, shard);
      assert.ok(summary.reports.length > 0 && summary.reports.every((x) => x.status === "done"));
      for (const x of summary.reports) assert.equal(JSON.parse(readFileSync(join(runner, "out", `${x.id}-8k`, "config.json"), "utf8")).max_position_embeddings, 8192);
      return summary.reports.map((x) => x.id);
    }));
    assert.deepEqual(jobs.flat().sort(), names, "every item, and none twice");
    assert.ok(manifest.startsWith(checkout));
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}, { timeoutMs: 120_000 });
