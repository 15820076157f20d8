// The storage types of the evaluator's kernels: weights f32, or f16 where the device has shader-f16 (half the
// memory); with f16 weights the normed state, Q/K/V and the MLP gate/up chunk are stored in f16 too, while the residual
// stream, the attention output and the K/V cache stay f32 and every sum accumulates in f32.

export type WeightType = "f32" | "f16";

/** WGSL that names the weight element type `wt`. */
export const weightTypeWgsl = (wt: WeightType) => storageTypesWgsl({ wt });

/** WGSL aliases `wt`, `xt`, `yt` … for the storage types given (one `enable f16` when any is f16). */
export function storageTypesWgsl(types: Record<string, WeightType>): string {
  const entries = Object.entries(types);
  const f16 = entries.some(([, t]) => t === "f16") ? "enable f16;\n" : "";
  return f16 + entries.map(([name, t]) => `alias ${name} = ${t};\n`).join("");
}
