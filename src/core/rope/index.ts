// Pure RoPE math: no I/O. Everything else in yarnify computes frequencies through here.
export type * from "./types.ts";
export { computeRope, cosSinRow, RopeParameterError } from "./compute.ts";
export { statedTrainedContext, trainedContext } from "./trained-context.ts";
export { defaultInvFreq, dynamicNtkBase, linearInvFreq, ntkAwareBase } from "./default.ts";
export { correctionDim, correctionRange, frequencyBands, getMscale, rampAt, yarnAttentionFactor, yarnInvFreq } from "./yarn.ts";
export { llama3FromFactors, llama3InvFreq } from "./llama3.ts";
export type { Llama3Parameters } from "./llama3.ts";
export { longropeAttentionFactor, longropeInvFreq } from "./longrope.ts";
export { f32, ulpDistance } from "./float32.ts";
export { hfDictFromScaling, hfRopeType, methodOfHfType, scalingFromHfDict, UnknownRopeTypeError } from "./hf-params.ts";
export type { JsonObject } from "./hf-params.ts";
export * from "./engines/index.ts";
