/// <reference types="@webgpu/types" preserve="true" />
// The decoder forward pass on WebGPU, every family: weights stay on the device; one command buffer per window runs
// embedding, the layers (attention is the validation's fused RoPE + flash-attention kernel, reading the
// projections token-major, with each layer's RoPE and window), the final norm, the LM head in chunks and the
// next-token NLL; only the NLLs come back. Quantized GGUF weights arrive here already dequantized (on upload, by
// the loader): the matmul kernel reads f32 or f16 storage only, so a Q4_K model takes f16/f32 space on the device.
import { GpuError } from "../../core/errors.ts";
import type { RopeFrequencies } from "../../core/rope/types.ts";
import type { DecodeSession, ForwardBackend, LogitRowsRequest, NllRequest, OnLogitRows } from "../backend.ts";
import { cpuBackend } from "../cpu/forward.ts";
import type { LayerShape } from "../model/model-shape.ts";
import type { ModelWeights } from "../model/weights.ts";
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

export { GpuError, NoGpuError };

/** The model or the window does not fit the adapter's buffer limits. */
export class GpuLimitError extends GpuError {
  override name = "GpuLimitError";
}

export interface GpuBackendOptions {
  /** Throw NoGpuError when there is no adapter (else fall back to the CPU backend). */
  required: boolean;
  precision: "auto" | "f32" | "f16";
  /** An already open device (benchmarks reuse one). */
  gpu?: Gpu;
}

const STORAGE = 0x80, COPY_DST = 0x8, COPY_SRC = 0x4, UNIFORM = 0x40, MAP_READ = 0x1;
// Rows of logits made per LM-head dispatch: bounds the [rows, vocab] buffer for long windows.
const LOGIT_CHUNK = 512;
// The big matrices of a layer, stored as the weight type; everything else (norms, biases) stays f32.
const MATRICES = ["q", "k", "v", "o", "gate", "up", "down"] as const;
const VECTORS = ["attnNorm", "mlpNorm", "qBias", "kBias", "vBias", "qNorm", "kNorm", "attnPostNorm", "mlpPostNorm"] as const;

/**
 * The WebGPU forward pass for these weights (the CPU's when there is no adapter and `required` is false).
 *
 * @example
 * const backend = await gpuBackend(weights, { required: false, precision: "auto" });
 */
export async function gpuBackend(w: ModelWeights, opts: GpuBackendOptions): Promise<ForwardBackend> {
  return (await gpuBackends([w], opts))[0]!;
}

/**
 * One WebGPU forward pass per model, all on one device (a second device would be a second Dawn instance, and two
 * keep Node from exiting); an owned device goes with the last of them released. Without an adapter and not
 * `required`, the CPU's.
 *
 * @example
 * const [patched, original] = await gpuBackends([patchedWeights, originalWeights], { required: false, precision: "auto" });
 */
export async function gpuBackends(ws: readonly ModelWeights[], opts: GpuBackendOptions): Promise<ForwardBackend[]> {
  let gpu: Gpu;
  try {
    gpu = opts.gpu ?? (await requestGpu());
  } catch (err) {
    if (err instanceof NoGpuError && !opts.required) return ws.map((w) => ({ ...cpuBackend(w), name: `cpu (no WebGPU: ${err.message})` }));
    throw err;
  }
  let open = ws.length;
  const shared: Gpu = { ...gpu, release: () => { if (--open === 0) gpu.release(); } };
  const made: ForwardBackend[] = [];
  try {
    for (const w of ws) made.push(gpuForward(opts.gpu ? gpu : shared, w, opts.precision, !opts.gpu));
    return made;
  } catch (err) {
    for (const b of made) b.release();
    if (!opts.gpu && made.length === 0) gpu.release();
    throw err;
  }
}

