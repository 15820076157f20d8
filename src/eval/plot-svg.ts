// Standalone SVG charts for the evaluations: a line chart over context length (log x; log or linear y), drawn as
// panels that stack into one file, and perplexity against context on it.
import type { PerplexityResult } from "./result.ts";
import { formatPpl } from "./table.ts";

export interface PlotOptions {
  title?: string;
  width?: number;
  height?: number;
}

/** A drawn part of a figure: its size and its SVG elements, placed at the origin. */
export interface Panel {
  width: number;
  height: number;
  body: string[];
}

export interface LineSeries {
  name: string;
  /** x is a context length (> 0); points with a non-finite y are left out. */
  points: { x: number; y: number }[];
}

export interface LineChartOptions extends PlotOptions {
  xLabel: string;
  yLabel: string;
  /** Log-scaled y (values must be > 0; others are left out); linear otherwise. */
  yLog?: boolean;
  /** Linear y: the axis range (default: from the data, 0 included). */
  yDomain?: [number, number];
  /** Tick and tooltip text of a y value. */
  formatY: (y: number) => string;
}

export const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

/**
 * Perplexity against context, one line per method, as a standalone SVG (log-scaled axes).
 *
 * @example
 * writeFileSync("perplexity.svg", perplexityPlotSvg(result.results, { title: "tiny-llama" }));
 */
export function perplexityPlotSvg(results: readonly PerplexityResult[], opts: PlotOptions = {}): string {
  const methods = [...new Set(results.map((r) => r.method))];
  const series = methods.map((name) => ({ name, points: results.filter((r) => r.method === name).map((r) => ({ x: r.context, y: r.perplexity })) }));
  return svgDocument([lineChart(series, {
    title: "Perplexity vs context length",
    ...opts,
    xLabel: "context length (tokens, log scale)",
    yLabel: "perplexity (log scale)",
    yLog: true,
    formatY: formatPpl,
  })]);
}

/**
 * Panels stacked top to bottom in one standalone SVG document, as wide as the widest.
 *
 * @example
 * writeFileSync("passkey.svg", svgDocument([lineChart(series, opts), heatmap]));
 */
export function svgDocument(panels: readonly Panel[]): string {
  const W = Math.max(...panels.map((p) => p.width));
  const H = panels.reduce((h, p) => h + p.height, 0);
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`];
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  let y = 0;
  for (const p of panels) {
    out.push(y === 0 ? "<g>" : `<g transform="translate(0 ${y})">`, ...p.body, "</g>");
    y += p.height;
  }
  out.push("</svg>");
  return out.join("\n");
}

/**
 * One line per series against context length (log x, one tick per context seen), with a legend on the right.
 *
 * @example
 * const panel = lineChart([{ name: "yarn", points: [{ x: 256, y: 1 }, { x: 512, y: 0.6 }] }], { xLabel: "context", yLabel: "accuracy", formatY: String });
 */
export function lineChart(series: readonly LineSeries[], opts: LineChartOptions): Panel {
  const W = opts.width ?? 640, H = opts.height ?? 400;
  const m = { left: 64, right: 150, top: 36, bottom: 48 };
  const pw = W - m.left - m.right, ph = H - m.top - m.bottom;
  const usable = (y: number) => Number.isFinite(y) && (!opts.yLog || y > 0);
  const kept = series.map((s) => ({ name: s.name, points: s.points.filter((p) => usable(p.y) && p.x > 0).sort((a, b) => a.x - b.x) }));
  const all = kept.flatMap((s) => s.points);
  const out: string[] = [];
  out.push(`<text x="${m.left + pw / 2}" y="20" text-anchor="middle" font-size="14">${esc(opts.title ?? "")}</text>`);
  if (all.length === 0) {
    out.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no finite results</text>`);
    return { width: W, height: H, body: out };
  }
  const contexts = [...new Set(all.map((p) => p.x))].sort((a, b) => a - b);
  const [x0, x1] = padRange(Math.log(contexts[0]!), Math.log(contexts[contexts.length - 1]!));
  const ty = opts.yLog ? Math.log : (y: number) => y;
  const [y0, y1] = opts.yLog
    ? padRange(Math.min(...all.map((p) => Math.log(p.y))), Math.max(...all.map((p) => Math.log(p.y))))
    : opts.yDomain ?? padRange(Math.min(0, ...all.map((p) => p.y)), Math.max(...all.map((p) => p.y)));
  const sx = (c: number) => m.left + ((Math.log(c) - x0) / (x1 - x0)) * pw;
  const sy = (v: number) => m.top + ph - ((ty(v) - y0) / (y1 - y0)) * ph;
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  for (const c of contexts) {
    const x = num(sx(c));
    out.push(`<line x1="${x}" y1="${m.top + ph}" x2="${x}" y2="${m.top + ph + 5}" stroke="#333"/>`);
    out.push(`<text x="${x}" y="${m.top + ph + 18}" text-anchor="middle">${c}</text>`);
  }
  for (const t of opts.yLog ? logTicks(Math.exp(y0), Math.exp(y1)) : linearTicks(y0, y1)) {
    const y = num(sy(t));
    out.push(`<line x1="${m.left - 5}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#ddd"/>`);
    out.push(`<text x="${m.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${esc(opts.yLog ? formatTick(t) : opts.formatY(t))}</text>`);
  }
  out.push(`<text x="${m.left + pw / 2}" y="${H - 10}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`);
  kept.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    if (s.points.length > 1) {
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash(i)} points="${s.points.map((p) => `${num(sx(p.x))},${num(sy(p.y))}`).join(" ")}"/>`);
    }
    for (const p of s.points) {
      out.push(`<circle cx="${num(sx(p.x))}" cy="${num(sy(p.y))}" r="3" fill="${color}"><title>${esc(`${s.name} @ ${p.x}: ${opts.formatY(p.y)}`)}</title></circle>`);
    }
    const ly = m.top + 10 + i * 18;
    out.push(`<line x1="${m.left + pw + 12}" y1="${ly}" x2="${m.left + pw + 32}" y2="${ly}" stroke="${color}" stroke-width="2"${dash(i)}/>`);
    out.push(`<text x="${m.left + pw + 38}" y="${ly}" dominant-baseline="middle">${esc(s.name)}</text>`);
  });
  return { width: W, height: H, body: out };
}

/** Each series after the first is dashed, so that lines drawn over each other (equal figures) all stay visible. */
function dash(i: number): string {
  const patterns = ["", "6 4", "2 3", "8 3 2 3"];
  return i % patterns.length === 0 ? "" : ` stroke-dasharray="${patterns[i % patterns.length]}"`;
}

function padRange(lo: number, hi: number): [number, number] {
  if (hi - lo < 1e-9) return [lo - 0.5, hi + 0.5];
  const pad = (hi - lo) * 0.06;
  return [lo - pad, hi + pad];
}

/** 1-2-5 ticks per decade within [lo, hi]; at least the two ends when the range is narrow. */
function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const f of [1, 2, 5]) {
      const t = f * 10 ** e;
      if (t >= lo && t <= hi) ticks.push(t);
    }
  }
  return ticks.length >= 2 ? ticks : [lo, hi];
}

/** About five evenly spaced ticks at a 1-2-2.5-5 step within [lo, hi]. */
function linearTicks(lo: number, hi: number): number[] {
  const raw = (hi - lo) / 5;
  const e = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * e).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function formatTick(p: number): string {
  return p >= 100 ? p.toFixed(0) : Number(p.toPrecision(3)).toString();
}

export const num = (v: number): number => Number(v.toFixed(2));
export const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
