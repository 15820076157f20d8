// `patch` for hub sources and `patch ./model --push`: the hub connection a command uses, the publish of a local
// output, and the hub patch of a repo or a GGUF file, each writing through the output seam.
import { basename } from "node:path";
import type { PlanTarget } from "../core/types.ts";
import { HubPublishError, HubSourceError } from "../hub/errors.ts";
import type { HubParams } from "../hub/hub-params.ts";
import { hubParamsFromOptions } from "../hub/hub-params.ts";
import type { RetryFetchOptions } from "../hub/retry-fetch.ts";
import { cardValidation, type CardPerplexity } from "../hub/model-card.ts";
import { parseHubSource } from "../hub/parse-hub-source.ts";
import { patchHub, type PatchHubParams } from "../hub/patch-hub.ts";
import { type GgufHeaderPatcher, patchHubGguf } from "../hub/patch-hub-gguf.ts";
import { createProgressWriter } from "../hub/progress-text.ts";
import { publishLocal } from "../hub/publish-local.ts";
import type { PublishResult } from "../hub/publish.ts";
import { redactSecrets } from "../hub/redact.ts";
import type { PatchResult } from "../patch.ts";
import { patchText } from "../report-text.ts";
import type { Report } from "../validate/report.ts";
import { VERSION } from "../version.ts";
import type { CliIo } from "./io.ts";
import type { HubOptionValues } from "./options.ts";

export interface HubCliOptions extends HubOptionValues {
  push?: string;
  branch?: string;
  pr?: boolean;
  private?: boolean;
  out?: string;
  dryRun?: boolean;
  validate?: boolean;
  json?: boolean;
}

/** A publish as the commands print it in JSON. */
export function publishedJson(p: PublishResult): { repo: string; branch: string; commitUrl: string; commitOid: string; pullRequestUrl: string | null; alreadyPublished: boolean } {
  return { repo: p.repo, branch: p.branch, commitUrl: p.commitUrl, commitOid: p.commitOid, pullRequestUrl: p.pullRequestUrl ?? null, alreadyPublished: p.alreadyPublished };
}

/** A publish as the commands print it in text: the pull request, the commit, and whether an earlier run made it. */
export function publishedText(p: PublishResult): string {
  const earlier = p.alreadyPublished ? ", published by an earlier run: nothing new committed" : "";
  return `${p.pullRequestUrl ? `pull request ${p.pullRequestUrl}\n` : ""}commit ${p.commitUrl} (${p.commitOid}${earlier})\n`;
}

/**
 * The hub connection of a command: --token/--hub-url or the environment, retries reported on stderr, Ctrl-C
 * aborting; `retry` adds a rate limiter (and how long a 429 may ask to wait) for runs of many requests.
 */
export function hubConnection(o: HubOptionValues, io: CliIo, retry?: Pick<RetryFetchOptions, "limiter" | "maxRetryAfterMs">): HubParams {
  return hubParamsFromOptions(o, {
    ...(io.env && { env: io.env }),
    ...(io.abortSignal && { abortSignal: io.abortSignal }),
    ...(retry && { retry }),
    onRetry: (e) => io.stderr(redactSecrets(`retrying ${e.method} ${e.url} (${e.status ?? e.error}) in ${(e.delayMs / 1000).toFixed(1)} s, attempt ${e.attempt}\n`)),
  });
}

/**
 * `yarnify patch ./model ... --push repo [--branch b] [--private]`: publishes the local output with a model card.
 * Nothing is published when validation ran and failed.
 */
export async function publishLocalPatch(
  r: PatchResult,
  o: HubCliOptions & { push: string; baseModel?: string },
  io: CliIo,
  extra: { report?: Report; perplexity?: CardPerplexity } = {},
): Promise<PublishResult & { card: string }> {
  if (extra.report && !extra.report.ok) {
    const failed = extra.report.checks.filter((c) => c.status === "fail").map((c) => c.name);
    throw new HubPublishError(r.out, `validation failed (${failed.join(", ")}), nothing published to ${o.push}`);
  }
  const progress = createProgressWriter({ write: io.stderr, isTTY: io.isTTY });
  const validation = cardValidation(extra.report, undefined);
  const published = await publishLocal(
    {
      ...hubConnection(o, io),
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
async function patchHubGgufSource(model: string, target: PlanTarget, o: HubCliOptions, io: CliIo, patchHeader: GgufHeaderPatcher | undefined): Promise<number> {
  const progress = createProgressWriter({ write: io.stderr, isTTY: io.isTTY });
  const r = await patchHubGguf(
    {
      ...hubConnection(o, io),
      ...target,
      source: model,
      ...(patchHeader && { patchHeader }),
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
    io.stdout(JSON.stringify({ source: r.source, commit: r.commit, files: r.files, plan: r.plan, ...publishedJson(p) }, null, 2) + "\n");
    return 0;
  }
  for (const f of r.files) io.stdout(`${f.path}: header ${f.headerBytes.before} -> ${f.headerBytes.after} bytes\n`);
  io.stdout(publishedText(p));
  for (const w of r.plan.warnings) io.stderr(`warning: ${w}\n`);
  return 0;
}

/**
 * `yarnify patch <hub source> [--push repo | --pr | --branch name] ...`. A source naming a .gguf file goes through
 * the GGUF path (the GGUF converter builds the header; tests may pass another extra.patchGgufHeader).
 */
export async function patchHubSource(
  model: string,
  target: PlanTarget,
  o: HubCliOptions,
  io: CliIo,
  extra: { patchGgufHeader?: GgufHeaderPatcher; perplexity?: PatchHubParams["perplexity"] } = {},
): Promise<number> {
  if (parseHubSource(model)?.path?.endsWith(".gguf")) {
    if (extra.perplexity) throw new HubSourceError(model, "--eval measures Hugging Face format models (safetensors); this is a GGUF file");
    return patchHubGgufSource(model, target, o, io, extra.patchGgufHeader);
  }
  const progress = createProgressWriter({ write: io.stderr, isTTY: io.isTTY });
  const r = await patchHub(
    {
      ...hubConnection(o, io),
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
            ...(r.publish && publishedJson(r.publish)),
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
  if (r.publish) io.stdout(publishedText(r.publish));
  for (const w of r.patch.warnings) io.stderr(`warning: ${w}\n`);
  return 0;
}
