// The frequency ramp of a plan as inline SVG: for each rotary pair, how much slower it turns after the patch (original
// inv_freq over the new one: 1 where YaRN leaves a pair alone, the factor where it interpolates fully), log scale.
import type { Plan } from "../src/browser.ts";

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** The ramp of `plan` against the source's own frequencies `before` (same pairs), as an SVG string. */
export function rampSvg(plan: Plan, before: readonly number[], width = 460, height = 240): string {
  const m = { left: 52, right: 12, top: 22, bottom: 40 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const ratios = plan.invFreq.map((f, i) => before[i] / f);
  const hi = Math.max(plan.factor, ...ratios) * 1.15;
  const n = ratios.length;
  const sx = (i: number) => m.left + (n > 1 ? (i / (n - 1)) * pw : pw / 2);
  const sy = (r: number) => m.top + ph - (Math.log(Math.max(r, 1)) / Math.log(hi)) * ph;
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" id="ramp-svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`];
  out.push(`<text x="${m.left}" y="14">how much slower each rotary pair turns (×, log scale)</text>`);
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#8c959f"/>`);
  const c = plan.correction;
  if (c) {
    // YaRN's ramp between the pairs that keep their frequency (below low) and those interpolated fully (above high).
    const lo = Math.max(0, Math.min(n - 1, c.low));
    const up = Math.max(0, Math.min(n - 1, c.high));
    out.push(`<rect x="${sx(lo)}" y="${m.top}" width="${Math.max(1, sx(up) - sx(lo))}" height="${ph}" fill="#ddf4ff"/>`);
    out.push(`<text x="${(sx(lo) + sx(up)) / 2}" y="${m.top + 12}" text-anchor="middle" fill="#0969da">ramp</text>`);
  }
  for (const r of [1, plan.factor]) {
    out.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${sy(r)}" y2="${sy(r)}" stroke="#d0d7de" stroke-dasharray="3 3"/>`);
    out.push(`<text x="${m.left - 4}" y="${sy(r) + 4}" text-anchor="end">×${esc(String(Number(r.toPrecision(4))))}</text>`);
  }
  out.push(`<polyline fill="none" stroke="#cf222e" stroke-width="2" points="${ratios.map((r, i) => `${sx(i).toFixed(1)},${sy(r).toFixed(1)}`).join(" ")}"/>`);
  out.push(`<text x="${m.left}" y="${height - 22}">pair 0 (fastest)</text><text x="${m.left + pw}" y="${height - 22}" text-anchor="end">pair ${n - 1} (slowest)</text>`);
  out.push(`<text x="${m.left + pw / 2}" y="${height - 6}" text-anchor="middle">rotary pair (${esc(plan.method)} ×${Number(plan.factor.toPrecision(6))}, ${plan.originalContext} → ${plan.context} tokens)</text>`);
  out.push("</svg>");
  return out.join("");
}
