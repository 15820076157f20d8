// Parses what a user types to name a model on the hub:
//   org/name            org/name@revision            org/name@revision/path/in/repo.gguf
//   hf://org/name       hf://org/name@rev/path       org/name@refs/pr/3       hf://org/name@refs/pr/3/path
// The hub's special refs (refs/pr/N, refs/convert/NAME) are written as they are, as huggingface_hub's HfFileSystem
// takes them; any other revision containing "/" is written URL-encoded (feature%2Fx).
import { existsSync } from "node:fs";
import { HubSourceError } from "./errors.ts";
import { assertSafeRepoPath } from "./safe-repo-path.ts";

export interface HubSource {
  /** "org/name". */
  repo: string;
  /** Branch, tag or commit; undefined means the default branch. */
  revision?: string;
  /** A single file inside the repo, when the source names one. */
  path?: string;
}

const PART = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** The hub's refs that are not branches or tags: pull requests and the dataset viewer's conversions. */
const SPECIAL_REF = /^refs\/(pr\/\d+|convert\/\w+)$/;

function checkRepoPart(part: string, spec: string): void {
  if (!PART.test(part) || part.includes("..") || part.includes("--") || part.endsWith(".git")) {
    throw new HubSourceError(spec, `"${part}" is not a valid hub namespace or repo name`);
  }
}

/**
 * True when the string can only be a local path (so the CLI never sends it to the hub).
 *
 * @example
 * looksLikeLocalPath("./org/name"); // true
 */
export function looksLikeLocalPath(spec: string): boolean {
  return /^(\.{1,2}([\\/]|$)|\/|~|[A-Za-z]:[\\/])/.test(spec) || spec.includes("\\");
}

/**
 * Parses a hub source. Returns undefined for strings that are plainly local paths; throws HubSourceError for
 * strings that use the hub syntax (hf:// or org/name) but are malformed.
 *
 * @example
 * parseHubSource("hf://org/name@v1.0/sub/m.gguf"); // { repo: "org/name", revision: "v1.0", path: "sub/m.gguf" }
 */
export function parseHubSource(spec: string): HubSource | undefined {
  const explicit = spec.startsWith("hf://");
  if (!explicit && looksLikeLocalPath(spec)) return undefined;
  const body = explicit ? spec.slice("hf://".length) : spec;
  const parts = body.split("/");
  if (parts.length < 2 || parts[0] === "" || parts[1] === "") {
    if (!explicit) return undefined;
    throw new HubSourceError(spec, "expected hf://org/name[@revision][/path]");
  }
  const [org, nameRev, ...rest] = parts;
  const at = nameRev.indexOf("@");
  const name = at < 0 ? nameRev : nameRev.slice(0, at);
  let revisionRaw = at < 0 ? undefined : nameRev.slice(at + 1);
  // "refs" followed by pr/N or convert/NAME is one revision, not the start of a path.
  if (revisionRaw === "refs" && SPECIAL_REF.test(`refs/${rest.slice(0, 2).join("/")}`)) revisionRaw = `refs/${rest.splice(0, 2).join("/")}`;
  checkRepoPart(org, spec);
  checkRepoPart(name, spec);
  let revision: string | undefined;
  if (revisionRaw !== undefined) {
    try {
      revision = decodeURIComponent(revisionRaw);
    } catch {
      throw new HubSourceError(spec, `revision "${revisionRaw}" is not valid URL encoding`);
    }
    if (revision === "" || /[\s~^:?*[\\]/.test(revision) || revision.includes("..")) {
      throw new HubSourceError(spec, `"${revision}" is not a valid revision`);
    }
  }
  const path = rest.length > 0 ? rest.join("/") : undefined;
  if (path !== undefined) assertSafeRepoPath(path, `${org}/${name}`);
  return { repo: `${org}/${name}`, ...(revision !== undefined && { revision }), ...(path !== undefined && { path }) };
}

/**
 * Formats a source back to the hf:// form (for reports and model cards).
 *
 * @example
 * formatHubSource({ repo: "org/name", revision: "refs/pr/3", path: "m.gguf" }); // "hf://org/name@refs/pr/3/m.gguf"
 */
export function formatHubSource(source: HubSource): string {
  const rev = source.revision ? `@${SPECIAL_REF.test(source.revision) ? source.revision : encodeURIComponent(source.revision)}` : "";
  return `hf://${source.repo}${rev}${source.path ? "/" + source.path : ""}`;
}

/**
 * A model argument that names the hub: not an existing local path, and in hub syntax.
 *
 * @example
 * isHubModelArg("Qwen/Qwen2.5-7B-Instruct"); // true (unless such a folder exists here)
 */
export function isHubModelArg(arg: string): boolean {
  return !existsSync(arg) && parseHubSource(arg) !== undefined;
}
