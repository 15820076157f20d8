// The batch manifest: which sources to patch and where to publish them. JSON, or YAML for files ending in
// .yaml/.yml. Items inherit "defaults"; each item gets a stable id (given, or a hash of its content) that the
// state file and the reports use, so an edited item counts as new work. A manifest whose items would overwrite
// each other (one id or report file, one repo and branch, one pull request's files) is refused before any runs.
import { YarnifyError } from "../core/errors.ts";
import { createHash } from "node:crypto";
import { HubSourceError } from "../hub/errors.ts";
import { parseHubSource } from "../hub/parse-hub-source.ts";
import { parse as parseYaml } from "yaml";
import type { ModelFormat } from "../core/types.ts";

export interface BatchItem {
  id: string;
  source: string;
  factor?: number;
  context?: number;
  format?: ModelFormat;
  /** Files of the source repo to patch (e.g. one GGUF of a GGUF repo). */
  files?: string[];
  push?: string;
  /** A local source's output path (a hub source publishes instead); default `<source>-yarn-<context>`. */
  out?: string;
  branch?: string;
  pr?: boolean;
  private?: boolean;
  /** Anything else the item runner understands (method, betas, validate...). */
  options?: Record<string, unknown>;
}

export interface BatchManifest {
  items: BatchItem[];
}

export class ManifestError extends YarnifyError {
  override name = "ManifestError";
}

const FORMATS: readonly ModelFormat[] = ["hf", "gguf", "onnx"];
const KNOWN_KEYS = new Set(["id", "source", "factor", "context", "format", "files", "push", "out", "branch", "pr", "private", "options"]);

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function checkItem(raw: Record<string, unknown>, where: string): BatchItem {
  for (const k of Object.keys(raw)) if (!KNOWN_KEYS.has(k)) throw new ManifestError(where, `unknown key "${k}" (put engine options under "options")`);
  const str = (k: string): string | undefined => {
    const v = raw[k];
    if (v === undefined) return undefined;
    if (typeof v !== "string" || v === "") throw new ManifestError(where, `"${k}" must be a non-empty string`);
    return v;
  };
  const num = (k: string): number | undefined => {
    const v = raw[k];
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw new ManifestError(where, `"${k}" must be a positive number`);
    return v;
  };
  const bool = (k: string): boolean | undefined => {
    const v = raw[k];
    if (v === undefined) return undefined;
    if (typeof v !== "boolean") throw new ManifestError(where, `"${k}" must be true or false`);
    return v;
  };
  const source = str("source");
  if (!source) throw new ManifestError(where, "\"source\" is required");
  try {
    parseHubSource(source);
  } catch (err) {
    if (err instanceof HubSourceError) throw new ManifestError(where, `"source": ${err.message}`);
    throw err;
  }
  const factor = num("factor");
  const context = num("context");
  if ((factor === undefined) === (context === undefined)) throw new ManifestError(where, "give exactly one of \"factor\" and \"context\"");
  const format = str("format") as ModelFormat | undefined;
  if (format !== undefined && !FORMATS.includes(format)) throw new ManifestError(where, `format must be one of ${FORMATS.join(", ")}`);
  const files = raw.files;
  if (files !== undefined && (!Array.isArray(files) || files.some((f) => typeof f !== "string" || f === ""))) {
    throw new ManifestError(where, "\"files\" must be a list of file names");
  }
  const options = raw.options;
  if (options !== undefined && !isRecord(options)) throw new ManifestError(where, "\"options\" must be an object");
  const pr = bool("pr");
  const push = str("push");
  if (pr && push) throw new ManifestError(where, "\"pr\" opens a pull request on the source; it cannot go with \"push\"");
  const item: Omit<BatchItem, "id"> = {
    source,
    ...(factor !== undefined && { factor }),
    ...(context !== undefined && { context }),
    ...(format !== undefined && { format }),
    ...(files !== undefined && { files: files as string[] }),
    ...(push !== undefined && { push }),
    ...(str("out") !== undefined && { out: str("out") }),
    ...(str("branch") !== undefined && { branch: str("branch") }),
    ...(pr !== undefined && { pr }),
    ...(bool("private") !== undefined && { private: bool("private") }),
    ...(options !== undefined && { options: options as Record<string, unknown> }),
  };
  return { id: str("id") ?? itemId(item), ...item };
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (isRecord(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]));
  return v;
}

/**
 * A stable id from the item's content: readable prefix plus a short hash.
 *
 * @example
 * itemId({ source: "Qwen/Qwen2.5-7B-Instruct", factor: 4 }); // "Qwen_Qwen2.5-7B-Instruct-" and 10 hex digits
 */
