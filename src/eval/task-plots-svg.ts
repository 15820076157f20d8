// The passkey and drift plots (`eval --task passkey|drift --plot`): accuracy against context with, for fixed
// depths, a context × depth heatmap per method below it; mean KL against context.
import { esc, lineChart, num, type Panel, type PlotOptions, svgDocument } from "./plot-svg.ts";
import type { DriftRow, PasskeyRow } from "./tasks.ts";

const percent = (a: number) => `${Number((100 * a).toFixed(1))}%`;

/**
 * Passkey accuracy against context, one line per method; with `depths` (the fixed depths the prompts were built
 * at), a context × depth heatmap per method below it, each trial counted at the depth nearest its own.
 *
 * @example
 * writeFileSync("passkey.svg", passkeyPlotSvg(r.results, { depths: [0, 0.5, 1], title: "tiny: passkey" }));
 */
export function passkeyPlotSvg(results: readonly PasskeyRow[], opts: PlotOptions & { depths?: readonly number[] } = {}): string {
  const methods = [...new Set(results.map((r) => r.method))];
  const series = methods.map((name) => ({ name, points: results.filter((r) => r.method === name).map((r) => ({ x: r.context, y: r.accuracy })) }));
  const chart = lineChart(series, {
    title: "Passkey accuracy vs context length",
    ...opts,
    xLabel: "context length (tokens, log scale)",
    yLabel: "passkey accuracy",
    yDomain: [-0.04, 1.04],
    formatY: percent,
  });
  return svgDocument(opts.depths && opts.depths.length > 0 ? [chart, passkeyHeatmap(results, opts.depths)] : [chart]);
}

/**
 * The heatmap's fill for an accuracy in [0, 1]: viridis, dark purple (0) through teal to yellow (1).
 *
 * @example
 * accuracyColor(1); // "#fde725"
 */
export function accuracyColor(accuracy: number): string {
  const stops = [[0x44, 0x01, 0x54], [0x3b, 0x52, 0x8b], [0x21, 0x91, 0x8c], [0x5e, 0xc9, 0x62], [0xfd, 0xe7, 0x25]];
  const t = Math.min(1, Math.max(0, accuracy)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(t));
  const rgb = stops[i]!.map((c, k) => Math.round(c + (stops[i + 1]![k]! - c) * (t - i)));
  return "#" + rgb.map((c) => c.toString(16).padStart(2, "0")).join("");
}

/** One panel per method, side by side: contexts across, depths down (0 = the key right after the task line). */
function passkeyHeatmap(results: readonly PasskeyRow[], depthList: readonly number[]): Panel {
  const depths = [...new Set(depthList)].sort((a, b) => a - b);
  const contexts = [...new Set(results.map((r) => r.context))].sort((a, b) => a - b);
  const methods = [...new Set(results.map((r) => r.method))];
  const cw = Math.max(44, Math.min(72, 420 / contexts.length)), ch = Math.max(22, Math.min(36, 300 / depths.length));
  const m = { left: 64, top: 58, bottom: 44, gap: 40 };
  const ph = depths.length * ch;
  // A panel is as wide as its cells, or its method's name when that is wider.
  const pw = Math.max(contexts.length * cw, ...methods.map((x) => 7 * x.length));
  const nearest = (d: number) => depths.reduce((best, x) => (Math.abs(x - d) < Math.abs(best - d) ? x : best));
  const out: string[] = [];
  const legendX = m.left + methods.length * (pw + m.gap) - m.gap + 12;
  out.push(`<text x="${num((m.left + legendX) / 2)}" y="22" text-anchor="middle" font-size="14">passkey accuracy by context and key depth</text>`);
  methods.forEach((method, k) => {
    const x0 = m.left + k * (pw + m.gap);
    out.push(`<text x="${num(x0 + pw / 2)}" y="${m.top - 10}" text-anchor="middle">${esc(method)}</text>`);
    contexts.forEach((context, i) => {
      const trials = results.find((r) => r.method === method && r.context === context)?.trials ?? [];
      depths.forEach((depth, j) => {
        const mine = trials.filter((t) => nearest(t.depth) === depth);
        if (mine.length === 0) return;
        const correct = mine.filter((t) => t.correct).length;
        const acc = correct / mine.length;
        const x = num(x0 + i * cw), y = num(m.top + j * ch);
        out.push(`<rect x="${x}" y="${y}" width="${num(cw)}" height="${num(ch)}" fill="${accuracyColor(acc)}" stroke="white" data-accuracy="${acc}"><title>${esc(`${method} @ ${context}, depth ${depth}: ${correct}/${mine.length}`)}</title></rect>`);
        // Dark text on the light (high-accuracy) end of the scale, light text on the dark end.
        out.push(`<text x="${num(x + cw / 2)}" y="${num(y + ch / 2)}" text-anchor="middle" dominant-baseline="middle" font-size="11" fill="${acc > 0.6 ? "#000" : "#fff"}">${percent(acc)}</text>`);
      });
      out.push(`<text x="${num(x0 + (i + 0.5) * cw)}" y="${m.top + ph + 16}" text-anchor="middle">${context}</text>`);
    });
    if (k === 0) {
      depths.forEach((depth, j) => out.push(`<text x="${x0 - 8}" y="${num(m.top + (j + 0.5) * ch)}" text-anchor="end" dominant-baseline="middle">${depth}</text>`));
      out.push(`<text transform="translate(16 ${num(m.top + ph / 2)}) rotate(-90)" text-anchor="middle">key depth</text>`);
    }
    out.push(`<text x="${num(x0 + (contexts.length * cw) / 2)}" y="${m.top + ph + 34}" text-anchor="middle">context length (tokens)</text>`);
  });
  // The colour scale, 0% to 100%, right of the last panel.
  for (let s = 0; s <= 10; s++) {
    out.push(`<rect x="${legendX}" y="${num(m.top + ph - ((s + 1) * ph) / 11)}" width="12" height="${num(ph / 11 + 0.5)}" fill="${accuracyColor(s / 10)}"/>`);
  }
  out.push(`<text x="${legendX + 16}" y="${m.top + ph}" dominant-baseline="middle" font-size="10">0%</text>`);
  out.push(`<text x="${legendX + 16}" y="${m.top}" dominant-baseline="middle" font-size="10">100%</text>`);
  return { width: legendX + 50, height: m.top + ph + m.bottom, body: out };
}

/**
 * Drift's mean KL divergence (nats) from the original against context, as a standalone SVG.
 *
 * @example
 * writeFileSync("drift.svg", driftPlotSvg(r.results, { title: "tiny ×2 against tiny" }));
 */
export function driftPlotSvg(results: readonly DriftRow[], opts: PlotOptions = {}): string {
  return svgDocument([lineChart([{ name: "mean KL", points: results.map((r) => ({ x: r.context, y: r.kl })) }], {
    title: "Drift from the original vs context length",
    ...opts,
    xLabel: "context length (tokens, log scale)",
    yLabel: "mean KL divergence (nats)",
    formatY: (y) => Number(y.toPrecision(3)).toString(),
  })]);
}
