// inspectOnnx: what rotary embedding an ONNX model has, where it is, and its RopeSpec.
import { computeRope } from "../../src/core/rope/compute.ts";
import { trainedContext } from "../../src/core/rope/trained-context.ts";
import type { RopeScaling, RopeSpec } from "../../src/core/rope/types.ts";
import { readHfConfig } from "../../src/core/hf-config/read.ts";
import { parseJsonText } from "../../src/core/hf-config/json-text.ts";
import { checkRopeSpec } from "../../src/core/rope/limits.ts";
import { OnnxError, OnnxFormatError } from "./errors.ts";
import { type Detection, METADATA_KEY, describeTensor, detectRope } from "./find.ts";
import { type GraphIndex, indexGraph } from "./graph-index.ts";
import { type ModelLayout, readLayout } from "./layout.ts";
import { type Sidecars, findSidecars, sidecarContext } from "./sidecar.ts";
import { dataTypeName } from "./tensor.ts";
import { FileSource } from "./wire.ts";

export type OnnxRopeStyle = Detection["style"];

/** Where the rotary embedding was found, for `inspect` to print. */
export interface OnnxRopeFound {
  style: OnnxRopeStyle;
  /** The tensors that hold it: inv_freq copies, or the cos and sin caches. */
  tensors: { name: string; kind: "initializer" | "constant"; shape: number[]; dtype: string; external?: string }[];
  /** The nodes that consume it ("Cos node_cos", "com.microsoft.GroupQueryAttention ..."). */
  consumers: string[];
  /** Attention factor currently applied to cos and sin (1 when nothing scales them). */
  attentionFactor: number;
  /** Cache rows (cache styles only): the longest sequence the graph accepts. */
  cacheRows?: number;
  /** Which file gave the context. */
  contextFrom: string;
  /** The patch yarnify recorded in the model's metadata_props, when this model was patched by yarnify. */
  patched?: YarnifyMetadata;
  /** Candidates looked at and set aside. */
  rejected: string[];
}

/** What patchOnnx records in metadata_props["yarnify.rope"]. */
export interface YarnifyMetadata {
  source: RopeSpec;
  scaling: RopeScaling;
  context: number;
  attentionFactor: number;
}

export interface OnnxInspection {
  format: "onnx";
  path: string;
  spec: RopeSpec;
  found: OnnxRopeFound;
  sidecars: { genaiConfig?: string; config?: string };
}

export interface InspectOnnxParams {
  path: string;
  /** Value name of the inv_freq (or cos/sin cache) to use when several disagree. */
  tensor?: string;
  /** Trained context, when no config.json / genai_config.json gives it (inv_freq graphs only). */
  context?: number;
}

/** Everything read from a model; patchOnnx works from the same analysis. */
export interface OnnxAnalysis extends OnnxInspection {
  layout: ModelLayout;
  index: GraphIndex;
  detection: Detection;
  sidecarFiles: Sidecars;
}

export function inspectOnnx(p: InspectOnnxParams | string): OnnxInspection {
  const a = analyseOnnx(typeof p === "string" ? { path: p } : p);
  return { format: a.format, path: a.path, spec: a.spec, found: a.found, sidecars: a.sidecars };
}

