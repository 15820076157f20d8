// The evaluations' tables, as plain text for the terminal and Markdown for a model card: one row per method (per
// statistic for drift), one column per context length.
import type { PerplexityResult } from "./result.ts";

/**
 * A text table of perplexity per method (rows) and context (columns), for the terminal.
 *
 * @example
 * console.log(perplexityTable((await evaluate(params)).results));
 */
export function perplexityTable(results: readonly PerplexityResult[]): string {
  return textGrid(perplexityGrid(results));
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
  return markdownGrid(perplexityGrid(results));
}

type PasskeyCells = readonly { method: string; context: number; accuracy: number; trials: readonly { correct: boolean }[] }[];
type DriftCells = readonly { context: number; kl: number; perplexity: number; baselinePerplexity: number; top1Agreement: number }[];

/**
 * Passkey accuracy as a plain-text table, one row per method, one column per context length: "60% (3/5)".
 *
 * @example
 * print(io, passkeyTable(r.results)); // method  256  512 / yarn  80% (4/5)  60% (3/5)
 */
export function passkeyTable(results: PasskeyCells): string {
  return textGrid(passkeyGrid(results));
}

/**
 * The passkey table in Markdown (for a model card).
 *
 * @example
 * card += passkeyMarkdownTable(r.results); // | method | 256 | 512 | ...
 */
export function passkeyMarkdownTable(results: PasskeyCells): string {
  return markdownGrid(passkeyGrid(results));
}

/**
 * Drift statistics as a plain-text table: one row per statistic, one column per context length.
 *
 * @example
 * print(io, driftTable(r.results)); // KL, Δ perplexity, top-1 agreement per context
 */
export function driftTable(results: DriftCells): string {
  return textGrid(driftGrid(results));
}

/**
 * The drift table in Markdown (for a model card).
 *
 * @example
 * card += driftMarkdownTable(r.results); // | statistic | 256 | ...
 */
export function driftMarkdownTable(results: DriftCells): string {
  return markdownGrid(driftGrid(results));
}

interface Grid {
  header: string[];
  rows: string[][];
}

function perplexityGrid(results: readonly PerplexityResult[]): Grid {
  return grid(results.map((r) => ({ row: r.method, context: r.context, value: formatPpl(r.perplexity) })), "method");
}

function passkeyGrid(results: PasskeyCells): Grid {
  return grid(results.map((r) => ({
    row: r.method,
    context: r.context,
    value: `${(100 * r.accuracy).toFixed(0)}% (${r.trials.filter((t) => t.correct).length}/${r.trials.length})`,
  })), "method");
}

function driftGrid(results: DriftCells): Grid {
  return grid(results.flatMap((r) => [
    { row: "mean KL (nats)", context: r.context, value: r.kl.toFixed(6) },
    { row: "perplexity", context: r.context, value: formatPpl(r.perplexity) },
    { row: "baseline perplexity", context: r.context, value: formatPpl(r.baselinePerplexity) },
    { row: "Δ perplexity", context: r.context, value: (r.perplexity - r.baselinePerplexity).toFixed(4) },
    { row: "top-1 agreement", context: r.context, value: `${(100 * r.top1Agreement).toFixed(2)}%` },
  ]), "statistic");
}

function grid(cells: readonly { row: string; context: number; value: string }[], corner: string): Grid {
  const rowNames = [...new Set(cells.map((c) => c.row))];
  const contexts = [...new Set(cells.map((c) => c.context))].sort((a, b) => a - b);
  const cell = new Map(cells.map((c) => [`${c.row}@${c.context}`, c.value]));
  return { header: [corner, ...contexts.map(String)], rows: rowNames.map((m) => [m, ...contexts.map((c) => cell.get(`${m}@${c}`) ?? "-")]) };
}

function textGrid({ header, rows }: Grid): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cs: string[]) => cs.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

function markdownGrid({ header, rows }: Grid): string {
  const line = (cs: string[]) => `| ${cs.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`;
  return [line(header), `|---|${header.slice(1).map(() => "---:").join("|")}|`, ...rows.map(line)].join("\n");
}
