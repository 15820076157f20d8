// `yarnify patch <hub source>` for Hugging Face format models: fetch what the step needs into the cache
// (config files to publish, every file for a local output), run the local patch, then publish: a pull request
// or branch on the source repo changes config files only; a new repo gets every file and a model card.
import { drain } from "../core/drain.ts";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve, sep } from "node:path";
import { removeStaleTemps, tempSibling, trackTemp, untrackTemp } from "../core/io/temp-paths.ts";
import { patch } from "../patch.ts";
import type { PatchResult } from "../patch.ts";
import type { Plan, PlanTarget } from "../core/types.ts";
import { defaultCacheDir, snapshotDir } from "./cache-dir.ts";
import { downloadToCacheIter, resolveCommit } from "./download-to-cache.ts";
import type { DownloadProgressEvent } from "./download-to-cache.ts";
import { HubPublishError, HubSourceError } from "./errors.ts";
import { validate } from "../validate/index.ts";
import type { Report } from "../validate/index.ts";
import { type HubParams, splitHubParams } from "./hub-params.ts";
import { listHubFiles } from "./list-hub-files.ts";
import { commitMessageFor, renderModelCard } from "./model-card.ts";
import { cardValidation } from "./model-card.ts";
import type { CardSection, ValidationFigures } from "./model-card.ts";
import { engineInstructions } from "./engine-instructions.ts";
import { parseHubSource } from "./parse-hub-source.ts";
import type { HubSource } from "./parse-hub-source.ts";
import { publishIter } from "./publish.ts";
import type { PublishEvent, PublishResult } from "./publish.ts";
import { hfPublishOperations } from "./publish-operations.ts";

/** Files the HF converter reads and may rewrite; everything else is carried over unchanged. */
export const HF_CONFIG_FILES = ["config.json", "tokenizer_config.json"];

export interface PatchHubParams extends PlanTarget, HubParams {
  /** "org/name[@rev]" or "hf://org/name[@rev]", or an already parsed source. */
  source: string | HubSource;
  cacheDir?: string;
  /** Local output directory. Without a publish target, the whole model is downloaded and written here. */
  out?: string;
  /** Target repo; missing with pr/branch means the source repo. */
  push?: string;
  branch?: string;
  pr?: boolean;
  private?: boolean;
  dryRun?: boolean;
  /** Validate the patched config before publishing (refuses to publish when a check fails); the checks go in the card. */
  validate?: boolean;
  /** Further figures for the model card's validation section (e.g. from an evaluation). */
  validation?: ValidationFigures;
  /**
   * Measures the patched model for the card's evaluation sections (the CLI's `--eval`: src/eval/card-eval.ts), given
   * the patched folder and the source's (the original, for drift). The whole model is downloaded first, as for a
   * local output.
   */
  evaluation?: (modelDir: string, plan: Plan, sourceDir: string) => Promise<CardSection[]>;
  toolVersion?: string;
  /** The commit's title (the `--commit-message`); yarnify's, naming the change, by default. */
  commitMessage?: string;
  /** Replace an existing local `out` (default false: refused). */
  overwrite?: boolean;
}

export type PatchHubEvent = DownloadProgressEvent | PublishEvent | { event: "patched"; changed: string[] };

export interface PatchHubResult {
  source: HubSource;
  /** The source commit everything was read from. */
  commit: string;
  patch: PatchResult;
  /** Repo paths that changed. */
  changed: string[];
  publish?: PublishResult;
  validation?: Report;
  /** The `evaluation` hook's sections. */
  evaluation?: CardSection[];
  /** The README.md published with a new repo. */
  card?: string;
}

/** The card's validation table: yarnify's checks, then any figures the caller adds. */

function sourceOf(s: string | HubSource): HubSource {
  if (typeof s !== "string") return s;
  const parsed = parseHubSource(s);
  if (!parsed) throw new HubSourceError(s, "not a hub source (expected org/name[@revision] or hf://org/name[@revision])");
  return parsed;
}

/**
 * Patches a Hugging Face format hub model: the config files into the cache, the local patch, then a pull request or branch on the source (config files only) or a new repo with every file and a model card; without a publish target, the whole model is written to `out`.
 *
 * @example
 * const it = patchHubIter({ source: "org/name@main", factor: 4, pr: true, accessToken });
 * for (let r = await it.next(); !r.done; r = await it.next()) console.log(r.value.event);
 */
