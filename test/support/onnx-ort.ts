// Runs ONNX graphs in ONNX Runtime (the judge of the ONNX converter's output).
import * as ort from "onnxruntime-node";

// Feeds and fetches are int64 or float32 only: onnxruntime-node's native binding cannot read the Float16Array
// that onnxruntime-common builds for float16 on runtimes that have one (Bun, Deno). Tests cast inside the graph.

export type Feeds = Record<string, { type: "int64" | "float32"; data: ArrayLike<number>; dims: number[] }>;

export async function runOrt(modelPath: string, feeds: Feeds): Promise<Record<string, number[]>> {
  const session = await ort.InferenceSession.create(modelPath, { graphOptimizationLevel: "disabled", logSeverityLevel: 4 });
  try {
    const input: Record<string, ort.Tensor> = {};
    for (const [name, f] of Object.entries(feeds)) {
      if (f.type === "int64") input[name] = new ort.Tensor("int64", BigInt64Array.from(f.data, (v) => BigInt(v)), f.dims);
      else input[name] = new ort.Tensor("float32", Float32Array.from(f.data), f.dims);
    }
    const out = await session.run(input);
    const result: Record<string, number[]> = {};
    for (const [k, v] of Object.entries(out)) {
      const data = v.data as ArrayLike<number>;
      result[k] = Array.from(data);
    }
    return result;
  } finally {
    await session.release();
  }
}

export function positions(ps: number[]): Feeds[string] {
  return { type: "int64", data: ps, dims: [1, ps.length] };
}
