// Reads config.json in every layout found on the hub into a StoredRope and the RopeSpec transformers sees.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ModelFormatError } from "../errors.ts";
import type { JsonObject } from "../rope/hf-params.ts";
import { hfRopeType, methodOfHfType, UnknownRopeTypeError } from "../rope/hf-params.ts";
import { type StoredRope, transformersSpec } from "../rope/engines/index.ts";
import type { RopeSpec } from "../rope/types.ts";
import { isObject, JsonSyntaxError, type ParsedJson, parseJsonText } from "./json-text.ts";
import type { LayerLayout } from "../fit.ts";
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

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

function isPerLayerType(rp: JsonObject, layerTypes: unknown): boolean {
  const keys = Object.keys(rp);
  if (keys.length === 0 || !keys.every((k) => isObject(rp[k]))) return false;
  return Array.isArray(layerTypes) ? keys.every((k) => layerTypes.includes(k)) : keys.includes("full_attention");
}

/** Read and interpret `<dir>/config.json` (or a config.json path). */
export function readHfConfig(dirOrFile: string): HfConfig {
  const file = dirOrFile.endsWith(".json") ? dirOrFile : join(dirOrFile, "config.json");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ModelFormatError(file, code === "ENOENT" ? "not found (a Hugging Face model directory needs config.json)" : `cannot read: ${code}`);
  }
  let parsed: ParsedJson;
  try {
    parsed = parseJsonText(text);
  } catch (err) {
    if (err instanceof JsonSyntaxError) throw new ModelFormatError(file, err.message);
    throw err;
  }
  if (!isObject(parsed.value)) throw new ModelFormatError(file, "config.json is not a JSON object");
  return interpretHfConfig(file, parsed);
}

export function interpretHfConfig(file: string, parsed: ParsedJson): HfConfig {
  const root = parsed.value as JsonObject;
  const nested = isObject(root["text_config"]) ? (root["text_config"] as JsonObject) : null;
  const hasRope = (o: JsonObject) =>
    "rope_theta" in o || "rope_parameters" in o || "rope_scaling" in o || "max_position_embeddings" in o;
  const useNested = nested !== null && hasRope(nested);
  const cfg = useNested ? nested! : root;
  if (!("rope_theta" in cfg || "rope_parameters" in cfg || "rope_scaling" in cfg)) {
    throw new ModelFormatError(file, "no RoPE fields (rope_theta, rope_parameters or rope_scaling): is this a rotary-embedding model?");
  }
  const warnings: string[] = [];
  const rawParams = cfg["rope_parameters"];
  const layout: HfLayout = isObject(rawParams) ? "rope_parameters" : "rope_scaling";
  let ropeParameters: JsonObject | null = null;
  let perLayerType = false;
  if (isObject(rawParams)) {
    perLayerType = isPerLayerType(rawParams, cfg["layer_types"]);
    ropeParameters = perLayerType ? ((rawParams["full_attention"] as JsonObject | undefined) ?? null) : rawParams;
    if (perLayerType && !ropeParameters) throw new ModelFormatError(file, "per-layer rope_parameters without full_attention");
  }
  const ropeScaling = isObject(cfg["rope_scaling"]) ? (cfg["rope_scaling"] as JsonObject) : null;
  for (const dict of [ropeScaling, ropeParameters]) {
    try {
      methodOfHfType(hfRopeType(dict));
    } catch (err) {
      if (err instanceof UnknownRopeTypeError) throw new ModelFormatError(file, err.message);
      throw err;
    }
  }
  const theta = num(ropeParameters?.["rope_theta"]) ?? num(cfg["rope_theta"]) ?? num(ropeScaling?.["rope_theta"]);
  if (theta === undefined) warnings.push("no rope_theta: using transformers' default 10000");
  if (theta !== undefined && theta <= 1) throw new ModelFormatError(file, `rope_theta must be greater than 1, got ${theta}`);
  const heads = num(cfg["num_attention_heads"]);
  const hidden = num(cfg["hidden_size"]);
  // DeepSeek's MLA rotates only qk_rope_head_dim of each query/key head; the rest (qk_nope_head_dim) is position-free.
  const qkRope = num(cfg["qk_rope_head_dim"]);
  const qkNope = num(cfg["qk_nope_head_dim"]);
  let headDim = qkRope !== undefined ? qkRope + (qkNope ?? 0) : num(cfg["head_dim"]) ?? (hidden && heads ? hidden / heads : undefined);
  if (headDim === undefined || !Number.isInteger(headDim) || headDim <= 0) {
    throw new ModelFormatError(file, "cannot tell the head dimension (need head_dim, or hidden_size and num_attention_heads)");
  }
  const layers = hfLayerLayout(cfg, root, headDim);
  const prf = num(ropeParameters?.["partial_rotary_factor"]) ?? num(cfg["partial_rotary_factor"]) ?? 1;
  let rotaryDim = qkRope ?? Math.trunc(headDim * prf);
  if (hfRopeType(ropeScaling ?? ropeParameters) === "proportional") {
    // Gemma 4's full-attention layers: transformers passes head_dim_key="global_head_dim", and rotates
    // int(partial_rotary_factor * head_dim // 2) pairs with exponents over the whole head dim.
    headDim = num(cfg["global_head_dim"]) ?? headDim;
    rotaryDim = 2 * Math.floor((prf * headDim) / 2);
  }
  if (rotaryDim < 2 || rotaryDim % 2 !== 0) throw new ModelFormatError(file, `rotary dimension ${rotaryDim} is not a positive even number`);
  const maxPos = num(cfg["max_position_embeddings"]);
  if (maxPos === undefined) throw new ModelFormatError(file, "no max_position_embeddings: cannot tell the model's context");
  const archList = root["architectures"];
  const architecture = Array.isArray(archList) && typeof archList[0] === "string" ? archList[0] : String(cfg["model_type"] ?? root["model_type"] ?? "unknown");
  const stored: StoredRope = {
    theta: theta ?? 10000,
    headDim,
    rotaryDim,
    maxPositionEmbeddings: maxPos,
    ropeScaling,
    ropeParameters,
    architecture: typeof cfg["model_type"] === "string" ? cfg["model_type"] : architecture,
  };
  if (perLayerType) stored.perLayerType = true;
  const topLevelOriginal = num(cfg["original_max_position_embeddings"]);
  if (topLevelOriginal !== undefined) stored.topLevelOriginal = topLevelOriginal;
  const { spec, warnings: specWarnings } = transformersSpec(stored);
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
