// Who produces and who consumes each value of the graph, and which values are constants.
import type { InitializerEntry, ModelLayout, NodeEntry } from "./layout.ts";
import { type TensorHeader, readTensorHeader } from "./tensor.ts";
import { type ByteSource, MemorySource } from "./wire.ts";

/** A constant value of the graph: an initializer, or the `value` tensor of a Constant node. */
export interface ConstantTensor {
  /** The value name used by consumers. */
  name: string;
  kind: "initializer" | "constant";
  header: TensorHeader;
  /** Where `header`'s offsets point (the model file, or the Constant node's re-encoded tensor). */
  src: ByteSource;
  initializer?: InitializerEntry;
  node?: NodeEntry;
}

export interface GraphIndex {
  producer: Map<string, NodeEntry>;
  consumers: Map<string, NodeEntry[]>;
  constants: Map<string, ConstantTensor>;
  /** Every value name in use (to pick fresh names). */
  names: Set<string>;
}

export function indexGraph(layout: ModelLayout, file: ByteSource): GraphIndex {
  const producer = new Map<string, NodeEntry>();
  const consumers = new Map<string, NodeEntry[]>();
  const constants = new Map<string, ConstantTensor>();
  const names = new Set<string>(layout.declaredNames);
  for (const init of layout.initializers) {
    constants.set(init.header.name, { name: init.header.name, kind: "initializer", header: init.header, src: file, initializer: init });
    names.add(init.header.name);
  }
  for (const entry of layout.nodes) {
    const n = entry.node;
    for (const o of n.output) {
      producer.set(o, entry);
      names.add(o);
    }
    for (const i of n.input) {
      if (!i) continue;
      names.add(i);
      const list = consumers.get(i);
      if (list) list.push(entry);
      else consumers.set(i, [entry]);
    }
    if (n.name) names.add(n.name);
    if (n.opType === "Constant" && (n.domain === "" || n.domain === "ai.onnx") && n.output.length === 1) {
      const bytes = n.attribute.find((a) => a.name === "value" && a.t)?.t;
      if (bytes) {
        const src = new MemorySource(bytes);
        const header = readTensorHeader(src, 0, bytes.length, layout.path);
        header.name = n.output[0];
        constants.set(n.output[0], { name: n.output[0], kind: "constant", header, src, node: entry });
      }
    }
  }
  return { producer, consumers, constants, names };
}

/** A name not yet used in the graph, built from `base`. */
export function freshName(index: GraphIndex, base: string): string {
  let name = base;
  for (let i = 1; index.names.has(name); i++) name = `${base}_${i}`;
  index.names.add(name);
  return name;
}
