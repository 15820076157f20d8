// Interprets config.json in every layout found on the hub as a StoredRope and the RopeSpec transformers sees (text in;
// read.ts reads the file).
import { ModelFormatError } from "../errors.ts";
import { checkRopeNumber, checkRopeSpec, describeValue, type RopeNumberKind } from "../rope/limits.ts";
import type { JsonObject } from "../rope/hf-params.ts";
import { hfRopeType, methodOfHfType, UnknownRopeTypeError } from "../rope/hf-params.ts";
import { type StoredRope, transformersSpec } from "../rope/engines/index.ts";
import type { RopeSpec } from "../rope/types.ts";
import { isObject, JsonSyntaxError, type ParsedJson, parseJsonText } from "./json-text.ts";
import type { LayerLayout } from "../fit.ts";
import type { ModelInfo } from "../converter.ts";
import { hfLayerLayout } from "./layout.ts";

export type HfLayout = "rope_scaling" | "rope_parameters";

export interface HfConfig {
  /** Path of config.json. */
  file: string;
  parsed: ParsedJson;
  /** The object holding the text model's keys: the root, or its `text_config` for multimodal models. */
  textConfig: JsonObject;
  /** "text_config" when the keys are nested there. */
  nesting: string | null;
  layout: HfLayout;
  /** rope_parameters keyed by layer type ({"full_attention": {...}, "sliding_attention": {...}}). */
  perLayerType: boolean;
  architecture: string;
  stored: StoredRope;
  spec: RopeSpec;
  /** Layers, KV heads, sliding windows: what the fit and per-layer-kind reports need (undefined without layer counts). */
  layers?: LayerLayout;
  warnings: string[];
}

/** An own key's value (configs are prototype-free, but a library caller's object may not be). */
const own = (o: JsonObject | null | undefined, key: string): unknown => (o && Object.hasOwn(o, key) ? o[key] : undefined);
const has = (o: JsonObject, key: string) => Object.hasOwn(o, key);

/** The numbers of a rope dict (rope_scaling, rope_parameters) and the kind each must be. */
const DICT_NUMBERS: Array<[string, RopeNumberKind]> = [
  ["rope_theta", "theta"],
  ["factor", "factor"],
  ["original_max_position_embeddings", "context"],
  ["beta_fast", "finite"],
  ["beta_slow", "finite"],
  ["mscale", "finite"],
  ["mscale_all_dim", "finite"],
  ["attention_factor", "positive"],
  ["low_freq_factor", "finite"],
  ["high_freq_factor", "finite"],
  ["partial_rotary_factor", "fraction"],
];

/** Every key of a rope dict that a reader uses, with its type and bounds checked. */
function checkRopeDict(file: string, dict: JsonObject, where: string): void {
  for (const [key, kind] of DICT_NUMBERS) {
    const v = own(dict, key);
    if (v !== undefined && v !== null) checkRopeNumber(file, `${where}.${key}`, kind, v);
  }
  for (const key of ["rope_type", "type"]) {
    const v = own(dict, key);
    if (v !== undefined && v !== null && typeof v !== "string") throw new ModelFormatError(file, `${where}.${key} must be a string, got ${describeValue(v)}`);
  }
  const truncate = own(dict, "truncate");
  if (truncate !== undefined && truncate !== null && typeof truncate !== "boolean") {
    throw new ModelFormatError(file, `${where}.truncate must be true or false, got ${describeValue(truncate)}`);
  }
  for (const key of ["short_factor", "long_factor"]) {
    const v = own(dict, key);
    if (v === undefined || v === null) continue;
    if (!Array.isArray(v)) throw new ModelFormatError(file, `${where}.${key} must be a list of numbers, got ${describeValue(v)}`);
    v.forEach((x) => checkRopeNumber(file, `${where}.${key}`, "positive", x));
  }
}

/** A number key of the config, checked; undefined when absent or null. */
function numberKey(file: string, o: JsonObject | null, key: string, kind: RopeNumberKind, where = key): number | undefined {
  const v = own(o, key);
  return v === undefined || v === null ? undefined : checkRopeNumber(file, where, kind, v);
}

/** A dict-valued key: the object, null when absent or null, an error for anything else. */
function dictKey(file: string, o: JsonObject, key: string, where: string): JsonObject | null {
  const v = own(o, key);
  if (v === undefined || v === null) return null;
  if (!isObject(v)) throw new ModelFormatError(file, `${where} must be an object or null, got ${describeValue(v)}`);
  return v;
}