function gpuForward(gpu: Gpu, w: ModelWeights, precision: GpuBackendOptions["precision"], owned: boolean): GpuForward {
  if (precision === "f16" && !gpu.f16) throw new GpuLimitError(undefined, `precision f16 needs shader-f16, which ${adapterName(gpu.summary)} lacks`);
  let wt: WeightType = precision === "f32" || !gpu.f16 ? "f32" : "f16";
  if (wt === "f16") {
    const over = weightsOverHalfRange(w);
    if (over && precision === "f16") throw new GpuError(undefined, `weight ${over} exceeds the f16 range (±65504): use precision f32`);
    // bf16 checkpoints can hold values f16 cannot: then keep float32 storage rather than store infinities.
    if (over) wt = "f32";
  }
  return new GpuForward(gpu, w, wt, owned);
}

/** The adapter as the eval report names it: its description (or device, or vendor) / architecture. */
function adapterName(s: AdapterSummary): string {
  return [s.description || s.device || s.vendor || "WebGPU adapter", s.architecture].filter(Boolean).join(" / ");
}

type Pipe = "matmul" | "embed" | "norm" | "glu" | "nll" | "bias";

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

/** A pass's activation buffers: qn and kn are q and k unless the family head-norms them. */
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
}

class GpuForward implements ForwardBackend {
  readonly name: string;
  private readonly device: GPUDevice;
  private readonly weights: Map<string, GPUBuffer> = new Map();
  private readonly pipes: Record<Pipe, GPUComputePipeline>;
  private readonly attention: FlashAttention;
  private transient: GPUBuffer[] = [];
  private decodePipelines?: { ropeStore: GPUComputePipeline; attention: GPUComputePipeline };
  private readonly maxBinding: number;

  constructor(private readonly gpu: Gpu, private readonly w: ModelWeights, private readonly wt: WeightType, private readonly owned: boolean) {
    this.device = gpu.device;
    this.name = `webgpu ${adapterName(gpu.summary)} (${wt} weights)`;
    this.maxBinding = Math.min(this.device.limits.maxStorageBufferBindingSize, this.device.limits.maxBufferSize);
    const s = w.shape;
    const pipe = (code: string) =>
      this.device.createComputePipeline({ layout: "auto", compute: { module: this.device.createShaderModule({ code }), entryPoint: "main" } });
    this.pipes = {
      matmul: pipe(matmulWgsl(wt)), embed: pipe(embedWgsl(wt)), norm: pipe(rmsNormWgsl()),
      glu: pipe(gluWgsl(s.family.activation)), nll: pipe(nllWgsl()), bias: pipe(biasAddWgsl()),
    };
    const dims = { headDim: s.headDim, rotaryDim: s.rotaryDim };
    try {
      checkKernelShape(dims, "f32", this.device);
      // Constant loop bounds compile for minutes on a software adapter (see FlashShape.unroll).
      this.attention = createFlashAttention(this.device, flashShapeFor(dims, "f32", this.device, !gpu.summary.software));
    } catch (err) {
      if (err instanceof AttentionUnsupportedError) throw new GpuError(undefined, `${err.message}: use --device cpu`);
      throw err;
    }
    const big = (name: string, data: Float32Array) => this.weights.set(name, this.upload(this.toStorage(data), name, false));
    const small = (name: string, data: Float32Array) => this.weights.set(name, this.upload(data, name, false));
    big("embed", w.embed);
    if (w.lmHead === w.embed) this.weights.set("lmHead", this.weights.get("embed")!);
    else big("lmHead", w.lmHead);
    small("norm", w.norm);
    w.layers.forEach((l, i) => {
      for (const k of VECTORS) if (l[k]) small(`${i}.${k}`, l[k]);
      for (const k of MATRICES) big(`${i}.${k}`, l[k]);
    });
  }

  private toStorage(data: Float32Array): ArrayBufferView {
    return this.wt === "f16" ? toFloat16Bits(data) : data;
  }

  private upload(data: ArrayBufferView, label: string, transient = true, extraUsage = 0): GPUBuffer {
    const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
    this.checkSize(size, label);
    const b = this.device.createBuffer({ size, usage: STORAGE | COPY_DST | extraUsage, label });
    this.device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, Math.ceil(data.byteLength / 4) * 4);
    if (transient) this.transient.push(b);
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

