// `patch` for hub sources and `patch ./model --push`: the hub connection a command uses, the publish of a local
// output, and the hub patch of a repo or a GGUF file, each writing through the output seam.
import { basename } from "node:path";
import type { Plan, PlanTarget } from "../core/types.ts";
import type { PatchEval } from "../eval/card-eval.ts";
import { HubPublishError, HubSourceError } from "../hub/errors.ts";
import type { HubParams } from "../hub/hub-params.ts";
import { hubParamsFromOptions } from "../hub/hub-params.ts";
import type { RetryFetchOptions } from "../hub/retry-fetch.ts";
import { cardValidation, type CardSection } from "../hub/model-card.ts";
import { defaultCacheDir } from "../hub/cache-dir.ts";
import { formatHubSource, isHubModelArg, parseHubSource } from "../hub/parse-hub-source.ts";
import { type HubModelLocation, locateHubModel } from "../hub/locate-hub-model.ts";
import { YarnifyError } from "../core/errors.ts";
import { patchHub } from "../hub/patch-hub.ts";
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
import type { HubOptionValues, HubSourceOptionValues } from "./options.ts";

export interface HubCliOptions extends HubSourceOptionValues {
  push?: string;
  branch?: string;
  pr?: boolean;
  commitMessage?: string;
  overwrite?: boolean;
  private?: boolean;
  out?: string;
  dryRun?: boolean;
  validate?: boolean;
  json?: boolean;
}

/**
 * The model argument with `--revision` applied: `org/name --revision v1` is `org/name@v1`. A local path, or a source
 * naming another revision, is refused.
 *
 * @example
 * withRevision("org/name", "refs/pr/3"); // "hf://org/name@refs/pr/3"
 */
export function withRevision(model: string, revision: string | undefined): string {
  if (revision === undefined) return model;
  const source = isHubModelArg(model) ? parseHubSource(model) : undefined;
  if (!source) throw new YarnifyError(model, "--revision applies to hub sources (org/name); this is a local path");
  if (source.revision !== undefined && source.revision !== revision) throw new YarnifyError(model, `names revision ${source.revision}, --revision ${revision}`);
  return formatHubSource({ ...source, revision });
}

/**
 * A model argument located for the readers when it names the hub (`files`: what a repo needs locally: its config
 * files, or every file); undefined for a local path. Downloads report progress on stderr unless `--json`.
 *
 * @example
 * const hub = await locateModelArg(model, o, io, "config");
 * const r = await flags({ model: hub?.model ?? model, ...(hub?.remote && { remote: hub.remote }) });
 */
export async function locateModelArg(model: string, o: HubOptionValues & { json?: boolean }, io: CliIo, files: "config" | "all"): Promise<HubModelLocation | undefined> {
  if (!isHubModelArg(model)) return undefined;
  const progress = createProgressWriter({ write: io.stderr, isTTY: io.isTTY });
  const where = await locateHubModel({ ...hubConnection(o, io), source: model, files }, o.json ? undefined : progress);
  progress.done();
  return where;
}

/**
 * The hub settings of a command: --token/--hub-url or the environment (HF_TOKEN, the saved token, HF_ENDPOINT,
 * HF_HUB_OFFLINE), retries reported on stderr, Ctrl-C aborting, and the cache (--cache-dir, else HF_HUB_CACHE or
 * HF_HOME/hub); `retry` adds a rate limiter (and how long a 429 may ask to wait) for runs of many requests.
 *
 * @example
 * await locateHubModel({ ...hubConnection(o, io), source: "org/name" });
 */
export function hubConnection(o: HubOptionValues, io: CliIo, retry?: Pick<RetryFetchOptions, "limiter" | "maxRetryAfterMs">): HubParams & { cacheDir: string } {
  return {
    ...hubParamsFromOptions(o, {
      ...(io.env && { env: io.env }),
      ...(io.abortSignal && { abortSignal: io.abortSignal }),
      ...(retry && { retry }),
      onRetry: (e) => io.stderr(redactSecrets(`retrying ${e.method} ${e.url} (${e.status ?? e.error}) in ${(e.delayMs / 1000).toFixed(1)} s, attempt ${e.attempt}\n`)),
    }),
    cacheDir: o.cacheDir ?? defaultCacheDir(io.env ?? process.env),
  };
}

/**
 * A publish as the commands print it in JSON.
 *
 * @example
 * printJson(io, { ...result, publish: publishedJson(published) });
 */