export async function* patchHubIter(params: PatchHubParams): AsyncGenerator<PatchHubEvent, PatchHubResult> {
  const source = sourceOf(params.source);
  if (source.path !== undefined) throw new HubSourceError(`${source.repo}/${source.path}`, "a single file is not a Hugging Face format model (GGUF sources go through publishPatchedGguf)");
  const { hub, rest } = splitHubParams(params);
  const cacheDir = params.cacheDir ?? defaultCacheDir();
  const commit = await resolveCommit({ ...hub, repo: source.repo, revision: source.revision, cacheDir });
  const listing = await listHubFiles({ ...hub, repo: source.repo, revision: commit, cacheDir });
  const names = new Set(listing.map((f) => f.path));
  if (!names.has("config.json")) throw new HubSourceError(`${source.repo}@${commit.slice(0, 12)}`, "no config.json (not a Hugging Face format model)");
  const publishing = params.push !== undefined || params.pr === true || params.branch !== undefined;
  const target = params.push ?? source.repo;
  const sameRepo = target === source.repo;
  const dryRun = params.dryRun ?? false;
  const { source: _s, cacheDir: _c, out: _o, push: _p, branch: _b, pr: _pr, private: _priv, dryRun: _d, validate: doValidate, validation, evaluation: measure, toolVersion, commitMessage, overwrite, ...planTarget } = rest;
  // Planning and publishing need only the config files (and the source card for a new repo).
  const configs = [...HF_CONFIG_FILES, ...(publishing && !sameRepo ? ["README.md"] : [])].filter((p) => names.has(p));
  yield* downloadToCacheIter({ ...hub, repo: source.repo, commit, paths: configs, cacheDir, listing });
  const snap = snapshotDir(cacheDir, source.repo, commit);

  // The work folder is named after this process, so that the next run removes one a killed run left behind.
  const workName = join(tmpdir(), "yarnify-hub");
  removeStaleTemps(workName);
  const work = tempSibling(workName);
  trackTemp(work);
  try {
    mkdirSync(work);
    let out = params.out ?? join(work, "model");
    if (!publishing && !dryRun) {
      // A local output is a whole model: name it like a local patch would, then fetch every file.
      if (params.out === undefined) {
        const preview = await patch({ ...planTarget, model: snap, out, dryRun: true });
        out = resolve(`${source.repo.split("/")[1]}-yarn-${preview.plan.context}`);
      }
    }
    // Every file is needed for a local output, a measurement, or a new repo (published from the cache).
    if ((!publishing || measure || !sameRepo) && !dryRun) {
      yield* downloadToCacheIter({ ...hub, repo: source.repo, commit, paths: listing.map((f) => f.path), cacheDir, listing });
    }
    const result = await patch({ ...planTarget, model: snap, out, dryRun, ...(overwrite !== undefined && { overwrite }) });
    const changedFiles = result.files.filter((f) => f.how === "written").map((f) => relative(out, f.path).split(sep).join("/"));
    yield { event: "patched", changed: changedFiles };
    let report: Report | undefined;
    if (doValidate && !dryRun) {
      report = await validate({ model: out, plan: result.plan });
      if (!report.ok) {
        const failed = report.checks.filter((c) => c.status === "fail").map((c) => `${c.name}: ${c.detail}`);
        throw new HubPublishError(source.repo, `validation failed, nothing published (${failed.join("; ")})`);
      }
    }
    const evaluation = measure && !dryRun ? await measure(out, result.plan, snap) : undefined;
    if (!publishing || dryRun) return { source, commit, patch: result, changed: changedFiles, ...(report && { validation: report }), ...(evaluation && { evaluation }) };

    const changed = changedFiles.map((p) => ({ path: p, content: new Uint8Array(readFileSync(join(out, ...p.split("/")))) }));
    let card: string | undefined;
    if (!sameRepo) {
      const existingCard = names.has("README.md") ? readFileSync(join(snap, "README.md"), "utf8") : undefined;
      card = renderModelCard({
        baseModel: source.repo,
        plan: result.plan,
        format: "hf",
        ...(existingCard !== undefined && { existingCard }),
        engines: await engineInstructions(out, target, source.repo, result.plan.context),
        ...(cardValidation(report, validation) && { validation: cardValidation(report, validation) }),
        ...(evaluation && { evaluation }),
        ...(toolVersion && { toolVersion }),
      });
    }
    const operations = await hfPublishOperations({ ...hub, source: { repo: source.repo, revision: commit }, sameRepo, changed, ...(!sameRepo && { snapshot: snap }), ...(card !== undefined && { card }) });
    const message = commitMessageFor(result.plan, "hf", `${source.repo}@${commit.slice(0, 12)}`);
    // A pull request on a source read at a branch (org/name@dev --pr) goes against that branch.
    const publishBranch = params.branch ?? (sameRepo && params.pr && source.revision !== undefined && !/^[0-9a-f]{40}$/.test(source.revision) ? source.revision : undefined);
    const published = yield* publishIter({
      ...hub,
      repo: target,
      operations,
      title: commitMessage ?? message.title,
      description: message.description,
      ...(publishBranch !== undefined && { branch: publishBranch }),
      // On the source repo the change is made against the commit we read: a new branch starts there and a pull
      // request is based on it.
      ...(sameRepo && { branchFrom: commit, parentCommit: commit }),
      pr: params.pr ?? false,
      private: params.private ?? false,
    });
    return { source, commit, patch: result, changed: changedFiles, publish: published, ...(report && { validation: report }), ...(evaluation && { evaluation }), ...(card !== undefined && { card }) };
  } finally {
    rmSync(work, { recursive: true, force: true });
    untrackTemp(work);
  }
}

/**
 * patchHubIter drained: `onEvent` sees each download, patch and publish event.
 *
 * @example
 * const r = await patchHub({ source: "Qwen/Qwen2.5-7B-Instruct", factor: 4, push: "me/Qwen2.5-7B-Instruct-128k", accessToken });
 * console.log(r.publish?.commitUrl);
 */
export async function patchHub(params: PatchHubParams, onEvent?: (e: PatchHubEvent) => void): Promise<PatchHubResult> {
  return drain(patchHubIter(params), onEvent);
}
