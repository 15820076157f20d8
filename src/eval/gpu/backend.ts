/// <reference types="@webgpu/types" preserve="true" />
// The decoder forward pass on WebGPU, every family: weights resident on the device or streamed a layer at a time; one
// submission for the embedding, one per layer (attention is the validation's fused RoPE + flash-attention kernel,
// reading the projections token-major, with each layer's RoPE and window; the MLP in row chunks), the final norm, the
// LM head in chunks and the next-token NLL; only the NLLs come back. Decoding runs the same layers over new rows
// only, their rotated keys and values kept in a K/V cache on the device. Quantized GGUF weights arrive here already dequantized (on upload, by
// the loader): the matmul kernel reads f32 or f16 storage only, so a Q4_K model takes f16/f32 space on the device.
import { GpuError } from "../../core/errors.ts";
import type { RopeFrequencies } from "../../core/rope/types.ts";
import type { DecodeSession, ForwardBackend, LogitRowsRequest, NllRequest, OnLogitRows } from "../backend.ts";
import { cpuBackend } from "../cpu/forward.ts";
import type { LayerShape } from "../model/model-shape.ts";
import { heldWeights, readAllWeights, type ModelWeights, type WeightSource } from "../model/weights.ts";
import { GpuLimitError, LOGIT_ROWS, MLP_ROWS, planGpuMemory, type GpuMemoryPlan } from "./memory.ts";
import { checkKernelShape, createFlashAttention, flashShapeFor, type FlashAttention } from "../../../kernels/attention.ts";
import { AttentionUnsupportedError } from "../../../kernels/params.ts";
import { encodeTurnsPerPosition } from "../../../kernels/wgsl/rope.ts";
import { NoGpuError, requestGpu, type AdapterSummary, type Gpu } from "../../../kernels/gpu.ts";
import { toFloat16Bits } from "../../core/float16.ts";
import { BIAS_ADD_PARAMS, biasAddWgsl } from "../../../kernels/wgsl/bias-add.ts";
import { EMBED_PARAMS, embedWgsl } from "../../../kernels/wgsl/embed.ts";
import { GLU_PARAMS, gluWgsl } from "../../../kernels/wgsl/glu.ts";
import { CACHED_ATTENTION_PARAMS, cachedAttentionWgsl, ROPE_STORE_PARAMS, ropeStoreWgsl } from "../../../kernels/wgsl/kv-cache.ts";
import { MATMUL_PARAMS, matmulWgsl, MM_GROUP, MM_ROWS } from "../../../kernels/wgsl/matmul.ts";
import { NLL_PARAMS, nllWgsl } from "../../../kernels/wgsl/nll.ts";
import { RMS_NORM_GRID_X, RMS_NORM_PARAMS, rmsNormWgsl } from "../../../kernels/wgsl/rms-norm.ts";
import type { WeightType } from "../../../kernels/wgsl/weights.ts";

export { GpuError, GpuLimitError, NoGpuError };

export interface GpuBackendOptions {
  /** Throw NoGpuError when there is no adapter (else fall back to the CPU backend). */
  required: boolean;
  precision: "auto" | "f32" | "f16";
  /** An already open device (benchmarks reuse one). */
  gpu?: Gpu;
  /** The model as error lines name it (default: its architecture). */
  model?: string;
  /** The longest window to be run: the memory plan covers it before any weight is read. */
  maxTokens?: number;
  /**
   * Bytes the device may hold (WebGPU cannot tell): weights are streamed layer by layer when resident ones would
   * not fit, and a window that fits neither way is refused up front. Unknown by default: weights resident, streamed
   * if uploading them runs out of memory.
   */
  memoryBudget?: number;
  /** Window rows per MLP step (MLP_ROWS); smaller bounds the gate/up buffers further. */
  mlpRows?: number;
  /** LM-head rows per step (LOGIT_ROWS). */
  logitRows?: number;
}

const STORAGE = 0x80, COPY_DST = 0x8, COPY_SRC = 0x4, UNIFORM = 0x40, MAP_READ = 0x1;
// The big matrices of a layer, stored as the weight type; everything else (norms, biases) stays f32.
const MATRICES = ["q", "k", "v", "o", "gate", "up", "down"] as const;
const VECTORS = ["attnNorm", "mlpNorm", "qBias", "kBias", "vBias", "qNorm", "kNorm", "attnPostNorm", "mlpPostNorm"] as const;
type LayerBuffers = Partial<Record<(typeof MATRICES)[number] | (typeof VECTORS)[number], GPUBuffer>>;

/** A matrix holds a value f16 cannot store (bf16 checkpoints can): "auto" precision then keeps f32 storage. */
class HalfRangeError extends GpuError {
  override name = "HalfRangeError";
}

/**
 * The WebGPU forward pass for these weights (the CPU's when there is no adapter and `required` is false). From a
 * WeightSource the weights are read a layer at a time, after the memory plan (memory.ts) has accepted the model and
 * `maxTokens`: it refuses with the figures, before reading any weight, what the adapter cannot hold.
 *
 * @example
 * const backend = await gpuBackend(checkpointWeights(ck), { required: false, precision: "auto", maxTokens: 32768 });
 */
