// NodeProto read and written on the protobuf wire (onnx.proto field numbers), so ONNX graphs need no protobuf
// library: a node is decoded into the fields the RoPE search reads, and the nodes a patch inserts are encoded.
import { type ByteSource, MemorySource, WIRE_LEN, WIRE_VARINT, WireError, concatBytes, fields, readInt64s, readString, stringField } from "./wire.ts";

// NodeProto: input = 1, output = 2, name = 3, op_type = 4, attribute = 5, domain = 7.
const NODE_INPUT = 1;
const NODE_OUTPUT = 2;
const NODE_NAME = 3;
const NODE_OP_TYPE = 4;
const NODE_ATTRIBUTE = 5;
const NODE_DOMAIN = 7;
// AttributeProto: name = 1, i = 3 (int64), t = 5 (TensorProto).
const ATTR_NAME = 1;
const ATTR_I = 3;
const ATTR_T = 5;

/** One attribute of a node, with the values the RoPE search reads. */
export interface OnnxAttribute {
  name: string;
  /** The INT value (`i`), when the attribute has one. */
  i?: number;
  /** The encoded TensorProto of a TENSOR attribute (`t`: a Constant's `value`), when it has one. */
  t?: Uint8Array;
}

/** The fields of a NodeProto that yarnify reads; empty strings and lists where the node leaves them out. */
export interface OnnxNode {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  /** "" (or "ai.onnx") for the standard operators, "com.microsoft" for ONNX Runtime's contrib operators. */
  domain: string;
  attribute: OnnxAttribute[];
}

/** A new node: the fields a patch sets (the default domain when `domain` is left out). */
export type NewOnnxNode = Omit<OnnxNode, "attribute" | "domain"> & { domain?: string };

function expectLen(f: { field: number; wire: number; start: number }, what: string): void {
  if (f.wire !== WIRE_LEN) throw new WireError(undefined, `${what} (field ${f.field}) at ${f.start} has wire type ${f.wire}, not length-delimited`);
}

function decodeAttribute(src: ByteSource, start: number, end: number): OnnxAttribute {
  const attr: OnnxAttribute = { name: "" };
  for (const f of fields(src, start, end)) {
    if (f.field === ATTR_NAME) {
      expectLen(f, "AttributeProto.name");
      attr.name = readString(src, f);
    } else if (f.field === ATTR_I) {
      if (f.wire !== WIRE_VARINT) throw new WireError(undefined, `AttributeProto.i at ${f.start} has wire type ${f.wire}, not varint`);
      attr.i = readInt64s(src, f)[0];
    } else if (f.field === ATTR_T) {
      expectLen(f, "AttributeProto.t");
      attr.t = new Uint8Array(src.read(f.valueStart, f.end - f.valueStart));
    }
  }
  return attr;
}

/**
 * Decodes a NodeProto message (its bytes, without the enclosing field's tag and length). Fields yarnify does not
 * read (doc_string, overload, metadata) are skipped; malformed bytes throw a WireError.
 *
 * @example
 * const node = decodeNode(bytes);
 * if (node.opType === "Cos") console.log(node.input[0], "->", node.output[0]);
 */
export function decodeNode(bytes: Uint8Array): OnnxNode {
  const src = new MemorySource(bytes);
  const node: OnnxNode = { input: [], output: [], name: "", opType: "", domain: "", attribute: [] };
  for (const f of fields(src, 0, bytes.length)) {
    switch (f.field) {
      case NODE_INPUT:
        expectLen(f, "NodeProto.input");
        node.input.push(readString(src, f));
        break;
      case NODE_OUTPUT:
        expectLen(f, "NodeProto.output");
        node.output.push(readString(src, f));
        break;
      case NODE_NAME:
        expectLen(f, "NodeProto.name");
        node.name = readString(src, f);
        break;
      case NODE_OP_TYPE:
        expectLen(f, "NodeProto.op_type");
        node.opType = readString(src, f);
        break;
      case NODE_ATTRIBUTE:
        expectLen(f, "NodeProto.attribute");
        node.attribute.push(decodeAttribute(src, f.valueStart, f.end));
        break;
      case NODE_DOMAIN:
        expectLen(f, "NodeProto.domain");
        node.domain = readString(src, f);
        break;
    }
  }
  return node;
}

/**
 * Encodes a new node without attributes, fields in field-number order as protobuf writers emit them (an empty
 * domain is left out: the default domain).
 *
 * @example
 * const mul = encodeNode({ input: ["cos_unscaled", "factor"], output: ["cos"], name: "scale_cos", opType: "Mul" });
 */
export function encodeNode(node: NewOnnxNode): Uint8Array {
  return concatBytes([
    ...node.input.map((s) => stringField(NODE_INPUT, s)),
    ...node.output.map((s) => stringField(NODE_OUTPUT, s)),
    ...(node.name ? [stringField(NODE_NAME, node.name)] : []),
    stringField(NODE_OP_TYPE, node.opType),
    ...(node.domain ? [stringField(NODE_DOMAIN, node.domain)] : []),
  ]);
}
