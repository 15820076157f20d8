// Public surface of the kernels: GPU access, the fused and three-pass WebGPU attention, the
// float64 reference they are checked against.
export { describeAdapter, findGpu, NoGpuError, requestGpu } from "./gpu.ts";
export type { AdapterSummary, Gpu, RequestGpuParams } from "./gpu.ts";
export { attention, prepareAttention } from "./attention.ts";
export type { GpuAttentionParams, PreparedAttention } from "./attention.ts";
export { attentionThreePass, prepareThreePassAttention } from "./three-pass.ts";
export { applyRope, attentionReference } from "./reference.ts";
export { AttentionInputError, AttentionUnsupportedError, causalAttentionFlops, checkProblem } from "./params.ts";
export type { AttentionDtype, AttentionProblem } from "./params.ts";
