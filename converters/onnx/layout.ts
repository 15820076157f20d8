// Where everything is in a model file: the graph's byte range, each node (decoded: nodes are small),
// each initializer's header (values not read), and the top-level metadata entries.
import { OnnxFormatError } from "./errors.ts";
import { type OnnxNode, decodeNode } from "./node.ts";
import { type TensorHeader, readTensorHeader } from "./tensor.ts";
import { type ByteSource, type WireField, WIRE_LEN, WIRE_VARINT, WireError, fields, readString } from "./wire.ts";

export interface NodeEntry {
  index: number;
  /** Byte range of the whole `node` field (tag included) in the file. */
  start: number;
  end: number;
  /** Byte range of the NodeProto message itself. */
  valueStart: number;
  node: OnnxNode;
}

export interface InitializerEntry {
  start: number;
  end: number;
  valueStart: number;
  header: TensorHeader;
}

export interface MetadataEntry {
  start: number;
  end: number;
  key: string;
  value: string;
}

export interface ModelLayout {
  path: string;
  size: number;
  /** The `graph` field of ModelProto. */
  graph: WireField;
  nodes: NodeEntry[];
  initializers: InitializerEntry[];
  metadata: MetadataEntry[];
  opsets: { domain: string; version: number }[];
  /** Names of graph inputs, outputs and value_info (to avoid name clashes for new values). */
  declaredNames: Set<string>;
}

const MODEL_FIELD_GRAPH = 7;
const MODEL_FIELD_OPSET = 8;
const MODEL_FIELD_METADATA = 14;
// ModelProto field numbers with their expected wire types: anything else at the top level means "not ONNX".
const MODEL_WIRE: Record<number, number> = {
  1: WIRE_VARINT, 2: WIRE_LEN, 3: WIRE_LEN, 4: WIRE_LEN, 5: WIRE_VARINT, 6: WIRE_LEN, 7: WIRE_LEN, 8: WIRE_LEN,
  14: WIRE_LEN, 20: WIRE_LEN, 25: WIRE_LEN, 26: WIRE_LEN,
};

export function readLayout(src: ByteSource, path: string): ModelLayout {
  try {
    return scan(src, path);
  } catch (err) {
    if (err instanceof WireError) {
      const cut = /past|truncated|end of file/.test(err.message);
      throw new OnnxFormatError(path, cut ? `truncated ONNX model: ${err.message}` : `not an ONNX model (${err.message})`);
    }
    throw err;
  }
}

function scan(src: ByteSource, path: string): ModelLayout {
  if (src.size === 0) throw new OnnxFormatError(path, "empty file, not an ONNX model");
  let graph: WireField | undefined;
  const metadata: MetadataEntry[] = [];
  const opsets: { domain: string; version: number }[] = [];
  let irVersion = false;
  for (const f of fields(src, 0, src.size)) {
    if (MODEL_WIRE[f.field] !== undefined && MODEL_WIRE[f.field] !== f.wire) {
      throw new WireError(undefined, `field ${f.field} has wire type ${f.wire}`);
    }
    if (f.field === 1) irVersion = true;
    if (f.field === MODEL_FIELD_GRAPH) {
      if (graph) throw new OnnxFormatError(path, "ModelProto has two graph fields");
      graph = f;
    } else if (f.field === MODEL_FIELD_OPSET) {
      let domain = "";
      let version = 0;
      for (const e of fields(src, f.valueStart, f.end)) {
        if (e.field === 1) domain = readString(src, e);
        if (e.field === 2) version = e.varint ?? 0;
      }
      opsets.push({ domain, version });
    } else if (f.field === MODEL_FIELD_METADATA) {
      let key = "";
      let value = "";
      for (const e of fields(src, f.valueStart, f.end)) {
        if (e.field === 1) key = readString(src, e);
        if (e.field === 2) value = readString(src, e);
      }
      metadata.push({ start: f.start, end: f.end, key, value });
    }
  }
  if (!graph || !irVersion) throw new OnnxFormatError(path, "not an ONNX model (no ir_version or graph in the ModelProto)");
  const nodes: NodeEntry[] = [];
  const initializers: InitializerEntry[] = [];
  const declaredNames = new Set<string>();
  for (const f of fields(src, graph.valueStart, graph.end)) {
    if (f.field === 1 && f.wire === WIRE_LEN) {
      let node: OnnxNode;
      try {
        node = decodeNode(src.read(f.valueStart, f.end - f.valueStart));
      } catch (err) {
        throw new WireError(`node at ${f.start}`, (err as Error).message);
      }
      nodes.push({ index: nodes.length, start: f.start, end: f.end, valueStart: f.valueStart, node });
    } else if (f.field === 5 && f.wire === WIRE_LEN) {
      initializers.push({ start: f.start, end: f.end, valueStart: f.valueStart, header: readTensorHeader(src, f.valueStart, f.end, path) });
    } else if ((f.field === 11 || f.field === 12 || f.field === 13) && f.wire === WIRE_LEN) {
      for (const e of fields(src, f.valueStart, f.end)) if (e.field === 1) declaredNames.add(readString(src, e));
    }
  }
  return { path, size: src.size, graph, nodes, initializers, metadata, opsets, declaredNames };
}