function isPerLayerType(rp: JsonObject, layerTypes: unknown): boolean {
  const keys = Object.keys(rp);
  if (keys.length === 0 || !keys.every((k) => isObject(rp[k]))) return false;
  return Array.isArray(layerTypes) ? keys.every((k) => layerTypes.includes(k)) : keys.includes("full_attention");
}

/**
 * Parses and interprets the text of a config.json (`file` names it in errors): the CLI reads it from disk, the browser
 * from a File or a URL.
 *
 * @example
 * const cfg = parseHfConfigText("config.json", await file.text());
 * console.log(cfg.spec.context, cfg.architecture);
 */
export function parseHfConfigText(file: string, text: string): HfConfig {
  let parsed: ParsedJson;
  try {
    parsed = parseJsonText(text);
  } catch (err) {
    if (err instanceof JsonSyntaxError) throw new ModelFormatError(file, err.problem);
    throw err;
  }
  return interpretHfConfig(file, parsed);
}

export function interpretHfConfig(file: string, parsed: ParsedJson): HfConfig {
  if (!isObject(parsed.value)) throw new ModelFormatError(file, "config.json is not a JSON object");
  const root = parsed.value as JsonObject;
  const nested = isObject(own(root, "text_config")) ? (root["text_config"] as JsonObject) : null;
  const hasRope = (o: JsonObject) =>
    has(o, "rope_theta") || has(o, "rope_parameters") || has(o, "rope_scaling") || has(o, "max_position_embeddings");
  const useNested = nested !== null && hasRope(nested);
  const cfg = useNested ? nested! : root;
  const at = (key: string) => (useNested ? `text_config.${key}` : key);
  if (!(has(cfg, "rope_theta") || has(cfg, "rope_parameters") || has(cfg, "rope_scaling"))) {
    throw new ModelFormatError(file, "no RoPE fields (rope_theta, rope_parameters or rope_scaling): is this a rotary-embedding model?");
  }
  const warnings: string[] = [];
  const rawParams = dictKey(file, cfg, "rope_parameters", at("rope_parameters"));
  const layout: HfLayout = rawParams ? "rope_parameters" : "rope_scaling";
  let ropeParameters: JsonObject | null = null;
  let perLayerType = false;
  if (rawParams) {
    perLayerType = isPerLayerType(rawParams, own(cfg, "layer_types"));
    ropeParameters = perLayerType ? ((own(rawParams, "full_attention") as JsonObject | undefined) ?? null) : rawParams;
    if (perLayerType && !ropeParameters) throw new ModelFormatError(file, "per-layer rope_parameters without full_attention");
    if (perLayerType) for (const k of Object.keys(rawParams)) checkRopeDict(file, rawParams[k] as JsonObject, at(`rope_parameters.${k}`));
    else checkRopeDict(file, rawParams, at("rope_parameters"));
  }
  const ropeScaling = dictKey(file, cfg, "rope_scaling", at("rope_scaling"));
  if (ropeScaling) checkRopeDict(file, ropeScaling, at("rope_scaling"));
  for (const [dict, where] of [[ropeScaling, "rope_scaling"], [ropeParameters, "rope_parameters"]] as const) {
    try {
      methodOfHfType(hfRopeType(dict));
    } catch (err) {
      if (err instanceof UnknownRopeTypeError) throw new ModelFormatError(file, `${at(where)}: ${err.problem}`);
      throw err;
    }
  }
  const cfgTheta = numberKey(file, cfg, "rope_theta", "theta", at("rope_theta"));
  const theta = numberKey(file, ropeParameters, "rope_theta", "theta") ?? cfgTheta ?? numberKey(file, ropeScaling, "rope_theta", "theta");
  if (theta === undefined) warnings.push("no rope_theta: using transformers' default 10000");
  const heads = numberKey(file, cfg, "num_attention_heads", "heads", at("num_attention_heads"));
  const hidden = numberKey(file, cfg, "hidden_size", "size", at("hidden_size"));
  // DeepSeek's MLA rotates only qk_rope_head_dim of each query/key head; the rest (qk_nope_head_dim) is position-free.
  const qkRope = numberKey(file, cfg, "qk_rope_head_dim", "rotaryDim", at("qk_rope_head_dim"));
  const qkNope = own(cfg, "qk_nope_head_dim") === 0 ? 0 : numberKey(file, cfg, "qk_nope_head_dim", "headDim", at("qk_nope_head_dim"));
  const explicitHeadDim = numberKey(file, cfg, "head_dim", "headDim", at("head_dim"));
  let headDim = qkRope !== undefined ? qkRope + (qkNope ?? 0) : explicitHeadDim ?? (hidden && heads ? hidden / heads : undefined);
  if (headDim === undefined || !Number.isInteger(headDim) || headDim <= 0) {
    throw new ModelFormatError(file, "cannot tell the head dimension (need head_dim, or hidden_size and num_attention_heads)");
  }
  checkRopeNumber(file, qkRope !== undefined ? "qk_rope_head_dim + qk_nope_head_dim" : explicitHeadDim !== undefined ? at("head_dim") : "hidden_size / num_attention_heads", "headDim", headDim);
  const layers = hfLayerLayout(cfg, root, headDim);
  const prf =
    numberKey(file, ropeParameters, "partial_rotary_factor", "fraction") ?? numberKey(file, cfg, "partial_rotary_factor", "fraction", at("partial_rotary_factor")) ?? 1;
  let rotaryDim = qkRope ?? Math.trunc(headDim * prf);
  if (hfRopeType(ropeScaling ?? ropeParameters) === "proportional") {
    // Gemma 4's full-attention layers: transformers passes head_dim_key="global_head_dim", and rotates
    // int(partial_rotary_factor * head_dim // 2) pairs with exponents over the whole head dim.
    headDim = numberKey(file, cfg, "global_head_dim", "headDim", at("global_head_dim")) ?? headDim;
    rotaryDim = 2 * Math.floor((prf * headDim) / 2);
  }
  if (rotaryDim < 2 || rotaryDim % 2 !== 0) throw new ModelFormatError(file, `rotary dimension ${rotaryDim} is not a positive even number`);
  const maxPos = numberKey(file, cfg, "max_position_embeddings", "context", at("max_position_embeddings"));
  if (maxPos === undefined) throw new ModelFormatError(file, "no max_position_embeddings: cannot tell the model's context");
  const archList = own(root, "architectures");
  const ownType = typeof own(cfg, "model_type") === "string" ? (cfg["model_type"] as string) : undefined;
  const rootType = typeof own(root, "model_type") === "string" ? (root["model_type"] as string) : undefined;
  const architecture = Array.isArray(archList) && typeof archList[0] === "string" ? archList[0] : ownType ?? rootType ?? "unknown";
  const stored: StoredRope = {
    theta: theta ?? 10000,
    headDim,
    rotaryDim,
    maxPositionEmbeddings: maxPos,
    ropeScaling,
    ropeParameters,
    architecture: ownType ?? architecture,
  };
  if (perLayerType) stored.perLayerType = true;
  const topLevelOriginal = numberKey(file, cfg, "original_max_position_embeddings", "context", at("original_max_position_embeddings"));
  if (topLevelOriginal !== undefined) stored.topLevelOriginal = topLevelOriginal;
  const { spec, warnings: specWarnings } = transformersSpec(stored);
  const dictName = at(ropeScaling ? "rope_scaling" : "rope_parameters");
  checkRopeSpec(file, spec, {
    theta: at("rope_theta"),
    headDim: at("head_dim"),
    rotaryDim: "rotary dimension",
    context: at("max_position_embeddings"),
    originalContext: `${dictName}.original_max_position_embeddings`,
    scaling: dictName,
  });
  // transformers (v5 validation) warns when an explicit YaRN factor disagrees with the ratio the file implies.
  const sc = spec.scaling;
  if (sc.method === "yarn" && sc.factor !== undefined && sc.originalContext) {
    const implicit = maxPos / sc.originalContext;
    if (implicit !== sc.factor && implicit !== 1) {
      warnings.push(
        `YaRN factor ${sc.factor} disagrees with max_position_embeddings / original_max_position_embeddings = ${maxPos} / ${sc.originalContext} = ${Number(implicit.toPrecision(6))}:` +
          ` transformers warns and uses the explicit factor; engines that cap the context at max_position_embeddings serve ${maxPos} tokens, not ${Math.round(sc.originalContext * sc.factor)}`,
      );
    }
  }
  return {
    file,
    parsed,
    textConfig: cfg,
    nesting: useNested ? "text_config" : null,
    layout,
    perLayerType,
    architecture,
    stored,
    spec,
    ...(layers && { layers }),
    warnings: [...warnings, ...specWarnings],
  };
}

/**
 * The ModelInfo of a config.json already interpreted (what the HF converter's read() returns).
 *
 * @example
 * const info = hfModelInfo(parseHfConfigText("config.json", text), "config.json");
 */
export function hfModelInfo(cfg: HfConfig, path: string): ModelInfo {
  return { format: "hf", path, architecture: cfg.architecture, spec: cfg.spec, stored: cfg.stored, warnings: cfg.warnings, ...(cfg.layers && { layout: cfg.layers }) };
}
