// Writes the README.md of a patched model: YAML front matter (base_model, the source's license, tags), what was
// changed (the YaRN parameters of the Plan), how to run it in each engine, validation figures when there are
// some, and the source's own card kept below ours. Pure: text in, text out.
import type { ModelFormat, Plan } from "../core/types.ts";
import type { Report } from "../validate/report.ts";

export interface EngineInstructions {
  /** Display name, e.g. "llama.cpp". */
  engine: string;
  /** A command line or config snippet (the `flags` output for this engine). */
  command: string;
  note?: string;
}

export interface ValidationFigures {
  /** Rows of a table; columns are the union of the keys, in first-seen order. */
  rows: Array<Record<string, string | number | boolean>>;
  note?: string;
}

/** A measurement of the patched model (`patch --eval`): its heading, a note on how it was measured, a Markdown table. */
export interface CardSection {
  title: string;
  note: string;
  markdown: string;
}

export interface ModelCardInput {
  /** Source repo id ("org/name"); a name without "/" is a local model (no base_model key, no link). */
  baseModel: string;
  plan: Plan;
  format: ModelFormat;
  /** The source's README.md (front matter and body), when it has one. */
  existingCard?: string;
  /** Overrides the license found in the existing card. */
  license?: string;
  files?: string[];
  engines?: EngineInstructions[];
  validation?: ValidationFigures;
  /** Sections after the validation, in order (perplexity, passkey retrieval, drift from the original). */
  evaluation?: CardSection[];
  toolVersion?: string;
}

export const CARD_TAGS = ["yarn", "long-context", "rope-scaling"] as const;

/** Front matter keys of the source card carried over verbatim (license details, languages, pipeline). */
const CARRIED_KEYS = ["license", "license_name", "license_link", "language", "library_name", "pipeline_tag", "extra_gated_prompt"];

export interface SplitCard {
  frontMatter: string | undefined;
  body: string;
}

/**
 * A card's YAML front matter (the text between its `---` lines; undefined when it has none) and its body.
 *
 * @example
 * const { frontMatter, body } = splitFrontMatter(readFileSync("README.md", "utf8"));
 */
export function splitFrontMatter(card: string): SplitCard {
  const m = card.replace(/^\uFEFF/, "").match(/^---\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/);
  if (!m) return { frontMatter: undefined, body: card };
  return { frontMatter: m[1], body: card.slice(m[0].length) };
}

/** Top-level YAML blocks ("key: ..." and its indented or list continuation lines), by key. */
function yamlBlocks(yaml: string): Map<string, string[]> {
  const blocks = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of yaml.split(/\r?\n/)) {
    const key = line.match(/^([A-Za-z_][\w-]*)\s*:/);
    if (key) {
      current = [line];
      blocks.set(key[1], current);
    } else if (current && (line.startsWith(" ") || line.startsWith("\t") || line.startsWith("-") || line.trim() === "")) {
      current.push(line);
    } else {
      current = undefined;
    }
  }
  return blocks;
}

