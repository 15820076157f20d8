import type { AdapterSummary } from "../../kernels/gpu.ts";

// The validation report: what was checked, on which adapter, with which figures. `ok` is false when any check
// failed; a skipped check says why and never counts as a pass.
import type { Check, CheckStatus } from "../core/converter.ts";

export type { Check, CheckStatus };

/** The adapter a GPU check ran on (vendor, device, software or not, features, limits). */
export type AdapterInfo = AdapterSummary;

export interface Report {
  ok: boolean;
  model: string;
  adapter: AdapterInfo | null;
  checks: Check[];
}

export function makeReport(model: string, adapter: AdapterInfo | null, checks: Check[]): Report {
  return { ok: checks.every((c) => c.status !== "fail") && checks.some((c) => c.status === "pass"), model, adapter, checks };
}
