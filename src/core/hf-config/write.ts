// Applies a Plan to config.json in the layout the file already uses, keeping every other key, its order and
// its spelling.
import { hfDictFromScaling, type JsonObject } from "../rope/hf-params.ts";
import { PlanError } from "../errors.ts";
import { hfRopeTypeRefusal } from "../rope/family-quirks.ts";
import type { Plan } from "../types.ts";
import { bareObject, isObject, type JsonValue, type ParsedJson, stringifyJsonText } from "./json-text.ts";
import type { HfConfig } from "./parse.ts";

/** Keys that describe a scaling; replaced as a whole when a new plan is written. */
const SCALING_KEYS = [
  "type", "rope_type", "factor", "original_max_position_embeddings", "beta_fast", "beta_slow", "truncate", "mscale",
  "mscale_all_dim", "attention_factor", "attn_factor", "extrapolation_factor", "low_freq_factor", "high_freq_factor",
  "short_factor", "long_factor", "finetuned",
];

/** Keys Python writes as floats; new values get a ".0" so transformers v4 does not warn about ints. */
export const FLOAT_KEYS: ReadonlySet<string> = new Set([
  "factor", "beta_fast", "beta_slow", "mscale", "mscale_all_dim", "attention_factor", "rope_theta",
]);

// Objects are built without a prototype, so a key named "__proto__" in the file stays an ordinary key.
function mergeScaling(existing: JsonObject | null, scaling: JsonObject): JsonObject {
  const out: JsonObject = bareObject();
  for (const [k, v] of Object.entries(existing ?? {})) if (!SCALING_KEYS.includes(k)) out[k] = v;
  for (const [k, v] of Object.entries(scaling)) out[k] = v;
  return out;
}

/** Place the v4 `type` next to `rope_type` (transformers copies one to the other; older readers want `type`). */
function withLegacyType(dict: JsonObject): JsonObject {
  const out: JsonObject = bareObject();
  for (const [k, v] of Object.entries(dict)) {
    if (k === "rope_type") out["type"] = v;
    out[k] = v;
  }
  return out;
}

/** A deep copy whose objects have no prototype, like the parsed ones. */
function bareClone(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(bareClone);
  if (v === null || typeof v !== "object") return v;
  const out = bareObject();
  for (const [k, x] of Object.entries(v)) out[k] = bareClone(x);
  return out;
}

/** The new config.json text for a plan. */
export function patchedConfigText(cfg: HfConfig, plan: Plan): string {
  if (plan.method === "dynamic-yarn") {
    throw new PlanError(cfg.file, "dynamic-yarn cannot be stored in config.json: no engine reads it (use it with `yarnify eval`)");
  }
  const newType = plan.scaling.method === "none" ? "default" : hfDictFromScaling(plan.scaling)["rope_type"];
  const refusal = hfRopeTypeRefusal(cfg.stored.architecture, String(newType));
  if (refusal) {
    throw new PlanError(cfg.file, `cannot write ${plan.method} for ${cfg.stored.architecture}: ${refusal}; --method ntk (a new rope_theta, rope_type default) loads`);
  }
  if (cfg.perLayerType && cfg.layout === "rope_parameters" && plan.scaling.truncate === false) {
    throw new PlanError(
      cfg.file,
      "truncate: false cannot be stored where transformers reads it: it reads truncate from the outer rope_parameters, whose keys must all be layer types in a per-layer config (a truncate key there stops it reading the per-layer dicts); leave truncation on",
    );
  }
  const root = bareClone(cfg.parsed.value) as JsonObject;
  const text = cfg.nesting ? (root[cfg.nesting] as JsonObject) : root;
  const scalingDict = plan.scaling.method === "none" ? null : hfDictFromScaling(plan.scaling);
  if (cfg.layout === "rope_parameters") {
    const rp = text["rope_parameters"] as JsonObject;
    const target = cfg.perLayerType ? (rp["full_attention"] as JsonObject) : rp;
    const merged = mergeScaling(target, scalingDict ?? { rope_type: "default" });
    if (plan.theta !== plan.source.theta) merged["rope_theta"] = plan.theta;
    if (cfg.perLayerType) rp["full_attention"] = merged as JsonValue;
    else text["rope_parameters"] = merged as JsonValue;
    // A legacy rope_scaling would override rope_parameters in transformers v5: keep the two in step.
    if (isObject(text["rope_scaling"])) text["rope_scaling"] = withLegacyType(mergeScaling(text["rope_scaling"] as JsonObject, scalingDict ?? { rope_type: "default" })) as JsonValue;
  } else {
    text["rope_scaling"] = scalingDict ? (withLegacyType(mergeScaling(isObject(text["rope_scaling"]) ? (text["rope_scaling"] as JsonObject) : null, scalingDict)) as JsonValue) : null;
    if (plan.theta !== plan.source.theta) text["rope_theta"] = plan.theta;
  }
  text["max_position_embeddings"] = plan.method === "dynamic" ? plan.originalContext : plan.context;
  return stringifyJsonText(root as JsonValue, {
    literals: cfg.parsed.literals,
    floatKeys: FLOAT_KEYS,
    trailingNewline: cfg.parsed.trailingNewline,
  });
}

/** tokenizer_config.json with model_max_length raised, or null when it does not equal the old context. */
export function patchedTokenizerConfigText(parsed: ParsedJson, oldContext: number, newContext: number): string | null {
  if (!isObject(parsed.value) || parsed.value["model_max_length"] !== oldContext) return null;
  const value = bareObject();
  for (const [k, v] of Object.entries(parsed.value)) value[k] = v;
  value["model_max_length"] = newContext;
  return stringifyJsonText(value, { literals: parsed.literals, trailingNewline: parsed.trailingNewline });
}
