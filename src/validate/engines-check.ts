// Check: every engine would compute the frequencies and attention factor transformers computes from the file.
import { compareEngines, ENGINES_BY_FORMAT } from "../core/engine-compare.ts";
import { engineViews } from "../core/rope/engines/index.ts";
import type { StoredRope } from "../core/rope/engines/stored.ts";
import type { EngineName, ModelFormat } from "../core/types.ts";
import type { Check } from "./report.ts";

/**
 * transformers is the reference; the other engines are compared with it. Disagreements are reported with their
 * size and cause; they fail the check only for transformers itself against the plan (a wrong file), and are
 * warnings for the others (an engine's own reading the file cannot change).
 */
export function enginesCheck(stored: StoredRope, format: ModelFormat, expected?: { invFreq: number[]; attentionFactor: number }): Check {
  const reports = compareEngines(engineViews(stored));
  const engines: Record<string, { agrees: boolean; maxInvFreqRelDiff: number; attentionFactor: number; warnings: string[] }> = {};
  for (const [name, r] of Object.entries(reports) as [EngineName, (typeof reports)[EngineName]][]) {
    engines[name] = { agrees: r.agrees, maxInvFreqRelDiff: r.maxInvFreqRelDiff, attentionFactor: r.attentionFactor, warnings: r.warnings };
  }
  // transformers is the reference, never "differing" from itself (a broken reading of its own fails the plan check).
  const differing = Object.entries(engines).filter(([n, e]) => n !== "transformers" && !e.agrees && ENGINES_BY_FORMAT[format].includes(n as EngineName)).map(([n]) => n);
  let planRelDiff = 0;
  let planAttentionDiff = 0;
  if (expected) {
    const t = reports.transformers;
    expected.invFreq.forEach((x, j) => (planRelDiff = Math.max(planRelDiff, Math.abs(t.invFreq[j] - x) / Math.abs(x))));
    if (expected.invFreq.length !== t.invFreq.length) planRelDiff = Number.POSITIVE_INFINITY;
    planAttentionDiff = Math.abs(t.attentionFactor - expected.attentionFactor);
  }
  const fileWrong = planRelDiff > 0 || planAttentionDiff > 1e-12;
  const detail = fileWrong
    ? `transformers would read this file differently from the plan (inv_freq rel ${planRelDiff.toExponential(2)}, attention factor Δ ${planAttentionDiff.toExponential(2)})`
    : differing.length
      ? `transformers reads the planned values; ${differing.join(", ")} would compute something else (see engines)`
      : `${ENGINES_BY_FORMAT[format].join(", ")} all read the planned values`;
  return { name: "engines", status: fileWrong ? "fail" : "pass", detail, differing, planInvFreqRelDiff: planRelDiff, engines };
}