export async function gpuBackend(w: ModelWeights | WeightSource, opts: GpuBackendOptions): Promise<ForwardBackend> {
  return (await gpuBackends([w], opts))[0]!;
}

/**
 * One WebGPU forward pass per model, all on one device (a second device would be a second Dawn instance, and two
 * keep Node from exiting); an owned device goes with the last of them released. Each is planned as gpuBackend's.
 * Without an adapter and not `required`, the CPU's.
 *
 * @example
 * const [patched, original] = await gpuBackends([checkpointWeights(a), checkpointWeights(b)], { required: false, precision: "auto" });
 */
export async function gpuBackends(ws: readonly (ModelWeights | WeightSource)[], opts: GpuBackendOptions): Promise<ForwardBackend[]> {
  let gpu: Gpu;
  try {
    gpu = opts.gpu ?? (await requestGpu());
  } catch (err) {
    if (err instanceof NoGpuError && !opts.required) {
      return Promise.all(ws.map(async (w) => ({ ...cpuBackend("layers" in w ? w : await readAllWeights(w)), name: `cpu (no WebGPU: ${err.message})` })));
    }
    throw err;
  }
  let open = ws.length;
  const device = gpu;
  const shared: Gpu = opts.gpu ? gpu : { ...gpu, release: () => { if (--open === 0) device.release(); } };
  const made: GpuForward[] = [];
  try {
    for (const w of ws) made.push(await gpuForward(shared, "layers" in w ? heldWeights(w) : w, opts));
    return made;
  } catch (err) {
    for (const b of made) b.release(false);
    if (!opts.gpu) gpu.release();
    throw err;
  }
}

async function gpuForward(gpu: Gpu, src: WeightSource, opts: GpuBackendOptions): Promise<GpuForward> {
  if (opts.precision === "f16" && !gpu.f16) throw new GpuLimitError(undefined, `precision f16 needs shader-f16, which ${adapterName(gpu.summary)} lacks`);
  const open = async (wt: WeightType) => {
    const fwd = new GpuForward(gpu, src, wt, !opts.gpu, opts, planFor(gpu, src, wt, opts).weights);
    try {
      await fwd.upload();
      return fwd;
    } catch (err) {
      fwd.release(false);
      throw err;
    }
  };
  const wt: WeightType = opts.precision === "f32" || !gpu.f16 ? "f32" : "f16";
  try {
    return await open(wt);
  } catch (err) {
    // bf16 checkpoints can hold values f16 cannot: then keep float32 storage rather than store infinities.
    if (err instanceof HalfRangeError && opts.precision === "auto") return await open("f32");
    throw err;
  }
}

/** The memory plan for windows of `tokens` (and a decoding session's K/V cache of `cacheTokens`). */
function planFor(gpu: Gpu, src: WeightSource, wt: WeightType, opts: GpuBackendOptions, tokens = opts.maxTokens ?? 2, cacheTokens = 0): GpuMemoryPlan {
  const limits = gpu.device.limits;
  return planGpuMemory(
    opts.model ?? src.shape.architecture,
    { shape: src.shape, tokens, weightType: wt, tiedEmbeddings: src.tied, ...(cacheTokens > 0 && { cacheTokens }), ...(opts.mlpRows && { mlpRows: opts.mlpRows }), ...(opts.logitRows && { logitRows: opts.logitRows }) },
    { maxBufferSize: limits.maxBufferSize, maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize, ...(opts.memoryBudget !== undefined && { budget: opts.memoryBudget }) },
  );
}

/** The adapter as the eval report names it: its description (or device, or vendor) / architecture. */
function adapterName(s: AdapterSummary): string {
  return [s.description || s.device || s.vendor || "WebGPU adapter", s.architecture].filter(Boolean).join(" / ");
}

// matmul: f32 in and out; matmulIn: reads activations (h, g, att) as stored; matmulAct: activations in and out (Q/K/V,
// gate, up); normAct: stores the normed state as an activation; normHeads: head norms, activations in and out.
type Pipe = "matmul" | "matmulIn" | "matmulAct" | "embed" | "norm" | "normAct" | "normHeads" | "glu" | "nll" | "bias";

/** One decoding session's device state: what runCached reads and extends. */
interface KvCache {
  readonly capacity: number;
  /** Tokens cached so far. */
  length: number;
  /** Per layer, rotated keys and values [capacity, kvHeads·headDim]. */
  readonly k: GPUBuffer[];
  readonly v: GPUBuffer[];
  readonly freq: Record<LayerShape["rope"], GPUBuffer>;
  readonly rope: Record<LayerShape["rope"], RopeFrequencies>;
  destroy(): void;
}