export function itemId(item: Omit<BatchItem, "id">): string {
  const hash = createHash("sha256").update(JSON.stringify(canonical(item))).digest("hex").slice(0, 10);
  const slug = item.source.replace(/^hf:\/\//, "").replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 60);
  return `${slug}-${hash}`;
}

/**
 * Parses a manifest: `{ "defaults": {...}, "items": [...] }` or a bare list of items.
 *
 * @example
 * const m = parseManifest(readFileSync("patches.yaml", "utf8"), "patches.yaml");
 * console.log(m.items.map((i) => i.id));
 */
export function parseManifest(text: string, fileName = "manifest.json"): BatchManifest {
  let data: unknown;
  try {
    data = /\.ya?ml$/i.test(fileName) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new ManifestError(fileName, `not valid ${/\.ya?ml$/i.test(fileName) ? "YAML" : "JSON"}: ${String((err as Error).message).split("\n")[0]}`);
  }
  const list = Array.isArray(data) ? data : isRecord(data) ? data.items : undefined;
  const defaults = isRecord(data) && !Array.isArray(data) ? data.defaults : undefined;
  if (!Array.isArray(list)) throw new ManifestError(fileName, "expected a list of items or an object with \"items\"");
  if (defaults !== undefined && !isRecord(defaults)) throw new ManifestError(fileName, "\"defaults\" must be an object");
  const items = list.map((raw, i) => {
    if (!isRecord(raw)) throw new ManifestError(fileName, `item ${i + 1} is not an object`);
    const merged: Record<string, unknown> = { ...(defaults ?? {}), ...raw };
    // An item's own factor or context replaces the default's other one.
    if ("factor" in raw && !("context" in raw)) delete merged.context;
    if ("context" in raw && !("factor" in raw)) delete merged.factor;
    return checkItem(merged, `${fileName} item ${i + 1}`);
  });
  assertNoOverwrites(items, fileName);
  return { items };
}

/**
 * The file name of an item's report. Ids are made safe for any file system; two ids can still share a name
 * (`a/b` and `a_b`, or `A` and `a` where case is folded), which parseManifest refuses.
 *
 * @example
 * reportFileName("org/llama 4k"); // "org_llama_4k.json"
 */
export function reportFileName(id: string): string {
  return `${id.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 120)}.json`;
}

/**
 * What an item writes that another item must not: its id (state), its report file, and on the hub its repo and
 * branch, or each file a pull request on its source changes. Each as a sentence that fits "items 1 and 2 …".
 */
function writes(item: BatchItem): string[] {
  const out = [`have the same id "${item.id}" (one would overwrite the other's state and report)`, `would write the same report ${reportFileName(item.id).toLowerCase()} (ids differ only in characters a file name cannot hold, or in case)`];
  const source = parseHubSource(item.source);
  if (!source) return out;
  if (item.pr) {
    const base = item.branch === undefined ? "" : ` against ${item.branch}`;
    for (const file of item.files ?? (source.path ? [source.path] : ["the config files"])) out.push(`both open a pull request on ${source.repo}${base} changing ${file}: merge them into one item or drop one`);
  } else if (item.push !== undefined || item.branch !== undefined) {
    out.push(`both publish to ${item.push ?? source.repo} (branch ${item.branch ?? "main"}): the second would publish over the first; give each its own repo or branch`);
  }
  return out;
}

/** Refuses items that would overwrite each other's state, report or publish, naming both. */
function assertNoOverwrites(items: readonly BatchItem[], fileName: string): void {
  const first = new Map<string, number>();
  items.forEach((item, i) => {
    for (const w of writes(item)) {
      const j = first.get(w);
      if (j !== undefined) throw new ManifestError(fileName, `items ${j + 1} ("${items[j].id}") and ${i + 1} ("${item.id}") ${w}`);
      first.set(w, i);
    }
  });
}

export interface Shard {
  /** 1-based: shard 1/4 is the first of four. */
  index: number;
  count: number;
}

/**
 * Parses `--shard i/n` (1-based); anything else is a ManifestError.
 *
 * @example
 * parseShard("2/8"); // { index: 2, count: 8 }
 */
export function parseShard(text: string): Shard {
  const m = text.match(/^(\d+)\/(\d+)$/);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) throw new ManifestError(`--shard ${text}`, "expected i/n with 1 <= i <= n (e.g. 2/8)");
  return { index, count };
}

/**
 * The items of one shard. Items are placed by a hash of their id, so a shard's share does not depend on the
 * manifest's order and every machine computes the same split; the union of all shards is the whole manifest.
 *
 * @example
 * const mine = shardItems(manifest.items, parseShard("2/8"));
 */
export function shardItems<T extends { id: string }>(items: readonly T[], shard: Shard): T[] {
  return items.filter((it) => {
    const h = createHash("sha256").update(it.id).digest();
    return h.readUInt32BE(0) % shard.count === shard.index - 1;
  });
}
