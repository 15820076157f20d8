// Publishes a model patched on this machine (`yarnify patch ./model --factor 4 --push me/model-long`): every file of
// the output directory (or the single output file, a GGUF or ONNX graph) in one commit, with a model card. Files
// are streamed from disk (Blobs over the files), never read whole into memory.
import { drain } from "../core/drain.ts";
import { openAsBlob, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, relative, sep } from "node:path";
import type { ModelFormat, Plan } from "../core/types.ts";
import { engineInstructions } from "./engine-instructions.ts";
import { type HubParams, splitHubParams } from "./hub-params.ts";
import { commitMessageFor, renderModelCard } from "./model-card.ts";
import type { CardSection, ValidationFigures } from "./model-card.ts";
import { publishIter } from "./publish.ts";
import type { PublishEvent, PublishOperation, PublishResult } from "./publish.ts";

export interface PublishLocalParams extends HubParams {
  /** The patched model: a directory, or a single file. */
  path: string;
  format: ModelFormat;
  plan: Plan;
  /** Target repo "org/name" (created if needed). */
  repo: string;
  branch?: string;
  private?: boolean;
  /** The original's hub id, for the card's base_model; a plain name (no "/") is shown without a link. Default: the output's name. */
  baseModel?: string;
  /** The source model's README.md, kept below our card. */
  existingCard?: string;
  validation?: ValidationFigures;
  evaluation?: CardSection[];
  toolVersion?: string;
  /** The commit's title (the `--commit-message`); yarnify's, naming the change, by default. */
  commitMessage?: string;
}

/** Repo paths and local files of a directory, recursively; dot-files and dot-directories are left out. */
function filesOf(dir: string): Array<{ repoPath: string; file: string }> {
  const out: Array<{ repoPath: string; file: string }> = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith(".")) continue;
      const full = join(d, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile()) out.push({ repoPath: relative(dir, full).split(sep).join("/"), file: full });
    }
  };
  walk(dir);
  return out.sort((a, b) => a.repoPath.localeCompare(b.repoPath));
}

/**
 * Publishes a locally patched model (a directory or one file) as one commit with a model card; the repo is created when missing.
 *
 * @example
 * const it = publishLocalIter({ path: "./m-yarn.gguf", format: "gguf", plan, repo: "me/m-GGUF-128k", accessToken });
 */
export async function* publishLocalIter(p: PublishLocalParams): AsyncGenerator<PublishEvent, PublishResult & { card: string }> {
  const isDir = statSync(p.path).isDirectory();
  const files = isDir ? filesOf(p.path) : [{ repoPath: basename(p.path), file: p.path }];
  const ownCard = files.find((f) => f.repoPath === "README.md");
  const existingCard = p.existingCard ?? (ownCard ? readFileSync(ownCard.file, "utf8") : undefined);
  const baseModel = p.baseModel ?? basename(p.path);
  const card = renderModelCard({
    baseModel,
    plan: p.plan,
    format: p.format,
    ...(existingCard !== undefined && { existingCard }),
    files: files.filter((f) => f.repoPath !== "README.md").map((f) => f.repoPath),
    ...(p.format === "hf" && { engines: await engineInstructions(p.path, p.repo, baseModel, p.plan.context) }),
    ...(p.validation && { validation: p.validation }),
    ...(p.evaluation && { evaluation: p.evaluation }),
    ...(p.toolVersion && { toolVersion: p.toolVersion }),
  });
  const operations: PublishOperation[] = [];
  for (const f of files) {
    if (f.repoPath !== "README.md") operations.push({ kind: "file", path: f.repoPath, content: await openAsBlob(f.file) });
  }
  operations.push({ kind: "file", path: "README.md", content: new Blob([card]) });
  const message = commitMessageFor(p.plan, p.format, baseModel);
  const result = yield* publishIter({
    ...splitHubParams(p).hub,
    repo: p.repo,
    operations,
    title: p.commitMessage ?? message.title,
    description: message.description,
    ...(p.branch !== undefined && { branch: p.branch }),
    private: p.private ?? false,
  });
  return { ...result, card };
}

/**
 * publishLocalIter drained: `onEvent` sees each upload event.
 *
 * @example
 * const r = await publishLocal({ path: "./qwen-128k", format: "hf", plan: result.plan, repo: "me/qwen-128k", accessToken });
 * console.log(r.commitUrl);
 */
export async function publishLocal(p: PublishLocalParams, onEvent?: (e: PublishEvent) => void): Promise<PublishResult & { card: string }> {
  return drain(publishLocalIter(p), onEvent);
}