/**
 * A pass's activation buffers: qn and kn are q and k unless the family head-norms them; g and u hold an MLP chunk.
 * h, q, k, v, qn, kn, g and u are stored as the activation type (f16 with f16 weights); x, att and proj f32.
 */
interface Activations {
  x: GPUBuffer;
  h: GPUBuffer;
  q: GPUBuffer;
  k: GPUBuffer;
  v: GPUBuffer;
  qn: GPUBuffer;
  kn: GPUBuffer;
  att: GPUBuffer;
  proj: GPUBuffer;
  g: GPUBuffer;
  u: GPUBuffer;
  /** Rows per MLP chunk. */
  mlpRows: number;
}

class GpuForward implements ForwardBackend {
  name: string;
  private readonly device: GPUDevice;
  /** embed, lmHead, norm. */
  private readonly globals: Map<string, GPUBuffer> = new Map();
  /** Resident: every layer's buffers; streamed: one set, rewritten with each layer's weights. */
  private layers: LayerBuffers[] = [];
  private readonly pipes: Record<Pipe, GPUComputePipeline>;
  private readonly attention: FlashAttention;
  private transient: GPUBuffer[] = [];
  private decodePipelines?: { ropeStore: GPUComputePipeline; attention: GPUComputePipeline };
  private readonly maxBinding: number;
  private readonly mlpRows: number;
  private readonly logitChunk: number;
  /** Storage of the per-token activations (h, Q/K/V, the MLP chunk): the weights' type. */
  private readonly at: WeightType;
  private plannedTokens: number;

  constructor(
    private readonly gpu: Gpu,
    private readonly src: WeightSource,
    private readonly wt: WeightType,
    private readonly owned: boolean,
    private readonly opts: GpuBackendOptions,
    private mode: GpuMemoryPlan["weights"],
  ) {
    this.device = gpu.device;
    this.name = this.describe();
    this.maxBinding = Math.min(this.device.limits.maxStorageBufferBindingSize, this.device.limits.maxBufferSize);
    this.mlpRows = opts.mlpRows ?? MLP_ROWS;
    this.logitChunk = opts.logitRows ?? LOGIT_ROWS;
    this.plannedTokens = opts.maxTokens ?? 2;
    const s = src.shape;
    const pipe = (code: string) =>
      this.device.createComputePipeline({ layout: "auto", compute: { module: this.device.createShaderModule({ code }), entryPoint: "main" } });
    // The activation type follows the weights: an f16 pass stores h, Q/K/V, g and u in f16 (the residual stream stays f32).
    this.at = wt;
    const at = wt;
    this.pipes = {
      matmul: pipe(matmulWgsl(wt)), matmulIn: pipe(matmulWgsl(wt, at)), matmulAct: pipe(matmulWgsl(wt, at, at)),
      embed: pipe(embedWgsl(wt)), norm: pipe(rmsNormWgsl()), normAct: pipe(rmsNormWgsl(at)), normHeads: pipe(rmsNormWgsl(at, at)),
      glu: pipe(gluWgsl(s.family.activation, at)), nll: pipe(nllWgsl()), bias: pipe(biasAddWgsl(at)),
    };
    const dims = { headDim: s.headDim, rotaryDim: s.rotaryDim };
    try {
      checkKernelShape(dims, at, this.device);
      // Constant loop bounds compile for minutes on a software adapter (see FlashShape.unroll).
      this.attention = createFlashAttention(this.device, flashShapeFor(dims, at, this.device, !gpu.summary.software));
    } catch (err) {
      if (err instanceof AttentionUnsupportedError) throw new GpuError(undefined, `${err.message}: use --device cpu`);
      throw err;
    }
  }

  private describe(): string {
    return `webgpu ${adapterName(this.gpu.summary)} (${this.wt} weights${this.mode === "streamed" ? ", streamed layer by layer" : ""})`;
  }

  /**
   * Uploads the globals and, when resident, every layer (read one at a time). With no budget given, running out of
   * device memory on the way switches to streaming.
   */
  async upload(): Promise<void> {
    const dev = this.device;
    dev.pushErrorScope("out-of-memory");
    // Writes into a buffer that could not be allocated are invalid: the out-of-memory error says why.
    dev.pushErrorScope("validation");
    let failure: unknown;
    try {
      const g = await this.src.globals();
      const big = (name: string, data: Float32Array) => this.globals.set(name, this.put(this.toStorage(data, name), name));
      big("embed", g.embed);
      if (g.lmHead === g.embed) this.globals.set("lmHead", this.globals.get("embed")!);
      else big("lmHead", g.lmHead);
      this.globals.set("norm", this.put(g.norm, "norm"));
      if (this.mode === "resident") for (let i = 0; i < this.src.shape.layers.length; i++) this.layers.push(await this.writeLayer(i, {}));
    } catch (err) {
      failure = err;
    }
    const invalid = await dev.popErrorScope();
    const oom = await dev.popErrorScope();
    if (failure) throw failure;
    if (!oom) {
      if (invalid) throw new GpuError(undefined, `WebGPU weight upload: ${invalid.message.split("\n")[0]}`);
      return;
    }
    if (this.mode === "streamed" || this.opts.memoryBudget !== undefined) {
      throw new GpuLimitError(this.opts.model, `WebGPU ran out of memory uploading the ${this.mode} weights: ${oom.message.split("\n")[0]}`);
    }
    this.toStreamed();
  }

