// What the CLI runs for hub sources and for `batch`, so src/cli.ts only parses options and calls these.
// Each action writes to the given streams and returns the process exit code; nothing here reads globals
// other than the environment passed in.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { patchText } from "../report-text.ts";
import type { PlanTarget } from "../core/types.ts";
import { VERSION } from "../version.ts";
import { parseManifest, parseShard } from "../batch/manifest.ts";
import { batchExitCode, runBatch } from "../batch/run-batch.ts";
import { createHubBatchRunner } from "./batch-runner.ts";
import type { Env } from "./hub-params.ts";
import { hubParamsFromOptions } from "./hub-params.ts";
import { parseHubSource } from "./parse-hub-source.ts";
import { patchHub, type PatchHubParams } from "./patch-hub.ts";
import { createProgressWriter } from "./progress-text.ts";
import { redactSecrets } from "./redact.ts";
import { patchHubGguf } from "./patch-hub-gguf.ts";
import type { GgufHeaderPatcher } from "./patch-hub-gguf.ts";
import { HubPublishError, HubSourceError } from "./errors.ts";
import { publishLocal } from "./publish-local.ts";
import { cardValidation, type CardPerplexity } from "./model-card.ts";
import type { PublishResult } from "./publish.ts";
import type { PatchResult } from "../patch.ts";
import type { Report } from "../validate/report.ts";

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Whether stderr is a terminal (progress redraws one line). */
  isTTY: boolean;
  env?: Env;
  abortSignal?: AbortSignal;
}

export interface HubCliOptions {
  token?: string;
  hubUrl?: string;
  cacheDir?: string;
  push?: string;
  branch?: string;
  pr?: boolean;
  private?: boolean;
  out?: string;
  dryRun?: boolean;
  validate?: boolean;
  json?: boolean;
}

function hubParams(o: { token?: string; hubUrl?: string }, io: CliIo) {
  return hubParamsFromOptions(o, {
    ...(io.env && { env: io.env }),
    ...(io.abortSignal && { abortSignal: io.abortSignal }),
    onRetry: (e) => io.stderr(redactSecrets(`retrying ${e.method} ${e.url} (${e.status ?? e.error}) in ${(e.delayMs / 1000).toFixed(1)} s, attempt ${e.attempt}\n`)),
  });
}

/**
 * `yarnify patch ./model ... --push repo [--branch b] [--private]`: publishes the local output with a model card.
 * Nothing is published when validation ran and failed.
 */
export async function publishLocalAction(
  r: PatchResult,
  o: HubCliOptions & { push: string; baseModel?: string },
  io: CliIo,
  extra: { report?: Report; perplexity?: CardPerplexity } = {},
): Promise<PublishResult & { card: string }> {
  if (extra.report && !extra.report.ok) {
    const failed = extra.report.checks.filter((c) => c.status === "fail").map((c) => c.name);
    throw new HubPublishError(`${r.out}: validation failed (${failed.join(", ")}), nothing published to ${o.push}`);
  }
  const progress = createProgressWriter({ write: io.stderr, isTTY: io.isTTY });
  const validation = cardValidation(extra.report, undefined);
  const published = await publishLocal(
    {
      ...hubParams(o, io),
      path: r.out,
      format: r.format,
      plan: r.plan,
      repo: o.push,
      ...(o.branch !== undefined && { branch: o.branch }),
      ...(o.private !== undefined && { private: o.private }),
      baseModel: o.baseModel ?? basename(r.source),
      ...(validation && { validation }),
      ...(extra.perplexity && { perplexity: extra.perplexity }),
      toolVersion: VERSION,
    },
    o.json ? undefined : progress,
  );
  progress.done();
  return published;
}

/** `yarnify patch org/name-GGUF/file.gguf --push|--pr|--branch`: the header patched remotely, published as an edit. */
async function hubGgufPatchAction(model: string, target: PlanTarget, o: HubCliOptions, io: CliIo, patchHeader: GgufHeaderPatcher | undefined): Promise<number> {
  if (!patchHeader) throw new HubSourceError(`${model}: patching a GGUF on the hub needs the GGUF converter`);
  const progress = createProgressWriter({ write: io.stderr, isTTY: io.isTTY });
  const r = await patchHubGguf(
    {
      ...hubParams(o, io),
      ...target,
      source: model,
      patchHeader,
      ...(o.cacheDir !== undefined && { cacheDir: o.cacheDir }),
      ...(o.push !== undefined && { push: o.push }),
      ...(o.branch !== undefined && { branch: o.branch }),
      ...(o.pr !== undefined && { pr: o.pr }),
      ...(o.private !== undefined && { private: o.private }),
      toolVersion: VERSION,
    },
    o.json ? undefined : progress,
  );
  progress.done();
  const p = r.publish;
  if (o.json) {
    io.stdout(JSON.stringify({ source: r.source, commit: r.commit, files: r.files, plan: r.plan, repo: p.repo, branch: p.branch, commitUrl: p.commitUrl, commitOid: p.commitOid, pullRequestUrl: p.pullRequestUrl ?? null }, null, 2) + "\n");
    return 0;
  }
  for (const f of r.files) io.stdout(`${f.path}: header ${f.headerBytes.before} -> ${f.headerBytes.after} bytes\n`);
  io.stdout(`${p.pullRequestUrl ? `pull request ${p.pullRequestUrl}\n` : ""}commit ${p.commitUrl} (${p.commitOid})\n`);
  for (const w of r.plan.warnings) io.stderr(`warning: ${w}\n`);
  return 0;
}

