// patchOnnx: writes a copy of an ONNX model whose rotary embedding follows a Plan. Only the tensors and
// nodes that change are re-encoded; every other byte is copied as is, and external data stays external.
import { mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { OutputFile } from "../../src/core/converter.ts";
import { unifiedDiff } from "../../src/core/diff.ts";
import { cloneFile } from "../../src/core/io/model-dir.ts";
import { readTextCapped } from "../../src/core/io/read-text.ts";
import { writeStagedFolder } from "../../src/core/io/staged-folder.ts";
import type { Plan } from "../../src/core/types.ts";
import { readHfConfig } from "../../src/core/hf-config/read.ts";
import { patchedConfigText } from "../../src/core/hf-config/write.ts";
import { ropeCaches } from "./caches.ts";
import { OnnxExternalDataError, OnnxOutputError, OnnxPatchError } from "./errors.ts";
import { type CacheDetection, type InvFreqDetection, METADATA_KEY } from "./find.ts";
import { type ConstantTensor, freshName } from "./graph-index.ts";
import { type OnnxAnalysis, type OnnxInspection, type YarnifyMetadata, analyseOnnx } from "./inspect.ts";
import type { NodeEntry } from "./layout.ts";
import { encodeNode } from "./node.ts";
import type { GenaiConfig } from "./sidecar.ts";
import { type Edit, spliceModel } from "./splice.ts";
import { DT_FLOAT, encodeTensor } from "./tensor.ts";
import { type WireField, FileSource, MemorySource, concatBytes, fields, lenField, readString, rewriteMessage, stringField } from "./wire.ts";

export interface PatchOnnxParams {
  /** The .onnx file. */
  source: string;
  plan: Plan;
  /** Output folder (must not exist unless `overwrite`): the model keeps its file name, its folder's other files come along. */
  out: string;
  /** Value name of the inv_freq (or cos/sin cache) to patch when several disagree. */
  tensor?: string;
  /** Trained context when no config.json / genai_config.json gives it (inv_freq graphs only). */
  context?: number;
  /** Work out every change and the diff, write nothing. */
  dryRun?: boolean;
  /** Replace an existing output folder (default false). */
  overwrite?: boolean;
}

export interface PatchOnnxResult {
  /** The patched model (inside `out`). */
  model: string;
  out: string;
  /** Every file of the output folder: written (model, JSON sidecars) or cloned (external data, tokenizer, ...). */
  files: OutputFile[];
  /** External data files the patched model still references (cloned unchanged). */
  externalData: string[];
  /** What was found before patching. */
  before: OnnxInspection;
  /** What changed, one line each. */
  changes: string[];
  /** Unified diff of the changed JSON files (genai_config.json, config.json). */
  diff: string;
  warnings: string[];
}

export function patchOnnx(p: PatchOnnxParams): PatchOnnxResult {
  const a = analyseOnnx({ path: p.source, tensor: p.tensor, context: p.context });
  const sourceDir = dirname(p.source);
  const out = p.out.replace(/\/+$/, "");
  if (resolve(out) === resolve(sourceDir)) {
    throw new OnnxOutputError(p.source, `the output folder is the model's own folder; choose another (--out DIR)`);
  }
  const half = a.detection.style === "inv-freq" ? a.detection.values.length : a.detection.half;
  if (p.plan.invFreq.length !== half) {
    throw new OnnxPatchError(p.source, `the plan has ${p.plan.invFreq.length} frequencies but the model's rotary embedding has ${half}`);
  }
  if (!(p.plan.context > 0) || !Number.isInteger(p.plan.context)) throw new OnnxPatchError(p.source, `the plan's context ${p.plan.context} is not a positive integer`);

  const changes: string[] = [];
  const warnings: string[] = [];
  const edits: Edit[] = [];
  const replaced = new Set<string>();
  if (a.detection.style === "inv-freq") editInvFreq(a, a.detection, p.plan, edits, changes, replaced);
  else editCaches(a, a.detection, p.plan, edits, changes, replaced);
  editMetadata(a, p.plan, edits);

  const external = externalLocations(a, replaced);
  checkExternalData(a, p.source, replaced);
  // JSON sidecars in the model's folder are rewritten; a config.json one folder up is outside the output.
  const texts = new Map<string, string>();
  let diff = "";
  const side = a.sidecarFiles;
  if (side.genaiConfigPath && side.genaiConfig) {
    const text = JSON.stringify(updatedGenaiConfig(side.genaiConfig, p.plan, changes), null, 4) + "\n";
    texts.set("genai_config.json", text);
    diff += unifiedDiff(readTextCapped(side.genaiConfigPath), text, "a/genai_config.json", "b/genai_config.json");
  }
  if (side.configPath && dirname(side.configPath) === sourceDir) {
    const text = patchedConfigText(readHfConfig(side.configPath), p.plan);
    texts.set("config.json", text);
    diff += unifiedDiff(readTextCapped(side.configPath), text, "a/config.json", "b/config.json");
    changes.push(`config.json: max_position_embeddings ${p.plan.context}, rope ${p.plan.scaling.method}`);
  } else if (side.configPath) {
    warnings.push(`${side.configPath} still declares the old context; patch that folder too (yarnify patch ${dirname(side.configPath)})`);
  }
  const modelName = basename(p.source);
  const carried = carriedFiles(sourceDir, modelName, external, texts);
  const model = join(out, modelName);
  const before: OnnxInspection = { format: a.format, path: a.path, spec: a.spec, found: a.found, sidecars: a.sidecars };
  const result = (files: OutputFile[]): PatchOnnxResult => ({ model, out, files, externalData: external, before, changes, diff, warnings });
  if (p.dryRun) {
    const planned: OutputFile[] = [model, ...[...texts.keys()].map((rel) => join(out, rel))].map((path) => ({ path, how: "written" }));
    return result([...planned, ...carried.map((rel) => ({ path: join(out, rel), how: "copy" as const }))]);
  }

  // Everything is checked: build the folder under a temporary name and rename it into place when complete.
  const files = writeStagedFolder({ out, sources: [sourceDir], overwrite: p.overwrite, fill: (tmp) => {
    spliceModel({ sourcePath: p.source, size: a.layout.size, outPath: join(tmp, modelName), graph: a.layout.graph, edits });
    const written: OutputFile[] = [{ path: model, how: "written" }];
    for (const [rel, text] of texts) {
      writeFileSync(join(tmp, rel), text);
      written.push({ path: join(out, rel), how: "written" });
    }
    for (const rel of carried) {
      mkdirSync(dirname(join(tmp, rel)), { recursive: true });
      written.push({ path: join(out, rel), how: cloneFile(join(sourceDir, rel), join(tmp, rel)) });
    }
    return written;
  } });
  return result(files.sort((x, y) => x.path.localeCompare(y.path)));
}

/**
 * Files of the model's folder that come along unchanged: its external data, and the top-level files an ONNX
 * runtime folder needs (tokenizer, special tokens, ...), but not other .onnx models or their data.
 */
function carriedFiles(dir: string, modelName: string, external: string[], written: Map<string, string>): string[] {
  const out = new Set(external);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isFile() || entry.name === modelName || written.has(entry.name) || entry.name.startsWith(".")) continue;
    if (/\.onnx($|[._])/.test(entry.name)) continue; // yarnify's temporaries start with "." too
    out.add(entry.name);
  }
  return [...out].sort();
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
        const cast = encodeNode({ input: [name, unscaled], output: [factor], name: freshName(a.index, `yarnify_castlike_${output}`), opType: "CastLike" });
        added.push(lenField(1, cast));
      }
      const mul = encodeNode({ input: [unscaled, factor], output: [output], name: freshName(a.index, `yarnify_scale_${output}`), opType: "Mul" });
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

