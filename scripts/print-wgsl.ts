// Prints a kernel's WGSL as the host builds it, to read or paste into a shader tool: `bun scripts/print-wgsl.ts
// flash-attention --head-dim 64` (or `deno run -A scripts/print-wgsl.ts …`, `npm run wgsl -- …`); no name lists the
// kernels. Variants are options, defaults in brackets: --dtype f32|f16 [f32] (the fused kernel's tensors, the evaluator's
// kernels' weights), --head-dim [128], --rotary-dim [head dim], --chunk-dims 32|64 [64], --rows-per-thread 4|8 [4],
// --unroll (constant loop bounds).
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { checkKernelDims } from "../kernels/attention.ts";
import type { AttentionDtype } from "../kernels/params.ts";
import { EMBED_PARAMS, embedWgsl } from "../kernels/wgsl/embed.ts";
import { FLASH_PARAMS, flashAttentionWgsl } from "../kernels/wgsl/flash-attention.ts";
import { MATMUL_PARAMS, matmulWgsl } from "../kernels/wgsl/matmul.ts";
import { NLL_PARAMS, nllWgsl } from "../kernels/wgsl/nll.ts";
import { RMS_NORM_PARAMS, rmsNormWgsl } from "../kernels/wgsl/rms-norm.ts";
import { GLU_PARAMS, gluWgsl } from "../kernels/wgsl/glu.ts";
import { BIAS_ADD_PARAMS, biasAddWgsl } from "../kernels/wgsl/bias-add.ts";
import { CACHED_ATTENTION_PARAMS, cachedAttentionWgsl, ROPE_STORE_PARAMS, ropeStoreWgsl } from "../kernels/wgsl/kv-cache.ts";
import { ropePassWgsl, scoresWgsl, softmaxWgsl, THREE_PASS_PARAMS, weightedSumWgsl } from "../kernels/wgsl/three-pass.ts";

export interface KernelOptions {
  dtype: AttentionDtype;
  headDim: number;
  rotaryDim: number;
  chunkDims: number;
  rowsPerThread: number;
  unroll: boolean;
}

export interface KernelEntry {
  about: string;
  /** The kernel's uniform struct, as its layout generates it. */
  params: { readonly wgsl: string };
  wgsl(o: KernelOptions): string;
}

/** Every WGSL kernel of the project, by name. */
export const KERNELS: Readonly<Record<string, KernelEntry>> = {
  "flash-attention": { about: "causal flash attention with RoPE fused in", params: FLASH_PARAMS, wgsl: flashAttentionWgsl },
  "three-pass-rope": { about: "three-pass baseline: rotate Q and K", params: THREE_PASS_PARAMS, wgsl: ropePassWgsl },
  "three-pass-scores": { about: "three-pass baseline: scaled Q·Kᵀ rows", params: THREE_PASS_PARAMS, wgsl: scoresWgsl },
  "three-pass-softmax": { about: "three-pass baseline: causal softmax per row", params: THREE_PASS_PARAMS, wgsl: softmaxWgsl },
  "three-pass-weighted-sum": { about: "three-pass baseline: P·V", params: THREE_PASS_PARAMS, wgsl: weightedSumWgsl },
  matmul: { about: "linear layer y (+)= x·Wᵀ", params: MATMUL_PARAMS, wgsl: (o) => matmulWgsl(o.dtype) },
  "bias-add": { about: "linear layer bias y += b (Qwen2's Q/K/V)", params: BIAS_ADD_PARAMS, wgsl: () => biasAddWgsl() },
  embed: { about: "embedding lookup × scale", params: EMBED_PARAMS, wgsl: (o) => embedWgsl(o.dtype) },
  "rms-norm": { about: "RMSNorm per row (tokens or heads), optionally added to the output", params: RMS_NORM_PARAMS, wgsl: () => rmsNormWgsl() },
  swiglu: { about: "MLP activation silu(g)·u", params: GLU_PARAMS, wgsl: () => gluWgsl("silu") },
  geglu: { about: "MLP activation gelu_tanh(g)·u (Gemma)", params: GLU_PARAMS, wgsl: () => gluWgsl("gelu-tanh") },
  nll: { about: "next-token negative log-likelihood", params: NLL_PARAMS, wgsl: nllWgsl },
  "rope-store": { about: "decoding: new rows' Q/K rotated at their positions (V copied) into the K/V cache", params: ROPE_STORE_PARAMS, wgsl: () => ropeStoreWgsl() },
  "cached-attention": { about: "decoding: new query rows over the K/V cache, online softmax", params: CACHED_ATTENTION_PARAMS, wgsl: cachedAttentionWgsl },
};

const USAGE = "usage: print-wgsl [kernel] [--dtype f32|f16] [--head-dim N] [--rotary-dim N] [--chunk-dims 32|64] [--rows-per-thread 4|8] [--unroll]";

const OPTIONS = {
  dtype: { type: "string", default: "f32" },
  "head-dim": { type: "string", default: "128" },
  "rotary-dim": { type: "string" },
  "chunk-dims": { type: "string", default: "64" },
  "rows-per-thread": { type: "string", default: "4" },
  unroll: { type: "boolean", default: false },
} as const;

function fail(message: string): never {
  throw new Error(`${message}\n${USAGE}`);
}

function parse(args: string[]) {
  try {
    return parseArgs({ args, allowPositionals: true, options: OPTIONS });
  } catch (err) {
    return fail((err as Error).message);
  }
}

/** The kernel list (no name) or the named kernel's WGSL; a bad name or option throws with the usage. */
export function printWgsl(args: string[]): string {
  const { values, positionals } = parse(args);
  const [name] = positionals;
  if (name === undefined) return Object.entries(KERNELS).map(([n, k]) => `${n.padEnd(24)}${k.about}`).join("\n");
  const kernel = KERNELS[name];
  if (!kernel || positionals.length > 1) return fail(`no kernel ${positionals.join(" ")} (${Object.keys(KERNELS).join(", ")})`);
  const choice = <T extends string>(option: string, value: string, allowed: readonly T[]): T =>
    (allowed as readonly string[]).includes(value) ? (value as T) : fail(`--${option} ${value}: expected ${allowed.join(" or ")}`);
  const count = (option: string, value: string) => (/^[1-9]\d*$/.test(value) ? Number(value) : fail(`--${option} ${value}: expected a positive integer`));
  const headDim = count("head-dim", values["head-dim"]);
  const options: KernelOptions = {
    dtype: choice("dtype", values.dtype, ["f32", "f16"] as const),
    headDim,
    rotaryDim: values["rotary-dim"] === undefined ? headDim : count("rotary-dim", values["rotary-dim"]),
    // The values flashShapeFor accepts.
    chunkDims: Number(choice("chunk-dims", values["chunk-dims"], ["32", "64"] as const)),
    rowsPerThread: Number(choice("rows-per-thread", values["rows-per-thread"], ["4", "8"] as const)),
    unroll: values.unroll,
  };
  if (options.rotaryDim > headDim) fail(`--rotary-dim ${options.rotaryDim}: more than the head dim ${headDim}`);
  checkKernelDims(options);
  return kernel.wgsl(options);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    console.log(printWgsl(process.argv.slice(2)));
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
}
