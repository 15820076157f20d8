// The GGUF keys that carry a plan, in llama.cpp's names and types. Keys already in the file keep
// their stored type; new ones get the types llama.cpp's converter writes (gguf-py constants).
import { PlanError } from "../../src/core/errors.ts";
import { GGUFValueType } from "@huggingface/gguf";
import type { GGUFTypedMetadata, MetadataValue } from "@huggingface/gguf";
import type { Plan } from "../../src/core/types.ts";
import { DEEPSEEK2_FAMILY } from "./spec.ts";

export interface GgufEntry {
  key: string;
  value: number | string;
  type: GGUFValueType;
}

export interface GgufPlanKeys {
  entries: GgufEntry[];
  warnings: string[];
}

/** Thrown for a plan llama.cpp cannot express; the caller adds the file name. */
export class UnsupportedPlanError extends PlanError {}

const INTEGER_RANGES: Partial<Record<GGUFValueType, [number, number]>> = {
  [GGUFValueType.UINT8]: [0, 255],
  [GGUFValueType.INT8]: [-128, 127],
  [GGUFValueType.UINT16]: [0, 65535],
  [GGUFValueType.INT16]: [-32768, 32767],
  [GGUFValueType.UINT32]: [0, 2 ** 32 - 1],
  [GGUFValueType.INT32]: [-(2 ** 31), 2 ** 31 - 1],
  [GGUFValueType.UINT64]: [0, Number.MAX_SAFE_INTEGER],
  [GGUFValueType.INT64]: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/**
 * The plan's keys for architecture `arch`, typed like the existing ones in `existing`.
 *
 * @example
 * const { entries, warnings } = ggufKeysForPlan(header.architecture, plan(ggufRopeSpec(header.metadata, header.architecture), { factor: 4 }), header.metadata);
 */
export function ggufKeysForPlan(arch: string, plan: Plan, existing: GGUFTypedMetadata): GgufPlanKeys {
  const p = `${arch}.`;
  const warnings: string[] = [];
  const entries: GgufEntry[] = [];
  const add = (key: string, value: number | string, type: GGUFValueType) => {
    entries.push({ key, value, type: existing[key]?.type ?? type });
  };
  if (!(plan.factor >= 1)) throw new UnsupportedPlanError(undefined, `factor ${plan.factor} must be at least 1`);
  if (plan.method === "ntk") {
    // NTK-aware scaling is a new base and nothing else; llama.cpp reads it as plain RoPE.
    add(`${p}rope.freq_base`, plan.theta, GGUFValueType.FLOAT32);
    add(`${p}context_length`, plan.context, GGUFValueType.UINT32);
    return checked(entries, warnings);
  }
  if (plan.method !== "yarn" && plan.method !== "linear") {
    throw new UnsupportedPlanError(undefined, `llama.cpp GGUF metadata cannot express method "${plan.method}" (yarn, linear or ntk)`);
  }
  add(`${p}rope.scaling.type`, plan.method, GGUFValueType.STRING);
  add(`${p}rope.scaling.factor`, plan.factor, GGUFValueType.FLOAT32);
  add(`${p}context_length`, plan.context, GGUFValueType.UINT32);
  if (plan.method === "yarn") {
    add(`${p}rope.scaling.original_context_length`, plan.originalContext, GGUFValueType.UINT32);
    const s = plan.scaling;
    if (s.mscaleAllDim !== undefined && DEEPSEEK2_FAMILY.has(arch)) {
      add(`${p}rope.scaling.yarn_log_multiplier`, 0.1 * s.mscaleAllDim, GGUFValueType.FLOAT32);
    } else if (s.mscale !== undefined || s.mscaleAllDim !== undefined) {
      warnings.push(`llama.cpp ignores mscale/mscale_all_dim for ${arch}: it uses the attention factor 0.1·ln(s)+1`);
    }
    const betas: Array<[string, number | undefined, number]> = [
      ["yarn_beta_fast", s.betaFast, 32],
      ["yarn_beta_slow", s.betaSlow, 1],
    ];
    for (const [name, value, dflt] of betas) {
      if (value === undefined || value === dflt) continue;
      add(`${p}rope.scaling.${name}`, value, GGUFValueType.FLOAT32);
      if (arch !== "grok") {
        warnings.push(`llama.cpp reads rope.scaling.${name} only for some architectures (grok), not ${arch}: pass --yarn-${name.slice(5).replace("_", "-")} ${value} at run time`);
      }
    }
    if (s.attentionFactor !== undefined) warnings.push("llama.cpp ignores an explicit attention factor (it derives its own)");
    if (s.truncate === false) warnings.push("llama.cpp always floors/ceils the YaRN correction range (truncate: false is not honoured)");
  }
  return checked(entries, warnings);
}

function checked(entries: GgufEntry[], warnings: string[]): GgufPlanKeys {
  for (const e of entries) {
    const range = INTEGER_RANGES[e.type];
    if (range && typeof e.value === "number" && !(Number.isInteger(e.value) && e.value >= range[0] && e.value <= range[1])) {
      throw new UnsupportedPlanError(undefined, `${e.key} = ${e.value} does not fit the key's stored type`);
    }
    if ((typeof e.value === "string") !== (e.type === GGUFValueType.STRING)) {
      throw new UnsupportedPlanError(undefined, `${e.key} is stored with an incompatible type`);
    }
  }
  return { entries, warnings };
}

/** The metadata with the entries set: existing keys change in place, new ones are appended. */
export function withEntries(meta: GGUFTypedMetadata, entries: readonly GgufEntry[]): GGUFTypedMetadata {
  const out: Record<string, { value: MetadataValue; type: GGUFValueType; subType?: GGUFValueType }> = { ...meta };
  for (const e of entries) {
    const wide = e.type === GGUFValueType.UINT64 || e.type === GGUFValueType.INT64;
    out[e.key] = { value: wide ? BigInt(e.value) : e.value, type: e.type };
  }
  return out as GGUFTypedMetadata;
}