/**
 * `yarnify patch <hub source> [--push repo | --pr | --branch name] ...`. A source naming a .gguf file goes through
 * the GGUF path, which needs the converter's header patcher (extra.patchGgufHeader).
 */
export async function hubPatchAction(
  model: string,
  target: PlanTarget,
  o: HubCliOptions,
  io: CliIo,
  extra: { patchGgufHeader?: GgufHeaderPatcher; perplexity?: PatchHubParams["perplexity"] } = {},
): Promise<number> {
  if (parseHubSource(model)?.path?.endsWith(".gguf")) {
    if (extra.perplexity) throw new HubSourceError(`${model}: --eval measures Hugging Face format models (safetensors); this is a GGUF file`);
    return hubGgufPatchAction(model, target, o, io, extra.patchGgufHeader);
  }
  const progress = createProgressWriter({ write: io.stderr, isTTY: io.isTTY });
  const r = await patchHub(
    {
      ...hubParams(o, io),
      ...target,
      source: model,
      ...(o.cacheDir !== undefined && { cacheDir: o.cacheDir }),
      ...(o.push !== undefined && { push: o.push }),
      ...(o.branch !== undefined && { branch: o.branch }),
      ...(o.pr !== undefined && { pr: o.pr }),
      ...(o.private !== undefined && { private: o.private }),
      ...(o.out !== undefined && { out: o.out }),
      ...(o.dryRun !== undefined && { dryRun: o.dryRun }),
      ...(o.validate !== undefined && { validate: o.validate }),
      ...(extra.perplexity && { perplexity: extra.perplexity }),
      toolVersion: VERSION,
    },
    o.json ? undefined : progress,
  );
  progress.done();
  if (o.json) {
    io.stdout(
      redactSecrets(
        JSON.stringify(
          {
            source: r.source,
            commit: r.commit,
            changed: r.changed,
            plan: r.patch.plan,
            diff: r.patch.diff,
            warnings: r.patch.warnings,
            ...(r.publish && { commitUrl: r.publish.commitUrl, commitOid: r.publish.commitOid, pullRequestUrl: r.publish.pullRequestUrl ?? null, repo: r.publish.repo, branch: r.publish.branch }),
            ...(r.validation && { validation: r.validation }),
            ...(r.perplexity && { perplexity: r.perplexity }),
          },
          null,
          2,
        ),
      ) + "\n",
    );
    return 0;
  }
  if (r.patch.dryRun && r.patch.diff) io.stdout(r.patch.diff.endsWith("\n") ? r.patch.diff : r.patch.diff + "\n");
  io.stdout(patchText(r.patch) + "\n");
  if (r.perplexity) io.stdout(`${r.perplexity.note}\n${r.perplexity.markdown}\n`);
  if (r.publish) io.stdout(`${r.publish.pullRequestUrl ? `pull request ${r.publish.pullRequestUrl}\n` : ""}commit ${r.publish.commitUrl} (${r.publish.commitOid})\n`);
  for (const w of r.patch.warnings) io.stderr(`warning: ${w}\n`);
  return 0;
}

export interface BatchCliOptions {
  concurrency?: number;
  /** "i/n", 1-based. */
  shard?: string;
  /** Default: <manifest>.state.jsonl */
  state?: string;
  /** Default: <manifest>.reports */
  reports?: string;
  token?: string;
  hubUrl?: string;
  cacheDir?: string;
  json?: boolean;
}

/** `yarnify batch <manifest> [--concurrency n] [--shard i/n] [--state file] [--reports dir]`. */
export async function batchAction(manifestPath: string, o: BatchCliOptions, io: CliIo, extra: { patchGgufHeader?: GgufHeaderPatcher } = {}): Promise<number> {
  const manifest = parseManifest(readFileSync(manifestPath, "utf8"), manifestPath);
  const shard = o.shard !== undefined ? parseShard(o.shard) : undefined;
  const runItem = createHubBatchRunner({ ...hubParams(o, io), ...(o.cacheDir !== undefined && { cacheDir: o.cacheDir }), ...(extra.patchGgufHeader && { patchGgufHeader: extra.patchGgufHeader }), toolVersion: VERSION });
  const summary = await runBatch({
    items: manifest.items,
    runItem,
    concurrency: o.concurrency ?? 2,
    statePath: o.state ?? `${manifestPath}.state.jsonl`,
    reportDir: o.reports ?? `${manifestPath}.reports`,
    ...(shard && { shard }),
    ...(io.abortSignal && { abortSignal: io.abortSignal }),
    onEvent: o.json
      ? undefined
      : (e) => {
          if (e.event === "skip") io.stderr(`skip ${e.id} (done earlier)\n`);
          if (e.event === "start") io.stderr(`start ${e.id}\n`);
          if (e.event === "end") io.stderr(`${e.report.status} ${e.report.id}${e.report.error ? `: ${e.report.error}` : ""}\n`);
        },
  });
  const line = `${summary.total} items${summary.shard ? ` (shard ${summary.shard})` : ""}: ${summary.done} done, ${summary.skipped} skipped, ${summary.failed} failed, ${summary.interrupted} interrupted`;
  if (o.json) io.stdout(JSON.stringify({ ...summary, reports: summary.reports.map((r) => ({ id: r.id, status: r.status, error: r.error ?? null, result: r.result ?? null })) }, null, 2) + "\n");
  else io.stdout(line + "\n");
  return batchExitCode(summary);
}