function scalarOf(block: string[] | undefined): string | undefined {
  const v = block?.[0].replace(/^[^:]*:\s*/, "").trim();
  return v ? v.replace(/^["']|["']$/g, "") : undefined;
}

function listOf(block: string[] | undefined): string[] {
  if (!block) return [];
  const inline = block[0].replace(/^[^:]*:\s*/, "").trim();
  if (inline.startsWith("[")) return inline.slice(1, -1).split(",").map((s) => s.trim().replace(/^["']|["']$/g, "")).filter(Boolean);
  return block.slice(1).map((l) => l.trim()).filter((l) => l.startsWith("-")).map((l) => l.slice(1).trim().replace(/^["']|["']$/g, ""));
}

/**
 * The license declared in a card's front matter.
 *
 * @example
 * cardLicense("---\nlicense: apache-2.0\n---\n# Model"); // "apache-2.0"
 */
export function cardLicense(card: string | undefined): string | undefined {
  const fm = card ? splitFrontMatter(card).frontMatter : undefined;
  return fm ? scalarOf(yamlBlocks(fm).get("license")) : undefined;
}

const q = (s: string): string => JSON.stringify(s);
const WHAT_CHANGED: Record<ModelFormat, string> = {
  hf: "Only the configuration changed; the weights are the original ones.",
  gguf: "Only the file's metadata changed; the tensors are the original ones.",
  onnx: "Only the RoPE tensors (inv_freq or the cos/sin caches) were regenerated; every other weight is the original one.",
};
const isRepoId = (s: string): boolean => /^[\w.-]+\/[\w.-]+$/.test(s);
const fmt = (n: number | undefined, digits = 6): string => (n === undefined ? "–" : String(Number(n.toPrecision(digits))));
const cell = (v: string | number | boolean | undefined): string => (v === undefined ? "" : String(v).replace(/\|/g, "\\|").replace(/\n/g, " "));

function frontMatter(input: ModelCardInput, source: Map<string, string[]>): string {
  const lines: string[] = [];
  for (const key of CARRIED_KEYS) {
    if (key === "license" && input.license) continue;
    const block = source.get(key);
    if (block) lines.push(...block.filter((l, i) => i === 0 || l.trim() !== ""));
  }
  if (input.license) lines.unshift(`license: ${q(input.license)}`);
  if (isRepoId(input.baseModel)) lines.push(`base_model: ${q(input.baseModel)}`);
  const tags = [...CARD_TAGS, ...(input.format === "gguf" ? ["gguf"] : []), ...listOf(source.get("tags"))];
  lines.push("tags:", ...[...new Set(tags)].map((t) => `- ${q(t)}`));
  return `---\n${lines.join("\n")}\n---\n`;
}

function parameterTable(plan: Plan): string {
  const s = plan.scaling;
  const rows: Array<[string, string]> = [
    ["method", plan.method],
    ["factor", fmt(plan.factor)],
    ["original context (tokens)", String(plan.originalContext)],
    ["new context (tokens)", String(plan.context)],
    ["rope theta", fmt(plan.theta, 10)],
    ["rotary dims / head dim", `${plan.rotaryDim} / ${plan.headDim}`],
  ];
  if (s.betaFast !== undefined) rows.push(["beta_fast", fmt(s.betaFast)]);
  if (s.betaSlow !== undefined) rows.push(["beta_slow", fmt(s.betaSlow)]);
  if (s.mscale !== undefined) rows.push(["mscale", fmt(s.mscale)]);
  if (s.mscaleAllDim !== undefined) rows.push(["mscale_all_dim", fmt(s.mscaleAllDim)]);
  if (s.truncate !== undefined) rows.push(["truncate", String(s.truncate)]);
  rows.push(["attention factor (cos/sin multiplier)", fmt(plan.attentionFactor)]);
  if (plan.correction) rows.push(["correction range (pairs)", `${fmt(plan.correction.low)} – ${fmt(plan.correction.high)}`]);
  if (plan.bands) {
    const b = plan.bands;
    rows.push(["pairs kept / blended / interpolated", `${b.extrapolated[1] - b.extrapolated[0]} / ${b.ramped[1] - b.ramped[0]} / ${b.interpolated[1] - b.interpolated[0]}`]);
  }
  return ["| parameter | value |", "|---|---|", ...rows.map(([k, v]) => `| ${k} | ${cell(v)} |`)].join("\n");
}

function validationTable(v: ValidationFigures): string {
  const cols: string[] = [];
  for (const row of v.rows) for (const k of Object.keys(row)) if (!cols.includes(k)) cols.push(k);
  const table = [`| ${cols.map(cell).join(" | ")} |`, `|${cols.map(() => "---").join("|")}|`, ...v.rows.map((r) => `| ${cols.map((c) => cell(r[c])).join(" | ")} |`)];
  return (v.note ? v.note + "\n\n" : "") + table.join("\n");
}

/**
 * The README.md of a published model: front matter (base_model, tags, license kept from the source), what changed, how each engine runs it, validation and evaluation figures, then the source card.
 *
 * @example
 * const card = renderModelCard({ baseModel: "Qwen/Qwen2.5-7B-Instruct", plan, format: "hf", existingCard });
 */
export function renderModelCard(input: ModelCardInput): string {
  const { plan } = input;
  const existing = input.existingCard !== undefined ? splitFrontMatter(input.existingCard) : undefined;
  const sourceYaml = existing?.frontMatter !== undefined ? yamlBlocks(existing.frontMatter) : new Map<string, string[]>();
  const name = input.baseModel.split("/")[1] ?? input.baseModel;
  const out: string[] = [frontMatter(input, sourceYaml)];
  out.push(`# ${name} with ${plan.context.toLocaleString("en-US")}-token context (${plan.method}, factor ${fmt(plan.factor)})`, "");
  out.push(
    `This is ${isRepoId(input.baseModel) ? `[${input.baseModel}](https://huggingface.co/${input.baseModel})` : "`" + input.baseModel + "`"} with its RoPE scaling set to ${plan.method} ` +
      `by [yarnify](https://www.npmjs.com/package/yarnify)${input.toolVersion ? ` ${input.toolVersion}` : ""}: the context grows from ` +
      `${plan.originalContext} to ${plan.context} tokens. ` +
      WHAT_CHANGED[input.format],
    "",
  );
  if (input.files && input.files.length > 0) out.push(`Files: ${input.files.map((f) => "`" + f + "`").join(", ")}.`, "");
  out.push("## What changed", "", parameterTable(plan), "");
  if (plan.warnings.length > 0) out.push("Warnings from the planner:", "", ...plan.warnings.map((w) => `- ${w}`), "");
  out.push(
    "Static scaling applies to every prompt, also short ones, where it can cost a little quality: use this model when you need the long context.",
    "",
  );
  if (input.engines && input.engines.length > 0) {
    out.push("## How to run it", "");
    for (const e of input.engines) {
      out.push(`### ${e.engine}`, "", "```", e.command.trimEnd(), "```", "");
      if (e.note) out.push(e.note, "");
    }
  }
  if (input.validation && input.validation.rows.length > 0) out.push("## Validation", "", validationTable(input.validation), "");
  for (const s of input.evaluation ?? []) out.push(`## ${s.title}`, "", s.note, "", s.markdown, "");
  if (existing && existing.body.trim() !== "") out.push("---", "", "## Original model card", "", existing.body.trim(), "");
  return out.join("\n");
}

/** The card's validation table: the report's checks, then any further rows (an evaluation). */
export function cardValidation(report: Report | undefined, extra: ValidationFigures | undefined): ValidationFigures | undefined {
  const rows = [...(report?.checks.map((c) => ({ check: c.name, status: c.status, detail: c.detail })) ?? []), ...(extra?.rows ?? [])];
  if (rows.length === 0) return undefined;
  return { rows, ...(extra?.note !== undefined ? { note: extra.note } : report ? { note: "Checked by `yarnify validate` on the patched configuration." } : {}) };
}

/**
 * A one-line commit title and a description listing the change, for the publish commit.
 *
 * @example
 * const { title, description } = commitMessageFor(plan, "hf", "Qwen/Qwen2.5-7B-Instruct@a09a35458c70");
 */
export function commitMessageFor(plan: Plan, format: ModelFormat, baseModel: string): { title: string; description: string } {
  return {
    title: `yarnify: ${plan.method} x${fmt(plan.factor)} RoPE scaling (${plan.originalContext} -> ${plan.context} tokens)`,
    description:
      `Patched ${baseModel} (${format}) with yarnify: ${plan.method}, factor ${fmt(plan.factor)}, original context ${plan.originalContext}, ` +
      `new context ${plan.context}, attention factor ${fmt(plan.attentionFactor)}. Weights unchanged.`,
  };
}
