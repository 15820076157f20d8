// Perplexity against context length as a standalone SVG: log-scale axes, one line per method.
import type { PerplexityResult } from "./result.ts";
import { formatPpl } from "./table.ts";

export interface PlotOptions {
  title?: string;
  width?: number;
  height?: number;
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

/**
 * Perplexity against context, one line per method, as a standalone SVG (log-scaled axes).
 *
 * @example
 * writeFileSync("perplexity.svg", perplexityPlotSvg(result.results, { title: "tiny-llama" }));
 */
export function perplexityPlotSvg(results: readonly PerplexityResult[], opts: PlotOptions = {}): string {
  const W = opts.width ?? 640, H = opts.height ?? 400;
  const m = { left: 64, right: 150, top: 36, bottom: 48 };
  const pw = W - m.left - m.right, ph = H - m.top - m.bottom;
  const finite = results.filter((r) => Number.isFinite(r.perplexity) && r.perplexity > 0);
  const contexts = [...new Set(finite.map((r) => r.context))].sort((a, b) => a - b);
  const methods = [...new Set(results.map((r) => r.method))];
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="20" text-anchor="middle" font-size="14">${esc(opts.title ?? "Perplexity vs context length")}</text>`);
  if (finite.length === 0) {
    out.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no finite results</text></svg>`);
    return out.join("\n");
  }
  const [x0, x1] = padRange(Math.log(contexts[0]!), Math.log(contexts[contexts.length - 1]!));
  const ppls = finite.map((r) => Math.log(r.perplexity));
  const [y0, y1] = padRange(Math.min(...ppls), Math.max(...ppls));
  const sx = (c: number) => m.left + ((Math.log(c) - x0) / (x1 - x0)) * pw;
  const sy = (p: number) => m.top + ph - ((Math.log(p) - y0) / (y1 - y0)) * ph;
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  for (const c of contexts) {
    const x = num(sx(c));
    out.push(`<line x1="${x}" y1="${m.top + ph}" x2="${x}" y2="${m.top + ph + 5}" stroke="#333"/>`);
    out.push(`<text x="${x}" y="${m.top + ph + 18}" text-anchor="middle">${c}</text>`);
  }
  for (const p of logTicks(Math.exp(y0), Math.exp(y1))) {
    const y = num(sy(p));
    out.push(`<line x1="${m.left - 5}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#ddd"/>`);
    out.push(`<text x="${m.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${esc(formatTick(p))}</text>`);
  }
  out.push(`<text x="${m.left + pw / 2}" y="${H - 10}" text-anchor="middle">context length (tokens, log scale)</text>`);
  out.push(`<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">perplexity (log scale)</text>`);
  methods.forEach((method, i) => {
    const color = COLORS[i % COLORS.length]!;
    const pts = finite.filter((r) => r.method === method).sort((a, b) => a.context - b.context);
    if (pts.length > 1) {
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((r) => `${num(sx(r.context))},${num(sy(r.perplexity))}`).join(" ")}"/>`);
    }
    for (const r of pts) {
      out.push(`<circle cx="${num(sx(r.context))}" cy="${num(sy(r.perplexity))}" r="3" fill="${color}"><title>${esc(`${method} @ ${r.context}: ${formatPpl(r.perplexity)}`)}</title></circle>`);
    }
    const ly = m.top + 10 + i * 18;
    out.push(`<line x1="${m.left + pw + 12}" y1="${ly}" x2="${m.left + pw + 32}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${m.left + pw + 38}" y="${ly}" dominant-baseline="middle">${esc(method)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n");
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

function formatTick(p: number): string {
  return p >= 100 ? p.toFixed(0) : Number(p.toPrecision(3)).toString();
}

const num = (v: number) => Number(v.toFixed(2));
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
