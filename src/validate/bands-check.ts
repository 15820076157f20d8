// Check: YaRN's promise. Frequencies that never completed a full turn within the trained context (so the model
// never saw all their phases) must not rotate further at the new context than they did in training.
import { defaultInvFreq } from "../core/rope/default.ts";
import type { RopeSpec } from "../core/rope/types.ts";
import type { Check } from "./report.ts";

export interface BandFigures {
  band: "extrapolated" | "ramped" | "interpolated";
  pairs: [number, number];
  /** Fewest full rotations any pair of the band made over the trained context. */
  minTrainedRotations: number;
  /** Largest (angle reached at the new context) / (largest angle seen in training) in the band. */
  maxAngleRatio: number;
}

export function bandsCheck(params: { spec: RopeSpec; invFreq: number[]; originalContext: number; context: number }): Check {
  const { spec, invFreq, originalContext: L, context } = params;
  const trained = defaultInvFreq(spec.rotaryDim, spec.theta);
  // Positions 0..L-1 were seen; a continuous angle up to the trained length is still in range.
  const tolerance = L / (L - 1);
  const perPair = invFreq.map((inv, j) => {
    const trainedMax = trained[j] * (L - 1);
    const newMax = inv * (context - 1);
    const ratio = newMax / trainedMax;
    const band: BandFigures["band"] = Math.abs(inv - trained[j]) <= 1e-7 * trained[j] ? "extrapolated" : ratio <= tolerance ? "interpolated" : "ramped";
    return { j, trainedRotations: (trained[j] * L) / (2 * Math.PI), ratio, band };
  });
  const bands: BandFigures[] = [];
  for (const band of ["extrapolated", "ramped", "interpolated"] as const) {
    const members = perPair.filter((p) => p.band === band);
    if (!members.length) continue;
    bands.push({
      band,
      pairs: [members[0].j, members[members.length - 1].j + 1],
      minTrainedRotations: Math.min(...members.map((m) => m.trainedRotations)),
      maxAngleRatio: Math.max(...members.map((m) => m.ratio)),
    });
  }
  const unseen = perPair.filter((p) => p.trainedRotations < 1 && p.ratio > tolerance);
  const detail = unseen.length
    ? `${unseen.length} pair(s) that never completed a turn in training rotate past the trained range at ${context} tokens (pairs ${unseen.map((u) => u.j).join(", ")}; up to ×${Math.max(...unseen.map((u) => u.ratio)).toFixed(3)})`
    : `every pair with less than one trained rotation stays within the trained angle range at ${context} tokens`;
  return { name: "frequency-bands", status: unseen.length ? "fail" : "pass", detail, bands, pairsOutOfRange: unseen.map((u) => u.j) };
}