  private toStreamed(): void {
    this.destroyLayers();
    this.mode = "streamed";
    this.name = this.describe();
  }

  /** Layer i's weights into `into` (buffers made for those it lacks): a resident layer, or the streaming set. */
  private async writeLayer(i: number, into: LayerBuffers): Promise<LayerBuffers> {
    const l = await this.src.layer(i);
    for (const k of VECTORS) if (l[k]) into[k] = this.put(l[k], `${i}.${k}`, into[k]);
    for (const k of MATRICES) into[k] = this.put(this.toStorage(l[k], `layer ${i} ${k}`), `${i}.${k}`, into[k]);
    return into;
  }

  private toStorage(data: Float32Array, what: string): ArrayBufferView {
    if (this.wt === "f32") return data;
    if (data.some((v) => v > 65504 || v < -65504)) throw new HalfRangeError(undefined, `weight ${what} exceeds the f16 range (±65504): use precision f32`);
    return toFloat16Bits(data);
  }

  /** A lasting buffer holding `data` (written into `into` when given). */
  private put(data: ArrayBufferView, label: string, into?: GPUBuffer): GPUBuffer {
    const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
    this.checkSize(size, label);
    const b = into ?? this.device.createBuffer({ size, usage: STORAGE | COPY_DST, label });
    this.device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, Math.ceil(data.byteLength / 4) * 4);
    return b;
  }

  private transientUpload(data: ArrayBufferView, label: string): GPUBuffer {
    const b = this.put(data, label);
    this.transient.push(b);
    return b;
  }

  private scratch(bytes: number, label: string): GPUBuffer {
    this.checkSize(bytes, label);
    const b = this.device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: STORAGE | COPY_SRC | COPY_DST, label });
    this.transient.push(b);
    return b;
  }

  private uniform(words: ArrayBuffer): GPUBuffer {
    const b = this.device.createBuffer({ size: words.byteLength, usage: UNIFORM | COPY_DST });
    this.device.queue.writeBuffer(b, 0, words);
    this.transient.push(b);
    return b;
  }

  private checkSize(bytes: number, label: string): void {
    if (bytes > this.maxBinding) {
      throw new GpuLimitError(undefined, `${label} needs ${bytes} bytes, over the adapter's ${this.maxBinding}-byte buffer limit: use a shorter context (or a GPU with larger limits)`
      );
    }
  }

  private dispatch(pass: GPUComputePassEncoder, pipeline: GPUComputePipeline, buffers: GPUBuffer[], x: number, y = 1): void {
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    }));
    pass.dispatchWorkgroups(x, y);
  }

  /** y (+)= x·wᵀ; `types` says which of x and y are activation-typed buffers (h, g, u). */
  private matmul(pass: GPUComputePassEncoder, x: GPUBuffer, w: GPUBuffer, y: GPUBuffer, M: number, N: number, K: number, accumulate: boolean, xRow0 = 0, yRow0 = 0, types: "f32" | "in" | "act" = "f32"): void {
    const u = this.uniform(MATMUL_PARAMS.pack({ M, N, K, accumulate: accumulate ? 1 : 0, xRow0, yRow0 }));
    const pipe = { f32: this.pipes.matmul, in: this.pipes.matmulIn, act: this.pipes.matmulAct }[types];
    this.dispatch(pass, pipe, [u, x, w, y], Math.ceil(N / MM_GROUP), Math.ceil(M / MM_ROWS));
  }

  /** RMSNorm of `rows` rows of `dim` into out (added to it when accumulate); `toAct`: out is activation-typed (h). */
  private norm(pass: GPUComputePassEncoder, x: GPUBuffer, weight: GPUBuffer, out: GPUBuffer, rows: number, dim: number, accumulate = false, toAct: boolean | "heads" = false): void {
    const u = this.uniform(RMS_NORM_PARAMS.pack({ rows, dim, eps: this.src.shape.eps, accumulate: accumulate ? 1 : 0 }));
    this.dispatch(pass, toAct === "heads" ? this.pipes.normHeads : toAct ? this.pipes.normAct : this.pipes.norm, [u, x, weight, out], Math.min(rows, RMS_NORM_GRID_X), Math.ceil(rows / RMS_NORM_GRID_X));
  }

  private elementwise(n: number, perGroup: number): [number, number] {
    const groups = Math.ceil(n / perGroup);
    return [Math.min(groups, 65535), Math.ceil(groups / 65535)];
  }

  private bias(pass: GPUComputePassEncoder, y: GPUBuffer, b: GPUBuffer | undefined, rows: number, width: number): void {
    if (!b) return;
    this.dispatch(pass, this.pipes.bias, [this.uniform(BIAS_ADD_PARAMS.pack({ n: rows * width, width })), y, b], ...this.elementwise(rows * width, 256));
  }

  /**
   * The plan again for windows of `tokens` (and a K/V cache of `cacheTokens`) when more than planned: it refuses
   * with its figures, or switches resident weights to streaming.
   */
  private replan(tokens: number, cacheTokens = 0): void {
    if (tokens <= this.plannedTokens && cacheTokens === 0) return;
    const plan = planFor(this.gpu, this.src, this.wt, this.opts, Math.max(tokens, this.plannedTokens), cacheTokens);
    if (plan.weights === "streamed" && this.mode === "resident") this.toStreamed();
    this.plannedTokens = Math.max(tokens, this.plannedTokens);
  }

  /** The activation buffers of L rows (transient); the MLP's gate and up hold one chunk of rows. */
  private activations(L: number): Activations {
    const { hidden: H, heads, kvHeads, headDim: D, intermediate: I, family } = this.src.shape;
    const as = this.at === "f16" ? 2 : 4;
    const x = this.scratch(L * H * 4, "hidden state");
    const q = this.scratch(L * heads * D * as, "queries");
    const k = this.scratch(L * kvHeads * D * as, "keys");
    // The MLP runs on row chunks of the window: its [rows, intermediate] buffers do not grow with the context.
    const mlpRows = Math.min(this.mlpRows, L);
    return {
      x, q, k, mlpRows,
      h: this.scratch(L * H * as, "normed state"),
      v: this.scratch(L * kvHeads * D * as, "values"),
      // Head-normed Q and K (Qwen3, Gemma) go to their own buffers: a kernel may not read and write one binding.
      qn: family.qkNorm ? this.scratch(L * heads * D * as, "normed queries") : q,
      kn: family.qkNorm ? this.scratch(L * kvHeads * D * as, "normed keys") : k,
      att: this.scratch(L * heads * D * 4, "attention output"),
      proj: family.sandwichNorms ? this.scratch(L * H * 4, "block output") : x,
      g: this.scratch(mlpRows * I * as, "MLP gate"),
      u: this.scratch(mlpRows * I * as, "MLP up"),
    };
  }

  /**
   * One decoder layer over L rows of `b.x` with the layer's buffers `w`: norm, Q/K/V projections (biases, head
   * norms), the attention `attend` encodes (reading b.qn, b.kn, b.v, writing b.att), the output projection and the
   * MLP in row chunks, into the residual stream.
   */
  private encodeLayer(pass: GPUComputePassEncoder, w: LayerBuffers, L: number, b: Activations, attend: () => void): void {
    const s = this.src.shape;
    const { hidden: H, heads, kvHeads, headDim: D, intermediate: I } = s;
    const post = s.family.sandwichNorms;
    this.norm(pass, b.x, w.attnNorm!, b.h, L, H, false, true);
    this.matmul(pass, b.h, w.q!, b.q, L, heads * D, H, false, 0, 0, "act");
    this.matmul(pass, b.h, w.k!, b.k, L, kvHeads * D, H, false, 0, 0, "act");
    this.matmul(pass, b.h, w.v!, b.v, L, kvHeads * D, H, false, 0, 0, "act");
    this.bias(pass, b.q, w.qBias, L, heads * D);
    this.bias(pass, b.k, w.kBias, L, kvHeads * D);
    this.bias(pass, b.v, w.vBias, L, kvHeads * D);
    if (s.family.qkNorm) {
      this.norm(pass, b.q, w.qNorm!, b.qn, L * heads, D, false, "heads");
      this.norm(pass, b.k, w.kNorm!, b.kn, L * kvHeads, D, false, "heads");
    }
    attend();
    // Without post-norms the projections add straight into the residual stream.
    this.matmul(pass, b.att, w.o!, b.proj, L, H, heads * D, !post);
    if (post) this.norm(pass, b.proj, w.attnPostNorm!, b.x, L, H, true);
    this.norm(pass, b.x, w.mlpNorm!, b.h, L, H, false, true);
    for (let r0 = 0; r0 < L; r0 += b.mlpRows) {
      const rows = Math.min(b.mlpRows, L - r0);
      this.matmul(pass, b.h, w.gate!, b.g, rows, I, H, false, r0, 0, "act");
      this.matmul(pass, b.h, w.up!, b.u, rows, I, H, false, r0, 0, "act");
      this.dispatch(pass, this.pipes.glu, [this.uniform(GLU_PARAMS.pack({ n: rows * I })), b.g, b.u], ...this.elementwise(rows * I, 256));
      this.matmul(pass, b.g, w.down!, b.proj, rows, H, I, !post, 0, r0, "in");
    }
    if (post) this.norm(pass, b.proj, w.mlpPostNorm!, b.x, L, H, true);
  }

  /**
   * Embedding, every layer (attention by `attend(pass, layer)`) and the final norm of L rows: the normed states in
   * b.h; `after` adds to the last command buffer. One submission per layer: a streamed layer's weights are written
   * into the shared buffers after the previous layer's work in queue order, so its disk read overlaps that work.
   */
  private async encodeDecoder(
    tokens: GPUBuffer, L: number, b: Activations, attend: (pass: GPUComputePassEncoder, layer: number) => void, after?: (enc: GPUCommandEncoder) => void,
  ): Promise<void> {
    const s = this.src.shape;
    const H = s.hidden;
    const submit = (encode: (pass: GPUComputePassEncoder) => void, then?: (enc: GPUCommandEncoder) => void) => {
      const enc = this.device.createCommandEncoder();
      const pass = enc.beginComputePass();
      encode(pass);
      pass.end();
      then?.(enc);
      this.device.queue.submit([enc.finish()]);
    };
    submit((pass) => this.dispatch(pass, this.pipes.embed, [this.uniform(EMBED_PARAMS.pack({ rows: L, dim: H, scale: s.embedScale })), tokens, this.globals.get("embed")!, b.x], ...this.elementwise(L * H, 256)));
    for (let i = 0; i < s.layers.length; i++) {
      const w = this.mode === "resident" ? this.layers[i]! : await this.writeLayer(i, (this.layers[0] ??= {}));
      submit((pass) => this.encodeLayer(pass, w, L, b, () => attend(pass, i)));
    }
    submit((pass) => this.norm(pass, b.x, this.globals.get("norm")!, b.h, L, H, false, true), after);
  }

  /**
   * The fused flash attention over L rows at positions 0..L−1 (RoPE applied to b.qn and b.kn as it loads them, into
   * b.att), one binding per distinct (RoPE, window) among the layers, made when first encoded.
   */
  private flashAttention(L: number, b: Activations, rope: RopeFrequencies): { encode(pass: GPUComputePassEncoder, layer: LayerShape): void; destroy(): void } {
    const s = this.src.shape;
    const ropes: Record<LayerShape["rope"], RopeFrequencies> = { global: rope, local: s.localRope ?? rope };
    const positions = this.transientUpload(Uint32Array.from({ length: L }, (_, i) => i), "positions");
    const bound = new Map<string, ReturnType<FlashAttention["bind"]>>();
    return {
      encode: (pass, layer) => {
        const key = `${layer.rope}/${layer.window}`;
        let a = bound.get(key);
        if (!a) {
          const r = ropes[layer.rope];
          a = this.attention.bind({
            seq: L, qHeads: s.heads, nHeads: s.heads, nKvHeads: s.kvHeads, layout: "token-major",
            softmaxScale: s.attentionScale, attentionFactor: r.attentionFactor, window: layer.window,
            buffers: { q: b.qn, k: b.kn, v: b.v, positions, freq: this.transientUpload(encodeTurnsPerPosition(r.invFreq), `${layer.rope} rope frequencies`), out: b.att },
          });
          bound.set(key, a);
        }
        a.encode(pass);
      },
      destroy: () => {
        for (const a of bound.values()) a.destroy();
      },
    };
  }

  /** Runs `submit` inside out-of-memory and validation error scopes, then throws what it or they caught. */
  private async scoped(L: number, submit: () => Promise<void>): Promise<void> {
    const dev = this.device;
    dev.pushErrorScope("out-of-memory");
    dev.pushErrorScope("validation");
    let failure: unknown;
    try {
      await submit();
    } catch (err) {
      failure = err;
    }
    const invalid = await dev.popErrorScope();
    const oom = await dev.popErrorScope();
    if (failure) throw failure;
    if (oom) throw new GpuLimitError(undefined, `WebGPU ran out of memory for ${L} tokens: use a shorter context: ${oom.message.split("\n")[0]}`);
    if (invalid) throw new GpuError(undefined, `WebGPU forward pass (${L} tokens): ${invalid.message.split("\n")[0]}`);
  }

  private checkTokens(tokens: Int32Array, rowsPerGroup: number): void {
    const V = this.src.shape.vocab;
    if (tokens.length > this.device.limits.maxComputeWorkgroupsPerDimension * rowsPerGroup) throw new GpuLimitError(undefined, `${tokens.length} tokens exceed the adapter's dispatch limit`);
    for (const id of tokens) if (id < 0 || id >= V) throw new RangeError(`token id ${id} outside the vocabulary (${V})`);
  }

  async nll(req: NllRequest): Promise<Float64Array> {
    const s = this.src.shape;
    const L = req.tokens.length;
    if (!(req.firstTarget >= 1 && req.firstTarget < L)) throw new RangeError(`firstTarget ${req.firstTarget} outside [1, ${L})`);
    const { hidden: H, vocab: V } = s;
    this.checkTokens(req.tokens, 64);
    // A window longer than planned: the plan again, which refuses with its figures or streams the weights.
    this.replan(L);
    let flash: ReturnType<GpuForward["flashAttention"]> | undefined;
    try {
      const glob = (name: string) => this.globals.get(name)!;
      const tokens = this.transientUpload(new Uint32Array(req.tokens), "tokens");
      const b = this.activations(L);
      const scored = L - req.firstTarget;
      const chunk = Math.min(this.logitChunk, scored);
      const logits = this.scratch(chunk * V * 4, "logits");
      const nll = this.scratch(scored * 4, "nll");
      const staging = this.device.createBuffer({ size: Math.max(16, Math.ceil((scored * 4) / 16) * 16), usage: MAP_READ | COPY_DST });
      this.transient.push(staging);
      const f = (flash = this.flashAttention(L, b, req.rope));
      await this.scoped(L, () => this.encodeDecoder(tokens, L, b, (pass, i) => f.encode(pass, s.layers[i]!), (enc) => {
        // Each LM-head chunk reuses the logits buffer, so each gets its own pass (passes run in order).
        for (let r0 = 0; r0 < scored; r0 += chunk) {
          const rows = Math.min(chunk, scored - r0);
          const p = enc.beginComputePass();
          // Row t of h predicts token t + 1; scored targets start at firstTarget.
          this.matmul(p, b.h, glob("lmHead"), logits, rows, V, H, false, req.firstTarget - 1 + r0, 0, "in");
          this.dispatch(p, this.pipes.nll, [this.uniform(NLL_PARAMS.pack({ rows, vocab: V, target0: req.firstTarget + r0, out0: r0 })), logits, tokens, nll], rows);
          p.end();
        }
        enc.copyBufferToBuffer(nll, 0, staging, 0, staging.size);
      }));
      await staging.mapAsync(MAP_READ);
      const out = Float64Array.from(new Float32Array(staging.getMappedRange(), 0, scored));
      staging.unmap();
      this.checkFinite(out);
      return out;
    } finally {
      flash?.destroy();
      this.dropTransient();
    }
  }

  async logitRows(req: LogitRowsRequest, onRows: OnLogitRows): Promise<void> {
    const L = req.tokens.length;
    if (!(req.firstRow >= 0 && req.firstRow < L)) throw new RangeError(`first row ${req.firstRow} outside [0, ${L})`);
    this.replan(L, L);
    const cache = this.kvCache(req.rope, L);
    try {
      await this.runCached(cache, req.tokens, req.firstRow, onRows);
    } finally {
      cache.destroy();
    }
  }

  async decoder(rope: RopeFrequencies, capacity: number): Promise<DecodeSession> {
    // The prefill may be the whole capacity; the plan counts the cache too.
    this.replan(capacity, capacity);
    const cache = this.kvCache(rope, capacity);
    const V = this.src.shape.vocab;
    return {
      get length() {
        return cache.length;
      },
      append: async (tokens) => {
        let last = new Float32Array(0);
        await this.runCached(cache, tokens, tokens.length - 1, (_row, _count, logits) => {
          last = logits.slice(0, V);
        });
        this.checkFinite(last);
        return last;
      },
      release: () => cache.destroy(),
    };
  }

  /**
   * f16 activations hold no value beyond ±65504: a model whose MLP or Q/K values exceed it gives infinities, which
   * must not pass for a result.
   */
  private checkFinite(values: Float32Array | Float64Array): void {
    if (this.at === "f16" && !values.every(Number.isFinite)) {
      throw new GpuError(undefined, `f16 activations overflowed (a value beyond ±65504) in this model's forward pass: use --precision f32`);
    }
  }

  /** A K/V buffer pair per layer on the device, token-major [capacity, kvHeads·headDim], and the RoPE tables. */
  private kvCache(rope: RopeFrequencies, capacity: number): KvCache {
    const s = this.src.shape;
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new RangeError(`capacity ${capacity} is not a whole number ≥ 1`);
    const bytes = capacity * s.kvHeads * s.headDim * 4;
    this.checkSize(bytes, "K/V cache");
    const make = (label: string) => this.device.createBuffer({ size: Math.max(16, bytes), usage: STORAGE | COPY_DST, label });
    const freq = (r: RopeFrequencies, label: string) => this.put(encodeTurnsPerPosition(r.invFreq), label);
    const global = freq(rope, "global rope frequencies");
    const local = s.localRope ? freq(s.localRope, "local rope frequencies") : global;
    const buffers = [global, local, ...s.layers.flatMap((_, i) => [make(`layer ${i} keys`), make(`layer ${i} values`)])];
    return {
      capacity,
      length: 0,
      k: s.layers.map((_, i) => buffers[2 + 2 * i]!),
      v: s.layers.map((_, i) => buffers[3 + 2 * i]!),
      freq: { global, local },
      rope: { global: rope, local: s.localRope ?? rope },
      destroy: () => {
        for (const b of new Set(buffers)) b.destroy();
      },
    };
  }

  private get decodePipes(): { ropeStore: GPUComputePipeline; attention: GPUComputePipeline } {
    const pipe = (code: string) =>
      this.device.createComputePipeline({ layout: "auto", compute: { module: this.device.createShaderModule({ code }), entryPoint: "main" } });
    this.decodePipelines ??= { ropeStore: pipe(ropeStoreWgsl(this.at)), attention: pipe(cachedAttentionWgsl()) };
    return this.decodePipelines;
  }

  /**
   * Runs `tokens` at the cache's next positions (their keys and values stored into it, attention over everything
   * cached) and calls `onRows` with the logits of rows [firstRow, n) of them, a chunk of rows per readback; `row`
   * counts from the cache's start.
   */
  private async runCached(cache: KvCache, tokens: Int32Array, firstRow: number, onRows: OnLogitRows): Promise<void> {
    const s = this.src.shape;
    const n = tokens.length;
    const past = cache.length;
    const { hidden: H, heads, kvHeads, headDim: D, vocab: V } = s;
    if (n === 0 || past + n > cache.capacity) throw new RangeError(`${n} tokens after ${past} do not fit the cache (${cache.capacity}) or are none`);
    // A prefill's flash kernel takes 64 rows per workgroup; the cached attention one row.
    this.checkTokens(tokens, past === 0 ? 64 : 1);
    const dev = this.device;
    const pipes = this.decodePipes;
    let flash: ReturnType<GpuForward["flashAttention"]> | undefined;
    try {
      const b = this.activations(n);
      const store = (pass: GPUComputePassEncoder, src: GPUBuffer, dst: GPUBuffer, rows: number, nHeads: number, dstRow0: number, rope: RopeFrequencies | null, freq: GPUBuffer) => {
        const u = this.uniform(ROPE_STORE_PARAMS.pack({
          rows, heads: nHeads, head_dim: D, half: rope ? s.rotaryDim / 2 : 0, pos0: past, dst_row0: dstRow0, factor: rope?.attentionFactor ?? 1,
        }));
        this.dispatch(pass, pipes.ropeStore, [u, src, freq, dst], ...this.elementwise(rows * nHeads * D, 256));
      };
      // A prefill attends within its own rows: the fused flash kernel does that fastest (RoPE applied as it loads);
      // later rows attend to the cache through the cached-attention kernel, their queries rotated first.
      const f = past === 0 ? (flash = this.flashAttention(n, b, cache.rope.global)) : undefined;
      const rotatedQ = f ? undefined : this.scratch(n * heads * D * 4, "rotated queries");
      const ids = this.transientUpload(new Uint32Array(tokens), "tokens");
      await this.scoped(n, () => this.encodeDecoder(ids, n, b, (pass, i) => {
        const layer = s.layers[i]!;
        const rope = cache.rope[layer.rope];
        const freq = cache.freq[layer.rope];
        store(pass, b.kn, cache.k[i]!, n, kvHeads, past, rope, freq);
        store(pass, b.v, cache.v[i]!, n, kvHeads, past, null, freq);
        if (f) return f.encode(pass, layer);
        store(pass, b.qn, rotatedQ!, n, heads, 0, rope, freq);
        const u = this.uniform(CACHED_ATTENTION_PARAMS.pack({
          rows: n, heads, kv_heads: kvHeads, head_dim: D, past, window: layer.window, scale: s.attentionScale,
        }));
        this.dispatch(pass, pipes.attention, [u, rotatedQ!, cache.k[i]!, cache.v[i]!, b.att], n, heads);
      }));
      cache.length = past + n;
      const chunk = Math.min(this.logitChunk, n - firstRow);
      const logits = this.scratch(chunk * V * 4, "logits");
      const staging = dev.createBuffer({ size: Math.max(16, chunk * V * 4), usage: MAP_READ | COPY_DST });
      this.transient.push(staging);
      for (let r0 = firstRow; r0 < n; r0 += chunk) {
        const rows = Math.min(chunk, n - r0);
        const e = dev.createCommandEncoder();
        const p = e.beginComputePass();
        this.matmul(p, b.h, this.globals.get("lmHead")!, logits, rows, V, H, false, r0, 0, "in");
        p.end();
        e.copyBufferToBuffer(logits, 0, staging, 0, rows * V * 4);
        dev.queue.submit([e.finish()]);
        await staging.mapAsync(MAP_READ, 0, rows * V * 4);
        try {
          onRows(past + r0, rows, new Float32Array(staging.getMappedRange(0, rows * V * 4)));
        } finally {
          staging.unmap();
        }
      }
    } finally {
      flash?.destroy();
      this.dropTransient();
    }
  }

  private dropTransient(): void {
    for (const t of this.transient) t.destroy();
    this.transient = [];
  }

  private destroyLayers(): void {
    for (const l of this.layers) for (const b of Object.values(l)) b?.destroy();
    this.layers = [];
  }

  release(releaseGpu = true): void {
    this.destroyLayers();
    for (const b of new Set(this.globals.values())) b.destroy();
    this.globals.clear();
    if (this.owned && releaseGpu) this.gpu.release();
  }
}
