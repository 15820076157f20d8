// patchOnnx: writes a copy of an ONNX model whose rotary embedding follows a Plan. Only the tensors and
// nodes that change are re-encoded; every other byte is copied as is, and external data stays external.
import { copyFileSync, existsSync, linkSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import onnxProto from "onnx-proto";
import type { Plan } from "../../src/types.ts";
import { OnnxExternalDataError, OnnxOutputError, OnnxPatchError } from "./errors.ts";
import { type CacheDetection, type InvFreqDetection, METADATA_KEY } from "./find.ts";
import { type ConstantTensor, freshName } from "./graph-index.ts";
import { type OnnxAnalysis, type OnnxInspection, type YarnifyMetadata, analyseOnnx } from "./inspect.ts";
import type { NodeEntry } from "./layout.ts";
import { ropeCaches } from "./caches.ts";
import { type Edit, spliceModel } from "./splice.ts";
import { DT_FLOAT, encodeTensor } from "./tensor.ts";
import { type WireField, concatBytes, fields, lenField, MemorySource, readString, rewriteMessage, stringField } from "./wire.ts";
import { FileSource } from "./wire.ts";

const { onnx } = onnxProto;

export interface PatchOnnxParams {
  /** The .onnx file. */
  source: string;
  plan: Plan;
  /** Output folder (the model keeps its file name), or a path ending in .onnx. Must not be the source's folder. */
  out: string;
  /** Value name of the inv_freq (or cos/sin cache) to patch when several disagree. */
  tensor?: string;
  /** Trained context when no config.json / genai_config.json gives it (inv_freq graphs only). */
  context?: number;
}

export interface PatchOnnxResult {
  /** The patched model. */
  model: string;
  /** Every file written (model, genai_config.json) or linked/copied (external data). */
  files: string[];
  externalData: { location: string; how: "link" | "copy" }[];
  /** What was found before patching. */
  before: OnnxInspection;
  /** What changed, one line each. */
  changes: string[];
  /**
   * A transformers config.json beside the model (or one folder up): not written here; give it to the HF converter
   * with the same plan so the folder stays consistent.
   */
  configJson?: string;
}

export function patchOnnx(p: PatchOnnxParams): PatchOnnxResult {
  const a = analyseOnnx({ path: p.source, tensor: p.tensor, context: p.context });
  const outPath = extname(p.out) === ".onnx" ? p.out : join(p.out, basename(p.source));
  const outDir = dirname(outPath);
  if (resolve(outDir) === resolve(dirname(p.source))) {
    throw new OnnxOutputError(p.source, `the output folder is the model's own folder; choose another (--out DIR)`);
  }
  const half = a.detection.style === "inv-freq" ? a.detection.values.length : a.detection.half;
  if (p.plan.invFreq.length !== half) {
    throw new OnnxPatchError(p.source, `the plan has ${p.plan.invFreq.length} frequencies but the model's rotary embedding has ${half}`);
  }
  if (!(p.plan.context > 0) || !Number.isInteger(p.plan.context)) throw new OnnxPatchError(p.source, `the plan's context ${p.plan.context} is not a positive integer`);

  const changes: string[] = [];
  const edits: Edit[] = [];
  const replaced = new Set<string>();
  if (a.detection.style === "inv-freq") editInvFreq(a, a.detection, p.plan, edits, changes, replaced);
  else editCaches(a, a.detection, p.plan, edits, changes, replaced);
  editMetadata(a, p.plan, edits);

  const external = externalLocations(a, replaced);
  for (const loc of external) {
    if (!existsSync(join(dirname(p.source), loc))) {
      throw new OnnxExternalDataError(p.source, `external data file "${loc}" is missing`);
    }
  }
  const genai = a.sidecarFiles.genaiConfig ? updatedGenaiConfig(a, p.plan, changes) : undefined;

  // Everything is checked: now write (the model to a temp name first, so a failure leaves no half file).
  mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  const tmp = `${outPath}.yarnify-tmp`;
  try {
    spliceModel({ sourcePath: p.source, size: a.layout.size, outPath: tmp, graph: a.layout.graph, edits });
    renameSync(tmp, outPath);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  files.push(outPath);
  const externalData: { location: string; how: "link" | "copy" }[] = [];
  for (const loc of external) {
    const from = join(dirname(p.source), loc);
    const to = join(outDir, loc);
    mkdirSync(dirname(to), { recursive: true });
    rmSync(to, { force: true });
    let how: "link" | "copy" = "link";
    try {
      linkSync(from, to);
    } catch {
      copyFileSync(from, to);
      how = "copy";
    }
    externalData.push({ location: loc, how });
    files.push(to);
  }
  if (genai) {
    const to = join(outDir, "genai_config.json");
    writeFileSync(to, JSON.stringify(genai, null, 4) + "\n");
    files.push(to);
  }
  const before = { format: a.format, path: a.path, spec: a.spec, found: a.found, sidecars: a.sidecars };
  return { model: outPath, files, externalData, before, changes, ...(a.sidecarFiles.configPath ? { configJson: a.sidecarFiles.configPath } : {}) };
}

// ---- inv_freq graphs ----

function editInvFreq(a: OnnxAnalysis, d: InvFreqDetection, plan: Plan, edits: Edit[], changes: string[], replaced: Set<string>): void {
  for (const t of d.tensors) {
    edits.push(replaceConstant(a, t, encodeTensor({ name: t.name, dims: t.header.dims, dataType: t.header.dataType, values: plan.invFreq })));
    replaced.add(t.name);
    changes.push(`${t.kind} "${t.name}": inv_freq replaced (${plan.invFreq.length} values)`);
  }
  const af = plan.attentionFactor;
  const dataType = d.tensors[0].header.dataType;
  if (d.scaleMuls.length) {
    const scalars = [...new Set(d.scaleMuls.map((s) => s.scalar))];
    const readers = new Set(d.scaleMuls.map((s) => s.reader));
    const private_ = scalars.every((s) => s.kind === "initializer" && (a.index.consumers.get(s.name) ?? []).every((c) => readers.has(c)));
    if (private_) {
      for (const s of scalars) {
        edits.push(replaceConstant(a, s, encodeTensor({ name: s.name, dims: s.header.dims, dataType: s.header.dataType, values: [af] })));
        replaced.add(s.name);
        changes.push(`initializer "${s.name}": attention factor ${d.attentionFactor} -> ${af}`);
      }
    } else {
      // The scalar is shared with other nodes: give the scale Muls their own.
      const name = freshName(a.index, "yarnify_attention_factor");
      edits.push(appendInitializer(a, encodeTensor({ name, dims: [], dataType: d.scaleMuls[0].scalar.header.dataType, values: [af] })));
      for (const s of d.scaleMuls) {
        edits.push({ start: s.reader.start, end: s.reader.end, bytes: lenField(1, renameInput(nodeBytes(a, s.reader), s.inputIndex, name)) });
      }
      changes.push(`Mul ${d.scaleMuls.map((s) => s.mul.node.name).join(", ")}: attention factor ${d.attentionFactor} -> ${af} (new initializer "${name}")`);
    }
  } else if (af !== 1) {
    // Cos/Sin may run in another dtype than the stored inv_freq (a Cast in between): with opset 15+ a CastLike
    // gives the factor the trig output's own type; older graphs get the inv_freq's dtype.
    const castLike = defaultOpset(a) >= 15;
    const name = freshName(a.index, "yarnify_attention_factor");
    edits.push(appendInitializer(a, encodeTensor({ name, dims: [], dataType: castLike ? DT_FLOAT : dataType, values: [af] })));
    for (const trig of [...d.cos, ...d.sin]) {
      const output = trig.node.output[0];
      const unscaled = freshName(a.index, `${output}_unscaled`);
      const renamed = rewriteMessage(nodeBytes(a, trig), (f, src) => (f.field === 2 && readString(src, f) === output ? stringField(2, unscaled) : undefined));
      const added: Uint8Array[] = [lenField(1, renamed)];
      let factor = name;
      if (castLike) {
        factor = freshName(a.index, `${name}_like_${output}`);
        const cast = onnx.NodeProto.encode({ input: [name, unscaled], output: [factor], name: freshName(a.index, `yarnify_castlike_${output}`), opType: "CastLike" }).finish();
        added.push(lenField(1, cast));
      }
      const mul = onnx.NodeProto.encode({ input: [unscaled, factor], output: [output], name: freshName(a.index, `yarnify_scale_${output}`), opType: "Mul" }).finish();
      added.push(lenField(1, mul));
      edits.push({ start: trig.start, end: trig.end, bytes: concatBytes(added) });
    }
    changes.push(`attention factor ${af}: Mul inserted after ${[...d.cos, ...d.sin].map((n) => n.node.name || n.node.output[0]).join(", ")}`);
  }
}

function defaultOpset(a: OnnxAnalysis): number {
  return a.layout.opsets.find((o) => o.domain === "" || o.domain === "ai.onnx")?.version ?? 0;
}

// ---- cos/sin caches ----

function editCaches(a: OnnxAnalysis, d: CacheDetection, plan: Plan, edits: Edit[], changes: string[], replaced: Set<string>): void {
  const rows = Math.max(plan.context, d.rows);
  const { cos, sin } = ropeCaches({ invFreq: plan.invFreq, attentionFactor: plan.attentionFactor, rows });
  for (const [t, values] of [[d.cos, cos], [d.sin, sin]] as const) {
    edits.push(replaceConstant(a, t, encodeTensor({ name: t.name, dims: [rows, d.half], dataType: t.header.dataType, values })));
    replaced.add(t.name);
    changes.push(`${t.kind} "${t.name}": [${d.rows},${d.half}] -> [${rows},${d.half}], attention factor ${plan.attentionFactor}`);
  }
}

// ---- shared helpers ----

function nodeBytes(a: OnnxAnalysis, n: NodeEntry): Uint8Array {
  const file = new FileSource(a.path);
  try {
    return file.read(n.valueStart, n.end - n.valueStart).slice();
  } finally {
    file.close();
  }
}

/** Replaces an initializer's TensorProto, or the `value` tensor of a Constant node. */
function replaceConstant(a: OnnxAnalysis, t: ConstantTensor, tensor: Uint8Array): Edit {
  if (t.kind === "initializer" && t.initializer) {
    return { start: t.initializer.start, end: t.initializer.end, bytes: lenField(5, tensor) };
  }
  const node = t.node as NodeEntry;
  const bytes = rewriteMessage(nodeBytes(a, node), (f, src) => {
    if (f.field !== 5) return undefined;
    const attr = src.read(f.valueStart, f.end - f.valueStart);
    if (attributeName(attr) !== "value") return undefined;
    return lenField(5, rewriteMessage(attr, (g) => (g.field === 5 ? lenField(5, tensor) : undefined)));
  });
  return { start: node.start, end: node.end, bytes: lenField(1, bytes) };
}

function attributeName(attr: Uint8Array): string {
  const src = new MemorySource(attr);
  for (const f of fields(src, 0, attr.length)) if (f.field === 1) return readString(src, f);
  return "";
}

function renameInput(node: Uint8Array, inputIndex: number, name: string): Uint8Array {
  let i = 0;
  return rewriteMessage(node, (f: WireField) => (f.field === 1 ? (i++ === inputIndex ? stringField(1, name) : undefined) : undefined));
}

/** A new initializer at the end of the graph (initializer order does not matter). */
function appendInitializer(a: OnnxAnalysis, tensor: Uint8Array): Edit {
  return { start: a.layout.graph.end, end: a.layout.graph.end, bytes: lenField(5, tensor) };
}

function editMetadata(a: OnnxAnalysis, plan: Plan, edits: Edit[]): void {
  for (const m of a.layout.metadata) if (m.key === METADATA_KEY) edits.push({ start: m.start, end: m.end, bytes: new Uint8Array(0), scope: "model" });
  const previous = a.found.patched;
  const meta: YarnifyMetadata = {
    source: previous?.source ?? a.spec,
    scaling: plan.scaling,
    context: plan.context,
    attentionFactor: plan.attentionFactor,
  };
  const entry = concatBytes([stringField(1, METADATA_KEY), stringField(2, JSON.stringify(meta))]);
  edits.push({ start: a.layout.size, end: a.layout.size, bytes: lenField(14, entry), scope: "model" });
}

function externalLocations(a: OnnxAnalysis, replaced: Set<string>): string[] {
  const locs = new Set<string>();
  for (const init of a.layout.initializers) {
    const loc = init.header.data.externalLocation;
    if (loc !== undefined && !replaced.has(init.header.name)) locs.add(loc);
  }
  return [...locs];
}

function updatedGenaiConfig(a: OnnxAnalysis, plan: Plan, changes: string[]): Record<string, unknown> {
  const g = structuredClone(a.sidecarFiles.genaiConfig) as Record<string, Record<string, unknown> | undefined>;
  if (g.model && typeof g.model === "object") {
    changes.push(`genai_config.json model.context_length ${String(g.model.context_length)} -> ${plan.context}`);
    g.model.context_length = plan.context;
  }
  if (g.search && typeof g.search === "object") {
    changes.push(`genai_config.json search.max_length ${String(g.search.max_length)} -> ${plan.context}`);
    g.search.max_length = plan.context;
  }
  return g;
}
