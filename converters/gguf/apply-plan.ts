// A plan applied to a GGUF header read before: its edits, the diff of the rope keys, and what the engines will read
// from the result. No I/O: the CLI's patch and the browser page both report from this.
import type { GGUFTypedMetadata } from "@huggingface/gguf";
import type { LayerLayout } from "../../src/core/fit.ts";
import { unifiedDiff } from "../../src/core/diff.ts";
import type { StoredRope } from "../../src/core/rope/engines/stored.ts";
import type { RopeSpec } from "../../src/core/rope/types.ts";
import type { Plan } from "../../src/core/types.ts";
import { type GgufPlanEdits, plannedEdits } from "./edits.ts";
import { type FreqTensor, freqTensorText, ropeTensorValues } from "./freq-tensors.ts";
import { withEntries } from "./keys.ts";
import { ggufLayerLayout } from "./layout.ts";
import type { GgufHeader } from "./read.ts";
import { ggufRopeKeys, ggufRopeSpec, ggufStoredRope } from "./spec.ts";

export interface AppliedPlan {
  planned: GgufPlanEdits;
  /** Unified diff of the rope keys and frequency tensors, before and after. */
  diff: string;
  /** The result's stored parameters, for the engines' reading. */
  stored: StoredRope;
  layout: LayerLayout | undefined;
  /** The result's RoPE as transformers would read it back (what a validation of the patched file checks). */
  spec: RopeSpec;
}

const KEY_TEXT = (meta: GGUFTypedMetadata, arch: string, tensors: readonly FreqTensor[]) =>
  Object.entries(ggufRopeKeys(meta, arch))
    .map(([k, v]) => `${k} = ${JSON.stringify(v.value)} (${v.type})\n`)
    .join("") + tensors.map((t) => `${freqTensorText(t)}\n`).join("");

/**
 * What `plan` does to the GGUF whose header and frequency tensors were read; `name` labels the diff.
 *
 * @example
 * const { diff, stored } = applyPlan(info.header, info.freqTensors, p, "model.gguf");
 */
export function applyPlan(header: GgufHeader, freqTensors: readonly FreqTensor[], plan: Plan, name: string): AppliedPlan {
  const planned = plannedEdits(header, freqTensors, plan);
  const after = withEntries(header.metadata, planned.entries);
  const tensorsAfter = freqTensors.map((t) => planned.tensors.find((r) => r.name === t.name) ?? t);
  const diff = unifiedDiff(KEY_TEXT(header.metadata, header.architecture, freqTensors), KEY_TEXT(after, header.architecture, tensorsAfter), `a/${name}`, `b/${name}`);
  const stored = ggufStoredRope(after, header.architecture, { file: header.file, tensors: ropeTensorValues(tensorsAfter) });
  const spec = ggufRopeSpec(after, header.architecture, { file: header.file, tensors: ropeTensorValues(tensorsAfter) });
  return { planned, diff, stored, layout: ggufLayerLayout(after, header.architecture), spec };
}