export function analyseOnnx(p: InspectOnnxParams): OnnxAnalysis {
  let file: FileSource;
  try {
    file = new FileSource(p.path);
  } catch (err) {
    throw new OnnxError(p.path, `cannot open (${(err as Error).message})`);
  }
  try {
    const layout = readLayout(file, p.path);
    const index = indexGraph(layout, file);
    const meta = readMetadata(layout);
    const sidecarFiles = findSidecars(p.path);
    const configSpec = configRopeSpec(sidecarFiles);
    const expected = configSpec ? computeRope(configSpec).invFreq : undefined;
    const detection = detectRope({ layout, index, tensor: p.tensor, patched: meta !== undefined, expected });
    const { spec, contextFrom } = specOf(p, detection, meta, sidecarFiles, configSpec);
    // Every number the plan will use, whichever file it came from (the graph's metadata, a sidecar, the option).
    checkRopeSpec(p.path, spec, {
      context: `the context (from ${contextFrom})`,
      originalContext: `the original context (from ${contextFrom})`,
      headDim: `the head dimension (from ${meta ? contextFrom : sidecarFiles.genaiConfigPath ?? sidecarFiles.configPath ?? "the graph"})`,
      rotaryDim: "the graph's rotary dimension",
      theta: meta ? `theta (from ${contextFrom})` : "the graph's theta",
      scaling: meta ? `scaling (from ${contextFrom})` : "scaling",
    });
    const found: OnnxRopeFound = {
      style: detection.style,
      tensors: (detection.style === "inv-freq" ? detection.tensors : [detection.cos, detection.sin]).map((t) => ({
        name: t.name,
        kind: t.kind,
        shape: t.header.dims,
        dtype: dataTypeName(t.header.dataType),
        ...(t.header.data.externalLocation ? { external: t.header.data.externalLocation } : {}),
      })),
      consumers:
        detection.style === "inv-freq"
          ? [...detection.cos, ...detection.sin].map((n) => `${n.node.opType} ${n.node.name || n.node.output[0]}`)
          : detection.consumers.map((n) => `${n.node.domain || "ai.onnx"}.${n.node.opType} ${n.node.name || n.node.output[0]}`),
      attentionFactor: detection.attentionFactor,
      ...(detection.style !== "inv-freq" ? { cacheRows: detection.rows } : {}),
      contextFrom,
      ...(meta ? { patched: meta } : {}),
      rejected: detection.rejected,
    };
    const sidecars = { genaiConfig: sidecarFiles.genaiConfigPath, config: sidecarFiles.configPath };
    return { format: "onnx", path: p.path, spec, found, sidecars, layout, index, detection, sidecarFiles };
  } finally {
    file.close();
  }
}

function readMetadata(layout: ModelLayout): YarnifyMetadata | undefined {
  const entry = layout.metadata.find((m) => m.key === METADATA_KEY);
  if (!entry) return undefined;
  try {
    const v = parseJsonText(entry.value).value;
    if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("not an object");
    return v as unknown as YarnifyMetadata;
  } catch {
    throw new OnnxFormatError(layout.path, `metadata_props "${METADATA_KEY}" is not valid JSON`);
  }
}

/** The RoPE spec of a transformers config.json beside the model, when there is a readable one. */
function configRopeSpec(s: Sidecars): RopeSpec | undefined {
  if (!s.configPath) return undefined;
  try {
    return readHfConfig(s.configPath).spec;
  } catch {
    // A config.json without RoPE keys (or unreadable) explains nothing; the graph's values still can.
    return undefined;
  }
}

function specOf(
  p: InspectOnnxParams,
  d: Detection,
  meta: YarnifyMetadata | undefined,
  s: Sidecars,
  configSpec: RopeSpec | undefined,
): { spec: RopeSpec; contextFrom: string } {
  if (meta) {
    const spec: RopeSpec = { ...meta.source, context: meta.context, originalContext: trainedContext(meta.source), scaling: meta.scaling };
    return { spec, contextFrom: `metadata_props "${METADATA_KEY}"` };
  }
  if (!d.fit && d.explained && configSpec) {
    return { spec: configSpec, contextFrom: s.configPath as string };
  }
  const side = sidecarContext(s);
  const names = d.style === "inv-freq" ? d.tensors.map(describeTensor).join(", ") : describeTensor(d.cos);
  if (!d.fit) {
    throw new OnnxFormatError(p.path, `the rotary values of ${names} are not plain RoPE and no config.json beside the model explains them (already scaled?)`);
  }
  const { theta, rotaryDim: fitted } = d.fit;
  const rotaryDim = d.style !== "inv-freq" && d.declaredRotaryDim ? d.declaredRotaryDim : fitted;
  let context: number;
  let contextFrom: string;
  if (d.style !== "inv-freq") {
    context = side.context ?? d.rows;
    contextFrom = side.from ?? `cache rows of "${d.cos.name}"`;
  } else if (p.context !== undefined) {
    context = p.context;
    contextFrom = "the context option";
  } else if (side.context !== undefined) {
    context = side.context;
    contextFrom = side.from as string;
  } else {
    throw new OnnxError(p.path, "the graph does not store its trained context and no config.json or genai_config.json is beside it; pass the context");
  }
  const scaling: RopeScaling =
    Math.abs(d.attentionFactor - 1) < 1e-6 ? { method: "none" } : { method: "none", attentionFactor: d.attentionFactor };
  return {
    spec: { theta, headDim: side.headDim ?? rotaryDim, rotaryDim, context, originalContext: context, scaling },
    contextFrom,
  };
}