/**
 * Every external data file the patched model still references must be a regular file holding every byte its tensors
 * need: one cut short would be carried into the output as it is (and fail only when an engine loads it).
 */
function checkExternalData(a: OnnxAnalysis, source: string, replaced: Set<string>): void {
  const needs = new Map<string, { path: string; bytes: number; tensor: string }>();
  for (const init of a.layout.initializers) {
    const d = init.header.data;
    if (d.externalLocation === undefined || d.externalPath === undefined || replaced.has(init.header.name)) continue;
    const end = d.offset + d.length;
    const known = needs.get(d.externalLocation);
    if (!known || end > known.bytes) needs.set(d.externalLocation, { path: d.externalPath, bytes: end, tensor: init.header.name });
  }
  for (const [loc, need] of needs) {
    let st;
    try {
      st = statSync(need.path);
    } catch {
      throw new OnnxExternalDataError(source, `external data file "${loc}" is missing`);
    }
    if (!st.isFile()) throw new OnnxExternalDataError(source, `external data file "${loc}" is not a regular file`);
    if (st.size < need.bytes) {
      throw new OnnxExternalDataError(source, `external data file "${loc}" has ${st.size} bytes but tensor "${need.tensor}" needs ${need.bytes}: truncated?`);
    }
  }
}

function externalLocations(a: OnnxAnalysis, replaced: Set<string>): string[] {
  const locs = new Set<string>();
  for (const init of a.layout.initializers) {
    const loc = init.header.data.externalLocation;
    if (loc !== undefined && !replaced.has(init.header.name)) locs.add(loc);
  }
  return [...locs];
}

function updatedGenaiConfig(config: GenaiConfig, plan: Plan, changes: string[]): GenaiConfig {
  const g = structuredClone(config);
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