  private matmul(pass: GPUComputePassEncoder, x: GPUBuffer, w: GPUBuffer, y: GPUBuffer, M: number, N: number, K: number, accumulate: boolean, xRow0 = 0): void {
    const u = this.uniform(MATMUL_PARAMS.pack({ M, N, K, accumulate: accumulate ? 1 : 0, xRow0 }));
    this.dispatch(pass, this.pipes.matmul, [u, x, w, y], Math.ceil(N / MM_GROUP), Math.ceil(M / MM_ROWS));
  }

  /** RMSNorm of `rows` rows of `dim` into out (added to it when accumulate). */
  private norm(pass: GPUComputePassEncoder, x: GPUBuffer, weight: GPUBuffer, out: GPUBuffer, rows: number, dim: number, accumulate = false): void {
    const u = this.uniform(RMS_NORM_PARAMS.pack({ rows, dim, eps: this.w.shape.eps, accumulate: accumulate ? 1 : 0 }));
    this.dispatch(pass, this.pipes.norm, [u, x, weight, out], Math.min(rows, RMS_NORM_GRID_X), Math.ceil(rows / RMS_NORM_GRID_X));
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
   * One decoder layer over L rows of `b.x`: norm, Q/K/V projections (biases, head norms), the attention `attend`
   * encodes (reading b.qn, b.kn, b.v, writing b.att), the output projection and the MLP, into the residual stream.
   */
  private encodeLayer(pass: GPUComputePassEncoder, i: number, L: number, b: Activations, attend: () => void): void {
    const s = this.w.shape;
    const { hidden: H, heads, kvHeads, headDim: D, intermediate: I } = s;
    const wb = (name: string) => this.weights.get(name)!;
    const opt = (name: string) => this.weights.get(name);
    const post = s.family.sandwichNorms;
    this.norm(pass, b.x, wb(`${i}.attnNorm`), b.h, L, H);
    this.matmul(pass, b.h, wb(`${i}.q`), b.q, L, heads * D, H, false);
    this.matmul(pass, b.h, wb(`${i}.k`), b.k, L, kvHeads * D, H, false);
    this.matmul(pass, b.h, wb(`${i}.v`), b.v, L, kvHeads * D, H, false);
    this.bias(pass, b.q, opt(`${i}.qBias`), L, heads * D);
    this.bias(pass, b.k, opt(`${i}.kBias`), L, kvHeads * D);
    this.bias(pass, b.v, opt(`${i}.vBias`), L, kvHeads * D);
    if (s.family.qkNorm) {
      this.norm(pass, b.q, wb(`${i}.qNorm`), b.qn, L * heads, D);
      this.norm(pass, b.k, wb(`${i}.kNorm`), b.kn, L * kvHeads, D);
    }
    attend();
    // Without post-norms the projections add straight into the residual stream.
    this.matmul(pass, b.att, wb(`${i}.o`), b.proj, L, H, heads * D, !post);
    if (post) this.norm(pass, b.proj, wb(`${i}.attnPostNorm`), b.x, L, H, true);
    this.norm(pass, b.x, wb(`${i}.mlpNorm`), b.h, L, H);
    this.matmul(pass, b.h, wb(`${i}.gate`), b.g, L, I, H, false);
    this.matmul(pass, b.h, wb(`${i}.up`), b.u, L, I, H, false);
    this.dispatch(pass, this.pipes.glu, [this.uniform(GLU_PARAMS.pack({ n: L * I })), b.g, b.u], ...this.elementwise(L * I, 256));
    this.matmul(pass, b.g, wb(`${i}.down`), b.proj, L, H, I, !post);
    if (post) this.norm(pass, b.proj, wb(`${i}.mlpPostNorm`), b.x, L, H, true);
  }

  /** The activation buffers of L rows (transient). */
  private activations(L: number): Activations {
    const { hidden: H, heads, kvHeads, headDim: D, intermediate: I, family } = this.w.shape;
    const x = this.scratch(L * H * 4, "hidden state");
    const q = this.scratch(L * heads * D * 4, "queries");
    const k = this.scratch(L * kvHeads * D * 4, "keys");
    return {
      x, q, k,
      h: this.scratch(L * H * 4, "normed state"),
      v: this.scratch(L * kvHeads * D * 4, "values"),
      // Head-normed Q and K (Qwen3, Gemma) go to their own buffers: a kernel may not read and write one binding.
      qn: family.qkNorm ? this.scratch(L * heads * D * 4, "normed queries") : q,
      kn: family.qkNorm ? this.scratch(L * kvHeads * D * 4, "normed keys") : k,
      att: this.scratch(L * heads * D * 4, "attention output"),
      proj: family.sandwichNorms ? this.scratch(L * H * 4, "block output") : x,
      g: this.scratch(L * I * 4, "MLP gate"),
      u: this.scratch(L * I * 4, "MLP up"),
    };
  }

  /** Embedding, every layer (attention by `attend(layer)`) and the final norm of L rows: the normed states in b.h. */
  private encodeDecoder(pass: GPUComputePassEncoder, tokens: GPUBuffer, L: number, b: Activations, attend: (layer: number) => void): void {
    const s = this.w.shape;
    const H = s.hidden;
    this.dispatch(pass, this.pipes.embed, [this.uniform(EMBED_PARAMS.pack({ rows: L, dim: H, scale: s.embedScale })), tokens, this.weights.get("embed")!, b.x], ...this.elementwise(L * H, 256));
    for (let i = 0; i < s.layers.length; i++) this.encodeLayer(pass, i, L, b, () => attend(i));
    this.norm(pass, b.x, this.weights.get("norm")!, b.h, L, H);
  }

  /**
   * The fused flash attention over L rows at positions 0..L−1 (RoPE applied to b.qn and b.kn as it loads them, into
   * b.att), one binding per distinct (RoPE, window) among the layers, made when first encoded.
   */
  private flashAttention(L: number, b: Activations, rope: RopeFrequencies): { encode(pass: GPUComputePassEncoder, layer: LayerShape): void; destroy(): void } {
    const s = this.w.shape;
    const ropes: Record<LayerShape["rope"], RopeFrequencies> = { global: rope, local: s.localRope ?? rope };
    const positions = this.upload(Uint32Array.from({ length: L }, (_, i) => i), "positions");
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
            buffers: { q: b.qn, k: b.kn, v: b.v, positions, freq: this.upload(encodeTurnsPerPosition(r.invFreq), `${layer.rope} rope frequencies`), out: b.att },
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

  /** Pops the two error scopes a pass pushed (validation, then out-of-memory) and throws what they caught. */
  private async popErrors(L: number): Promise<void> {
    const invalid = await this.device.popErrorScope();
    const oom = await this.device.popErrorScope();
    if (oom) throw new GpuLimitError(undefined, `WebGPU ran out of memory for ${L} tokens: use a shorter context: ${oom.message.split("\n")[0]}`);
    if (invalid) throw new GpuError(undefined, `WebGPU forward pass (${L} tokens): ${invalid.message.split("\n")[0]}`);
  }

  async nll(req: NllRequest): Promise<Float64Array> {
    const s = this.w.shape;
    const L = req.tokens.length;
    if (!(req.firstTarget >= 1 && req.firstTarget < L)) throw new RangeError(`firstTarget ${req.firstTarget} outside [1, ${L})`);
    const { hidden: H, vocab: V } = s;
    if (L > this.device.limits.maxComputeWorkgroupsPerDimension * 64) throw new GpuLimitError(undefined, `${L} tokens exceed the adapter's dispatch limit`);
    for (const id of req.tokens) if (id < 0 || id >= V) throw new RangeError(`token id ${id} outside the vocabulary (${V})`);
    const dev = this.device;
    dev.pushErrorScope("out-of-memory");
    dev.pushErrorScope("validation");
    const wb = (name: string) => this.weights.get(name)!;
    const tokens = this.upload(new Uint32Array(req.tokens), "tokens");
    const b = this.activations(L);
    const scored = L - req.firstTarget;
    const chunk = Math.min(LOGIT_CHUNK, scored);
    const logits = this.scratch(chunk * V * 4, "logits");
    const nll = this.scratch(scored * 4, "nll");
    const flash = this.flashAttention(L, b, req.rope);
    const enc = dev.createCommandEncoder();
    const pass = enc.beginComputePass();
    this.encodeDecoder(pass, tokens, L, b, (i) => flash.encode(pass, s.layers[i]!));
    pass.end();
    // Each LM-head chunk reuses the logits buffer, so each gets its own pass (passes run in order).
    for (let r0 = 0; r0 < scored; r0 += chunk) {
      const rows = Math.min(chunk, scored - r0);
      const p = enc.beginComputePass();
      // Row t of h predicts token t + 1; scored targets start at firstTarget.
      this.matmul(p, b.h, wb("lmHead"), logits, rows, V, H, false, req.firstTarget - 1 + r0);
      this.dispatch(p, this.pipes.nll, [this.uniform(NLL_PARAMS.pack({ rows, vocab: V, target0: req.firstTarget + r0, out0: r0 })), logits, tokens, nll], rows);
      p.end();
    }
    const staging = dev.createBuffer({ size: Math.max(16, Math.ceil((scored * 4) / 16) * 16), usage: MAP_READ | COPY_DST });
    this.transient.push(staging);
    enc.copyBufferToBuffer(nll, 0, staging, 0, staging.size);
    dev.queue.submit([enc.finish()]);
    try {
      await this.popErrors(L);
      await staging.mapAsync(MAP_READ);
      const out = Float64Array.from(new Float32Array(staging.getMappedRange(), 0, scored));
      staging.unmap();
      return out;
    } finally {
      flash.destroy();
      for (const b of this.transient) b.destroy();
      this.transient = [];
    }
  }

  async logitRows(req: LogitRowsRequest, onRows: OnLogitRows): Promise<void> {
    const L = req.tokens.length;
    if (!(req.firstRow >= 0 && req.firstRow < L)) throw new RangeError(`first row ${req.firstRow} outside [0, ${L})`);
    const cache = this.kvCache(req.rope, L);
    try {
      await this.runCached(cache, req.tokens, req.firstRow, onRows);
    } finally {
      cache.destroy();
    }
  }

  async decoder(rope: RopeFrequencies, capacity: number): Promise<DecodeSession> {
    const cache = this.kvCache(rope, capacity);
    const V = this.w.shape.vocab;
    return {
      get length() {
        return cache.length;
      },
      append: async (tokens) => {
        let last = new Float32Array(0);
        await this.runCached(cache, tokens, tokens.length - 1, (_row, _count, logits) => {
          last = logits.slice(0, V);
        });
        return last;
      },
      release: () => cache.destroy(),
    };
  }

  /** A K/V buffer pair per layer on the device, token-major [capacity, kvHeads·headDim], and the RoPE tables. */
  private kvCache(rope: RopeFrequencies, capacity: number): KvCache {
    const s = this.w.shape;
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new RangeError(`capacity ${capacity} is not a whole number ≥ 1`);
    const bytes = capacity * s.kvHeads * s.headDim * 4;
    this.checkSize(bytes, "K/V cache");
    const make = (label: string) => this.device.createBuffer({ size: Math.max(16, bytes), usage: STORAGE | COPY_DST, label });
    const freq = (r: RopeFrequencies, label: string) => this.upload(encodeTurnsPerPosition(r.invFreq), label, false);
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
    this.decodePipelines ??= { ropeStore: pipe(ropeStoreWgsl()), attention: pipe(cachedAttentionWgsl()) };
    return this.decodePipelines;
  }

  /**
   * Runs `tokens` at the cache's next positions (their keys and values stored into it, attention over everything
   * cached) and calls `onRows` with the logits of rows [firstRow, n) of them, LOGIT_CHUNK rows per readback; `row`
   * counts from the cache's start.
   */
  private async runCached(cache: KvCache, tokens: Int32Array, firstRow: number, onRows: OnLogitRows): Promise<void> {
    const s = this.w.shape;
    const n = tokens.length;
    const past = cache.length;
    const { hidden: H, heads, kvHeads, headDim: D, vocab: V } = s;
    if (n === 0 || past + n > cache.capacity) throw new RangeError(`${n} tokens after ${past} do not fit the cache (${cache.capacity}) or are none`);
    // A prefill's flash kernel takes 64 rows per workgroup; the cached attention one row.
    if (n > this.device.limits.maxComputeWorkgroupsPerDimension * (past === 0 ? 64 : 1)) throw new GpuLimitError(undefined, `${n} tokens exceed the adapter's dispatch limit`);
    for (const id of tokens) if (id < 0 || id >= V) throw new RangeError(`token id ${id} outside the vocabulary (${V})`);
    const dev = this.device;
    const pipes = this.decodePipes;
    dev.pushErrorScope("out-of-memory");
    dev.pushErrorScope("validation");
    let scoped = true;
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
      if (past === 0) flash = this.flashAttention(n, b, cache.rope.global);
      const rotatedQ = flash ? undefined : this.scratch(n * heads * D * 4, "rotated queries");
      const enc = dev.createCommandEncoder();
      const pass = enc.beginComputePass();
      this.encodeDecoder(pass, this.upload(new Uint32Array(tokens), "tokens"), n, b, (i) => {
        const layer = s.layers[i]!;
        const rope = cache.rope[layer.rope];
        const freq = cache.freq[layer.rope];
        store(pass, b.kn, cache.k[i]!, n, kvHeads, past, rope, freq);
        store(pass, b.v, cache.v[i]!, n, kvHeads, past, null, freq);
        if (flash) return flash.encode(pass, layer);
        store(pass, b.qn, rotatedQ!, n, heads, 0, rope, freq);
        const u = this.uniform(CACHED_ATTENTION_PARAMS.pack({
          rows: n, heads, kv_heads: kvHeads, head_dim: D, past, window: layer.window, scale: s.attentionScale,
        }));
        this.dispatch(pass, pipes.attention, [u, rotatedQ!, cache.k[i]!, cache.v[i]!, b.att], n, heads);
      });
      pass.end();
      dev.queue.submit([enc.finish()]);
      scoped = false;
      await this.popErrors(n);
      cache.length = past + n;
      const chunk = Math.min(LOGIT_CHUNK, n - firstRow);
      const logits = this.scratch(chunk * V * 4, "logits");
      const staging = dev.createBuffer({ size: Math.max(16, chunk * V * 4), usage: MAP_READ | COPY_DST });
      this.transient.push(staging);
      for (let r0 = firstRow; r0 < n; r0 += chunk) {
        const rows = Math.min(chunk, n - r0);
        const e = dev.createCommandEncoder();
        const p = e.beginComputePass();
        this.matmul(p, b.h, this.weights.get("lmHead")!, logits, rows, V, H, false, r0);
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
      // A buffer over the limits throws before the scopes were popped: leave the device's stack as it was.
      if (scoped) await Promise.all([dev.popErrorScope(), dev.popErrorScope()]);
      flash?.destroy();
      for (const t of this.transient) t.destroy();
      this.transient = [];
    }
  }

  release(): void {
    for (const b of new Set(this.weights.values())) b.destroy();
    this.weights.clear();
    if (this.owned) this.gpu.release();
  }
}

/** The name of the first weight tensor with a value outside f16's finite range, or null. */
function weightsOverHalfRange(w: ModelWeights): string | null {
  const big = (a: Float32Array) => a.some((v) => v > 65504 || v < -65504);
  if (big(w.embed)) return "embeddings";
  if (big(w.lmHead)) return "LM head";
  for (const [i, l] of w.layers.entries()) {
    for (const k of MATRICES) if (big(l[k])) return `layer ${i} ${k}`;
  }
  return null;
}
