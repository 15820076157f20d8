/// <reference types="@webgpu/types" preserve="true" />
// The decoder forward pass on WebGPU, every family: weights stay on the device; one command buffer per window runs
// embedding, the layers (attention is the validation's fused RoPE + flash-attention kernel, reading the
// projections token-major, with each layer's RoPE and window), the final norm, the LM head in chunks and the
// next-token NLL; only the NLLs come back. Quantized GGUF weights arrive here already dequantized (on upload, by
// the loader): the matmul kernel reads f32 or f16 storage only, so a Q4_K model takes f16/f32 space on the device.
import { GpuError } from "../../core/errors.ts";
import type { RopeFrequencies } from "../../core/rope/types.ts";
import type { ForwardBackend, NllRequest } from "../backend.ts";
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
  const src = "layers" in w ? heldWeights(w) : w;
  let gpu: Gpu;
  try {
    gpu = opts.gpu ?? (await requestGpu());
  } catch (err) {
    if (err instanceof NoGpuError && !opts.required) {
      const cpu = cpuBackend("layers" in w ? w : await readAllWeights(src));
      return { ...cpu, name: `cpu (no WebGPU: ${err.message})` };
    }
    throw err;
  }
  try {
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
  } catch (err) {
    if (!opts.gpu) gpu.release();
    throw err;
  }
}

function planFor(gpu: Gpu, src: WeightSource, wt: WeightType, opts: GpuBackendOptions, tokens = opts.maxTokens ?? 2): GpuMemoryPlan {
  const limits = gpu.device.limits;
  return planGpuMemory(
    opts.model ?? src.shape.architecture,
    { shape: src.shape, tokens, weightType: wt, tiedEmbeddings: src.tied, ...(opts.mlpRows && { mlpRows: opts.mlpRows }), ...(opts.logitRows && { logitRows: opts.logitRows }) },
    { maxBufferSize: limits.maxBufferSize, maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize, ...(opts.memoryBudget !== undefined && { budget: opts.memoryBudget }) },
  );
}

/** The adapter as the eval report names it: its description (or device, or vendor) / architecture. */
function adapterName(s: AdapterSummary): string {
  return [s.description || s.device || s.vendor || "WebGPU adapter", s.architecture].filter(Boolean).join(" / ");
}

