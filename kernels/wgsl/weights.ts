// The weight storage type of the evaluator's kernels: f32, or f16 where the device has shader-f16 (half the memory);
// activations stay f32 and every sum accumulates in f32.

export type WeightType = "f32" | "f16";

/** WGSL that names the weight element type `wt`. */
export const weightTypeWgsl = (wt: WeightType) => (wt === "f16" ? "enable f16;\nalias wt = f16;\n" : "alias wt = f32;\n");