export function publishedJson(p: PublishResult): { repo: string; branch: string; commitUrl: string; commitOid: string; pullRequestUrl: string | null; alreadyPublished: boolean } {
  return { repo: p.repo, branch: p.branch, commitUrl: p.commitUrl, commitOid: p.commitOid, pullRequestUrl: p.pullRequestUrl ?? null, alreadyPublished: p.alreadyPublished };
}

/**
 * A publish as the commands print it in text: for a pull request its URL and the source that addresses it
 * (org/name@refs/pr/N[/file], which inspect, validate and patch take), the commit, and whether an earlier run made it.
 *
 * @example
 * io.stdout(publishedText(published, "model-q4.gguf"));
 */
export function publishedText(p: PublishResult, path?: string): string {
  const pr = p.pullRequestUrl?.match(/\/discussions\/(\d+)$/)?.[1];
  const source = pr && formatHubSource({ repo: p.repo, revision: `refs/pr/${pr}`, ...(path !== undefined && { path }) }).slice("hf://".length);
  const earlier = p.alreadyPublished ? ", published by an earlier run: nothing new committed" : "";
  return `${p.pullRequestUrl ? `pull request ${p.pullRequestUrl}${source ? ` (${source})` : ""}\n` : ""}commit ${p.commitUrl} (${p.commitOid}${earlier})\n`;
}

/**
 * `yarnify patch ./model ... --push repo [--branch b] [--private]`: publishes the local output with a model card.
 * Nothing is published when validation ran and failed.
 */
export async function publishLocalPatch(
  r: PatchResult,
  o: HubCliOptions & { push: string; baseModel?: string },
  io: CliIo,
  extra: { report?: Report; evaluation?: CardSection[] } = {},
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
      ...(extra.evaluation && { evaluation: extra.evaluation }),
      ...(o.commitMessage !== undefined && { commitMessage: o.commitMessage }),
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
      ...(o.push !== undefined && { push: o.push }),
      ...(o.branch !== undefined && { branch: o.branch }),
      ...(o.pr !== undefined && { pr: o.pr }),
      ...(o.private !== undefined && { private: o.private }),
      ...(o.commitMessage !== undefined && { commitMessage: o.commitMessage }),
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
  io.stdout(publishedText(p, r.source.path));
  for (const w of r.plan.warnings) io.stderr(`warning: ${w}\n`);
  return 0;
}

/** `patch --eval`'s measurement: the patched folder, its plan and the source's folder (drift's baseline) in. */
export type PatchMeasure = (dir: string, plan: Plan, source: string) => Promise<PatchEval>;

/**
 * `yarnify patch <hub source> [--push repo | --pr | --branch name] ...`. A source naming a .gguf file goes through
 * the GGUF path (the GGUF converter builds the header; tests may pass another extra.patchGgufHeader).
 */
export async function patchHubSource(
  model: string,
  target: PlanTarget,
  o: HubCliOptions,
  io: CliIo,
  extra: { patchGgufHeader?: GgufHeaderPatcher; measure?: PatchMeasure } = {},
): Promise<number> {
  if (parseHubSource(model)?.path?.endsWith(".gguf")) {
    if (extra.measure) throw new HubSourceError(model, "--eval measures Hugging Face format models (safetensors); this is a GGUF file");
    return patchHubGgufSource(model, target, o, io, extra.patchGgufHeader);
  }
  const progress = createProgressWriter({ write: io.stderr, isTTY: io.isTTY });
  const { measure } = extra;
  let measured: PatchEval | undefined;
  const r = await patchHub(
    {
      ...hubConnection(o, io),
      ...target,
      source: model,
      ...(o.push !== undefined && { push: o.push }),
      ...(o.branch !== undefined && { branch: o.branch }),
      ...(o.pr !== undefined && { pr: o.pr }),
      ...(o.private !== undefined && { private: o.private }),
      ...(o.out !== undefined && { out: o.out }),
      ...(o.dryRun !== undefined && { dryRun: o.dryRun }),
      ...(o.validate !== undefined && { validate: o.validate }),
      ...(measure && { evaluation: async (dir: string, plan: Plan, source: string) => (measured = await measure(dir, plan, source)).sections }),
      ...(o.commitMessage !== undefined && { commitMessage: o.commitMessage }),
      ...(o.overwrite !== undefined && { overwrite: o.overwrite }),
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
            ...(measured && { evaluation: measured.results }),
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
  if (measured) io.stdout(measured.text + "\n");
  if (r.publish) io.stdout(publishedText(r.publish));
  for (const w of r.patch.warnings) io.stderr(`warning: ${w}\n`);
  return 0;
}