type Pipe = "matmul" | "embed" | "norm" | "glu" | "nll" | "bias";

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
  private readonly maxBinding: number;
  private readonly mlpRows: number;
  private readonly logitRows: number;
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
    this.logitRows = opts.logitRows ?? LOGIT_ROWS;
    this.plannedTokens = opts.maxTokens ?? 2;
    const s = src.shape;
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

  private matmul(pass: GPUComputePassEncoder, x: GPUBuffer, w: GPUBuffer, y: GPUBuffer, M: number, N: number, K: number, accumulate: boolean, xRow0 = 0, yRow0 = 0): void {
    const u = this.uniform(MATMUL_PARAMS.pack({ M, N, K, accumulate: accumulate ? 1 : 0, xRow0, yRow0 }));
    this.dispatch(pass, this.pipes.matmul, [u, x, w, y], Math.ceil(N / MM_GROUP), Math.ceil(M / MM_ROWS));
  }

  /** RMSNorm of `rows` rows of `dim` into out (added to it when accumulate). */
  private norm(pass: GPUComputePassEncoder, x: GPUBuffer, weight: GPUBuffer, out: GPUBuffer, rows: number, dim: number, accumulate = false): void {
    const u = this.uniform(RMS_NORM_PARAMS.pack({ rows, dim, eps: this.src.shape.eps, accumulate: accumulate ? 1 : 0 }));
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

  async nll(req: NllRequest): Promise<Float64Array> {
    const s = this.src.shape;
    const L = req.tokens.length;
    if (!(req.firstTarget >= 1 && req.firstTarget < L)) throw new RangeError(`firstTarget ${req.firstTarget} outside [1, ${L})`);
    const { hidden: H, heads, kvHeads, headDim: D, intermediate: I, vocab: V } = s;
    if (L > this.device.limits.maxComputeWorkgroupsPerDimension * 64) throw new GpuLimitError(undefined, `${L} tokens exceed the adapter's dispatch limit`);
    for (const id of req.tokens) if (id < 0 || id >= V) throw new RangeError(`token id ${id} outside the vocabulary (${V})`);
    // A window longer than planned: the plan again, which refuses with its figures or streams the weights.
    if (L > this.plannedTokens) {
      if (planFor(this.gpu, this.src, this.wt, this.opts, L).weights === "streamed" && this.mode === "resident") this.toStreamed();
      this.plannedTokens = L;
    }
    const dev = this.device;
    dev.pushErrorScope("out-of-memory");
    dev.pushErrorScope("validation");
    const glob = (name: string) => this.globals.get(name)!;
    const tokens = this.transientUpload(new Uint32Array(req.tokens), "tokens");
    const positions = this.transientUpload(Uint32Array.from({ length: L }, (_, i) => i), "positions");
    const x = this.scratch(L * H * 4, "hidden state");
    const h = this.scratch(L * H * 4, "normed state");
    const q = this.scratch(L * heads * D * 4, "queries");
    const k = this.scratch(L * kvHeads * D * 4, "keys");
    const v = this.scratch(L * kvHeads * D * 4, "values");
    // Head-normed Q and K (Qwen3, Gemma) go to their own buffers: a kernel may not read and write one binding.
    const qn = s.family.qkNorm ? this.scratch(L * heads * D * 4, "normed queries") : q;
    const kn = s.family.qkNorm ? this.scratch(L * kvHeads * D * 4, "normed keys") : k;
    const att = this.scratch(L * heads * D * 4, "attention output");
    const proj = s.family.sandwichNorms ? this.scratch(L * H * 4, "block output") : x;
    // The MLP runs on row chunks of the window: its [rows, intermediate] buffers do not grow with the context.
    const mlpRows = Math.min(this.mlpRows, L);
    const g = this.scratch(mlpRows * I * 4, "MLP gate");
    const u = this.scratch(mlpRows * I * 4, "MLP up");
    const scored = L - req.firstTarget;
    const chunk = Math.min(this.logitRows, scored);
    const logits = this.scratch(chunk * V * 4, "logits");
    const nll = this.scratch(scored * 4, "nll");
    const ropes: Record<LayerShape["rope"], RopeFrequencies> = { global: req.rope, local: s.localRope ?? req.rope };
    // One bound attention per distinct (RoPE, window) among the layers.
    const bound = new Map<string, ReturnType<FlashAttention["bind"]>>();
    const attentionFor = (layer: LayerShape) => {
      const key = `${layer.rope}/${layer.window}`;
      let b = bound.get(key);
      if (!b) {
        const rope = ropes[layer.rope];
        b = this.attention.bind({
          seq: L, qHeads: heads, nHeads: heads, nKvHeads: kvHeads, layout: "token-major",
          softmaxScale: s.attentionScale, attentionFactor: rope.attentionFactor, window: layer.window,
          buffers: { q: qn, k: kn, v, positions, freq: this.transientUpload(encodeTurnsPerPosition(rope.invFreq), `${layer.rope} rope frequencies`), out: att },
        });
        bound.set(key, b);
      }
      return b;
    };
    const staging = dev.createBuffer({ size: Math.max(16, Math.ceil((scored * 4) / 16) * 16), usage: MAP_READ | COPY_DST });
    this.transient.push(staging);
    // One submission per layer: a streamed layer's weights are written into the shared buffers after the previous
    // layer's work in queue order, so its disk read overlaps that work.
    const submit = (encode: (pass: GPUComputePassEncoder) => void, after?: (enc: GPUCommandEncoder) => void) => {
      const enc = dev.createCommandEncoder();
      const pass = enc.beginComputePass();
      encode(pass);
      pass.end();
      after?.(enc);
      dev.queue.submit([enc.finish()]);
    };
    const post = s.family.sandwichNorms;
    let failure: unknown;
    try {
      submit((pass) => this.dispatch(pass, this.pipes.embed, [this.uniform(EMBED_PARAMS.pack({ rows: L, dim: H, scale: s.embedScale })), tokens, glob("embed"), x], ...this.elementwise(L * H, 256)));
      for (let i = 0; i < s.layers.length; i++) {
        const w = this.mode === "resident" ? this.layers[i]! : await this.writeLayer(i, (this.layers[0] ??= {}));
        submit((pass) => {
          this.norm(pass, x, w.attnNorm!, h, L, H);
          this.matmul(pass, h, w.q!, q, L, heads * D, H, false);
          this.matmul(pass, h, w.k!, k, L, kvHeads * D, H, false);
          this.matmul(pass, h, w.v!, v, L, kvHeads * D, H, false);
          this.bias(pass, q, w.qBias, L, heads * D);
          this.bias(pass, k, w.kBias, L, kvHeads * D);
          this.bias(pass, v, w.vBias, L, kvHeads * D);
          if (s.family.qkNorm) {
            this.norm(pass, q, w.qNorm!, qn, L * heads, D);
            this.norm(pass, k, w.kNorm!, kn, L * kvHeads, D);
          }
          attentionFor(s.layers[i]!).encode(pass);
          // Without post-norms the projections add straight into the residual stream.
          this.matmul(pass, att, w.o!, proj, L, H, heads * D, !post);
          if (post) this.norm(pass, proj, w.attnPostNorm!, x, L, H, true);
          this.norm(pass, x, w.mlpNorm!, h, L, H);
          for (let r0 = 0; r0 < L; r0 += mlpRows) {
            const rows = Math.min(mlpRows, L - r0);
            this.matmul(pass, h, w.gate!, g, rows, I, H, false, r0);
            this.matmul(pass, h, w.up!, u, rows, I, H, false, r0);
            this.dispatch(pass, this.pipes.glu, [this.uniform(GLU_PARAMS.pack({ n: rows * I })), g, u], ...this.elementwise(rows * I, 256));
            this.matmul(pass, g, w.down!, proj, rows, H, I, !post, 0, r0);
          }
          if (post) this.norm(pass, proj, w.mlpPostNorm!, x, L, H, true);
        });
      }
      submit((pass) => this.norm(pass, x, glob("norm"), h, L, H), (enc) => {
        // Each LM-head chunk reuses the logits buffer, so each gets its own pass (passes run in order).
        for (let r0 = 0; r0 < scored; r0 += chunk) {
          const rows = Math.min(chunk, scored - r0);
          const p = enc.beginComputePass();
          // Row t of h predicts token t + 1; scored targets start at firstTarget.
          this.matmul(p, h, glob("lmHead"), logits, rows, V, H, false, req.firstTarget - 1 + r0);
          this.dispatch(p, this.pipes.nll, [this.uniform(NLL_PARAMS.pack({ rows, vocab: V, target0: req.firstTarget + r0, out0: r0 })), logits, tokens, nll], rows);
          p.end();
        }
        enc.copyBufferToBuffer(nll, 0, staging, 0, staging.size);
      });
    } catch (err) {
      failure = err;
    }
    const invalid = await dev.popErrorScope();
    const oom = await dev.popErrorScope();
    try {
      if (failure) throw failure;
      if (oom) throw new GpuLimitError(undefined, `WebGPU ran out of memory for ${L} tokens: use a shorter context: ${oom.message.split("\n")[0]}`);
      if (invalid) throw new GpuError(undefined, `WebGPU forward pass (${L} tokens): ${invalid.message.split("\n")[0]}`);
      await staging.mapAsync(MAP_READ);
      const out = Float64Array.from(new Float32Array(staging.getMappedRange(), 0, scored));
      staging.unmap();
      return out;
    } finally {
      for (const b of bound.values()) b.destroy();
      for (const b of this.transient) b.destroy();
      this.transient = [];
    }
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
