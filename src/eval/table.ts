// A plain-text table: one row per method, one column per context length.
import type { PerplexityResult } from "./result.ts";

/**
 * A text table of perplexity per method (rows) and context (columns), for the terminal.
 *
 * @example
 * console.log(perplexityTable((await evaluate(params)).results));
 */
export function perplexityTable(results: readonly PerplexityResult[]): string {
  const methods = [...new Set(results.map((r) => r.method))];
  const contexts = [...new Set(results.map((r) => r.context))].sort((a, b) => a - b);
  const cell = new Map(results.map((r) => [`${r.method}@${r.context}`, r.perplexity]));
  const header = ["method", ...contexts.map(String)];
  const rows = methods.map((m) => [m, ...contexts.map((c) => formatPpl(cell.get(`${m}@${c}`)))]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

export function formatPpl(p: number | undefined): string {
  if (p === undefined) return "-";
  if (!Number.isFinite(p)) return String(p);
  return p >= 1000 ? p.toExponential(2) : p.toFixed(p >= 100 ? 1 : 3);
}

/**
 * The same table in Markdown (for a model card): perplexity per method and context, lower is better.
 *
 * @example
 * card += perplexityMarkdownTable(result.results);
 */
export function perplexityMarkdownTable(results: readonly PerplexityResult[]): string {
  const methods = [...new Set(results.map((r) => r.method))];
  const contexts = [...new Set(results.map((r) => r.context))].sort((a, b) => a - b);
  const cell = new Map(results.map((r) => [`${r.method}@${r.context}`, r.perplexity]));
  return [
    `| method | ${contexts.join(" | ")} |`,
    `|---|${contexts.map(() => "---:").join("|")}|`,
    ...methods.map((m) => `| ${m.replace(/\|/g, "\\|")} | ${contexts.map((c) => formatPpl(cell.get(`${m}@${c}`))).join(" | ")} |`),
  ].join("\n");
}
