// The passkey and drift plots, checked by structure: well-formed SVG, one line per method with a point per context,
// one heatmap cell per method × context × depth whose fill is the colour of its accuracy.
import assert from "node:assert/strict";
import { accuracyColor, driftPlotSvg, passkeyPlotSvg } from "../src/eval/task-plots-svg.ts";
import type { DriftRow, PasskeyRow, PasskeyTrial } from "../src/eval/tasks.ts";
import { test } from "./support/harness.ts";
import { parseSvg } from "./support/svg.ts";

const trial = (depth: number, correct: boolean): PasskeyTrial => ({ key: 7, depth, promptTokens: 90, prompt: "…", continuation: correct ? " 7." : " a", answer: correct ? "7" : "", correct });

/** yarn <&> gets all at 256 and half at 0.5 deep at 512; none gets one of four at 256 only. Depths drift off the grid as real prompts' do. */
function rows(): PasskeyRow[] {
  const out: PasskeyRow[] = [];
  for (const method of ["none", "yarn <&>"]) {
    for (const context of [256, 512, 1024]) {
      const trials = [0, 0.49, 1].flatMap((depth) => [0, 1].map((t) => {
        const correct = method === "none" ? context === 256 && depth === 0 && t === 0 : context === 256 || (context === 512 && depth === 0.49 && t === 1);
        return trial(depth === 0.49 ? 0.4987 : depth, correct);
      }));
      out.push({ method, context, accuracy: trials.filter((t) => t.correct).length / trials.length, trials });
    }
  }
  return out;
}

test("passkey plot: accuracy against context, one line per method with a point per context; no heatmap without depths", () => {
  const els = parseSvg(passkeyPlotSvg(rows(), { title: "tiny <x>" }));
  assert.equal(els.filter((e) => e.name === "polyline").length, 2);
  const points = els.filter((e) => e.name === "polyline").map((e) => e.attrs.points!.split(" ").length);
  assert.deepEqual(points, [3, 3]);
  assert.equal(els.filter((e) => e.name === "circle").length, 6);
  assert.equal(els.filter((e) => e.attrs["data-accuracy"] !== undefined).length, 0);
  // A linear accuracy axis: the 100% point of yarn at 256 sits above its 0% point at 1024 by the whole axis.
  const yarn = els.filter((e) => e.name === "polyline")[1]!.attrs.points!.split(" ").map((p) => Number(p.split(",")[1]));
  const none = els.filter((e) => e.name === "polyline")[0]!.attrs.points!.split(" ").map((p) => Number(p.split(",")[1]));
  assert.ok(yarn[0]! < none[0]! && none[0]! < yarn[2]! && yarn[2] === none[2], `${yarn} / ${none}`);
  assert.ok(Math.abs((none[0]! - yarn[2]!) / (yarn[0]! - yarn[2]!) - 1 / 6) < 1e-3, "1 of 6 is a sixth of the way up");
});

test("passkey plot with depths: a heatmap cell per method × context × depth, its fill the colour of its accuracy", () => {
  const data = rows();
  const els = parseSvg(passkeyPlotSvg(data, { depths: [1, 0, 0.5, 0.5] }));
  const cells = els.filter((e) => e.name === "rect" && e.attrs["data-accuracy"] !== undefined);
  assert.equal(cells.length, 2 * 3 * 3);
  for (const c of cells) assert.equal(c.attrs.fill, accuracyColor(Number(c.attrs["data-accuracy"])));
  const accuracies = cells.map((c) => Number(c.attrs["data-accuracy"]));
  // yarn: 256 all right (3 cells of 1), 512 half right at depth 0.5 (trials at 0.4987 count there); none: one 0.5 cell.
  assert.equal(accuracies.filter((a) => a === 1).length, 3);
  assert.equal(accuracies.filter((a) => a === 0.5).length, 2);
  assert.equal(accuracies.filter((a) => a === 0).length, 13);
  // Cells of one method share rows by depth: depth 0 on top, then 0.5, then 1.
  const ys = [...new Set(cells.map((c) => Number(c.attrs.y)))].sort((a, b) => a - b);
  assert.equal(ys.length, 3);
  const half = cells.filter((c) => c.attrs["data-accuracy"] === "0.5").map((c) => Number(c.attrs.y));
  assert.deepEqual(half.map((y) => ys.indexOf(y)).sort(), [0, 1], "none's 0.5 at depth 0, yarn's at depth 0.5");
});

test("accuracy colours run from viridis's dark purple to its yellow, lighter as accuracy grows", () => {
  assert.equal(accuracyColor(0), "#440154");
  assert.equal(accuracyColor(0.5), "#21918c");
  assert.equal(accuracyColor(1), "#fde725");
  assert.equal(accuracyColor(2), "#fde725");
  const luma = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).reduce((s, c, i) => s + c * [0.2126, 0.7152, 0.0722][i]!, 0);
  for (let a = 0; a < 1; a += 0.05) assert.ok(luma(accuracyColor(a)) < luma(accuracyColor(a + 0.05)), `at ${a}`);
});

test("drift plot: mean KL against context, one point per context", () => {
  const r: DriftRow[] = [64, 128, 256].map((context, i) => ({ context, kl: 0.01 * (i + 1), perplexity: 5, baselinePerplexity: 4.9, top1Agreement: 0.9, tokens: 100, docs: 1 }));
  const els = parseSvg(driftPlotSvg(r, { title: "a & b" }));
  assert.equal(els.filter((e) => e.name === "polyline").length, 1);
  const ys = els.find((e) => e.name === "polyline")!.attrs.points!.split(" ").map((p) => Number(p.split(",")[1]));
  assert.equal(ys.length, 3);
  assert.ok(ys[0]! > ys[1]! && ys[1]! > ys[2]!, "KL grows upwards");
  assert.ok(Math.abs((ys[0]! - ys[1]!) - (ys[1]! - ys[2]!)) < 0.02, "a linear KL axis");
});
