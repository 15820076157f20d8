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

/**
 * Passkey accuracy as a plain-text table, one row per method, one column per context length.
 *
 * @example
 * print(io, passkeyTable(r.results)); // method  256  512 / yarn  0.80  0.60
 */
export function passkeyTable(results: readonly { method: string; context: number; accuracy: number }[]): string {
  return grid(results.map((r) => ({ row: r.method, context: r.context, value: `${(100 * r.accuracy).toFixed(0)}%` })), "method");
}

/**
 * Drift statistics as a plain-text table: one row per statistic, one column per context length.
 *
 * @example
 * print(io, driftTable(r.results)); // KL, Δ perplexity, top-1 agreement per context
 */
export function driftTable(results: readonly { context: number; kl: number; perplexity: number; baselinePerplexity: number; top1Agreement: number }[]): string {
  return grid(results.flatMap((r) => [
    { row: "mean KL (nats)", context: r.context, value: r.kl.toFixed(6) },
    { row: "perplexity", context: r.context, value: formatPpl(r.perplexity) },
    { row: "baseline perplexity", context: r.context, value: formatPpl(r.baselinePerplexity) },
    { row: "Δ perplexity", context: r.context, value: (r.perplexity - r.baselinePerplexity).toFixed(4) },
    { row: "top-1 agreement", context: r.context, value: `${(100 * r.top1Agreement).toFixed(2)}%` },
  ]), "statistic");
}

function grid(cells: readonly { row: string; context: number; value: string }[], corner: string): string {
  const rowNames = [...new Set(cells.map((c) => c.row))];
  const contexts = [...new Set(cells.map((c) => c.context))].sort((a, b) => a - b);
  const cell = new Map(cells.map((c) => [`${c.row}@${c.context}`, c.value]));
  const header = [corner, ...contexts.map(String)];
  const rows = rowNames.map((m) => [m, ...contexts.map((c) => cell.get(`${m}@${c}`) ?? "-")]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cs: string[]) => cs.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
