// The Hugging Face config vocabulary (rope_scaling / rope_parameters dicts) ⇄ yarnify's RopeScaling.
import { ModelFormatError } from "../errors.ts";
import type { RopeMethod, RopeScaling } from "./types.ts";

export type JsonObject = { [key: string]: unknown };

const HF_TYPE_TO_METHOD: Record<string, RopeMethod> = {
  default: "none",
  mrope: "none",
  linear: "linear",
  dynamic: "dynamic",
  yarn: "yarn",
  deepseek_yarn: "yarn",
  llama3: "llama3",
  longrope: "longrope",
  su: "longrope",
  proportional: "proportional",
};

export const METHOD_TO_HF_TYPE: Partial<Record<RopeMethod, string>> = {
  none: "default",
  linear: "linear",
  dynamic: "dynamic",
  yarn: "yarn",
  llama3: "llama3",
  longrope: "longrope",
  proportional: "proportional",
};

export class UnknownRopeTypeError extends ModelFormatError {
  override name = "UnknownRopeTypeError";
  constructor(readonly ropeType: string) {
    super(undefined, `unknown rope type ${JSON.stringify(ropeType)} (known: ${Object.keys(HF_TYPE_TO_METHOD).join(", ")})`);
  }
}

/** An own key's value: a dict read from a file may hold keys named like Object.prototype members. */
const own = (dict: JsonObject | null | undefined, key: string): unknown => (dict && Object.hasOwn(dict, key) ? dict[key] : undefined);

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const numList = (v: unknown): number[] | undefined =>
  Array.isArray(v) && v.every((x) => typeof x === "number") ? (v as number[]) : undefined;

/**
 * The rope type string of a dict as transformers resolves it: rope_type wins over type.
 *
 * @example
 * hfRopeType({ type: "linear", rope_type: "yarn" }); // "yarn"
 */
export function hfRopeType(dict: JsonObject | null | undefined): string {
  const t = own(dict, "rope_type") ?? own(dict, "type") ?? "default";
  return String(t);
}

/** The type string as mlx-lm resolves it: type wins over rope_type. */
export function mlxRopeType(dict: JsonObject | null | undefined): string {
  return String(own(dict, "type") || own(dict, "rope_type") || "default");
}

/**
 * yarnify's method for a transformers rope type (UnknownRopeTypeError for one it does not know).
 *
 * @example
 * methodOfHfType("llama3"); // "llama3"
 */
export function methodOfHfType(type: string): RopeMethod {
  const m = Object.hasOwn(HF_TYPE_TO_METHOD, type) ? HF_TYPE_TO_METHOD[type] : undefined;
  if (!m) throw new UnknownRopeTypeError(type);
  return m;
}

/**
 * Read a rope dict's scaling keys verbatim (no defaults filled): what the file says.
 *
 * @example
 * scalingFromHfDict(JSON.parse(text).rope_scaling); // { method: "yarn", factor: 4, originalContext: 32768 }
 */
export function scalingFromHfDict(dict: JsonObject | null | undefined, type: string = hfRopeType(dict)): RopeScaling {
  const d: JsonObject = dict ?? {};
  const out: RopeScaling = { method: methodOfHfType(type) };
  const set = <K extends keyof RopeScaling>(k: K, v: RopeScaling[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set("factor", num(d["factor"]));
  set("originalContext", num(d["original_max_position_embeddings"]));
  set("betaFast", num(d["beta_fast"]));
  set("betaSlow", num(d["beta_slow"]));
  if (typeof d["truncate"] === "boolean") out.truncate = d["truncate"];
  set("mscale", num(d["mscale"]));
  set("mscaleAllDim", num(d["mscale_all_dim"]));
  set("attentionFactor", num(d["attention_factor"]));
  set("lowFreqFactor", num(d["low_freq_factor"]));
  set("highFreqFactor", num(d["high_freq_factor"]));
  set("shortFactor", numList(d["short_factor"]));
  set("longFactor", numList(d["long_factor"]));
  return out;
}

/**
 * The keys to store for a scaling. Betas are written explicitly (ONNX Runtime GenAI enables YaRN only when
 * beta_fast is present) and the original context always (mlx-lm otherwise assumes 4096).
 *
 * @example
 * hfDictFromScaling({ method: "yarn", factor: 4, originalContext: 32768, betaFast: 32, betaSlow: 1 });
 * // { rope_type: "yarn", factor: 4, original_max_position_embeddings: 32768, beta_fast: 32, beta_slow: 1 }
 */
export function hfDictFromScaling(s: RopeScaling): JsonObject {
  const type = METHOD_TO_HF_TYPE[s.method];
  if (!type) throw new UnknownRopeTypeError(s.method);
  const out: JsonObject = { rope_type: type };
  const put = (key: string, v: unknown) => {
    if (v !== undefined) out[key] = v;
  };
  put("factor", s.factor);
  put("original_max_position_embeddings", s.originalContext);
  if (s.method === "yarn") {
    put("beta_fast", s.betaFast);
    put("beta_slow", s.betaSlow);
    put("truncate", s.truncate === false ? false : undefined);
    put("mscale", s.mscale);
    put("mscale_all_dim", s.mscaleAllDim);
    put("attention_factor", s.attentionFactor);
  }
  put("low_freq_factor", s.lowFreqFactor);
  put("high_freq_factor", s.highFreqFactor);
  put("short_factor", s.shortFactor);
  put("long_factor", s.longFactor);
  return out;
}
