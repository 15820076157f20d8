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
import type { ModelWeights } from "../model/weights.ts";
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
  let gpu: Gpu;
  try {
    gpu = opts.gpu ?? (await requestGpu());
  } catch (err) {
    if (err instanceof NoGpuError && !opts.required) {
      const cpu = cpuBackend(w);
      return { ...cpu, name: `cpu (no WebGPU: ${err.message})` };
    }
    throw err;
  }
  if (opts.precision === "f16" && !gpu.f16) throw new GpuLimitError(undefined, `precision f16 needs shader-f16, which ${adapterName(gpu.summary)} lacks`);
  let wt: WeightType = opts.precision === "f32" || !gpu.f16 ? "f32" : "f16";
  if (wt === "f16") {
    const over = weightsOverHalfRange(w);
    if (over && opts.precision === "f16") throw new GpuError(undefined, `weight ${over} exceeds the f16 range (±65504): use precision f32`);
    // bf16 checkpoints can hold values f16 cannot: then keep float32 storage rather than store infinities.
    if (over) wt = "f32";
  }
  return new GpuForward(gpu, w, wt, !opts.gpu);
}

/** The adapter as the eval report names it: its description (or device, or vendor) / architecture. */
function adapterName(s: AdapterSummary): string {
  return [s.description || s.device || s.vendor || "WebGPU adapter", s.architecture].filter(Boolean).join(" / ");
}

type Pipe = "matmul" | "embed" | "norm" | "glu" | "nll" | "bias";

class GpuForward implements ForwardBackend {
  readonly name: string;
  private readonly device: GPUDevice;
  private readonly weights: Map<string, GPUBuffer> = new Map();
  private readonly pipes: Record<Pipe, GPUComputePipeline>;
  private readonly attention: FlashAttention;
  private transient: GPUBuffer[] = [];
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

  async nll(req: NllRequest): Promise<Float64Array> {
    const s = this.w.shape;
    const L = req.tokens.length;
    if (!(req.firstTarget >= 1 && req.firstTarget < L)) throw new RangeError(`firstTarget ${req.firstTarget} outside [1, ${L})`);
    const { hidden: H, heads, kvHeads, headDim: D, intermediate: I, vocab: V } = s;
    if (L > this.device.limits.maxComputeWorkgroupsPerDimension * 64) throw new GpuLimitError(undefined, `${L} tokens exceed the adapter's dispatch limit`);
    for (const id of req.tokens) if (id < 0 || id >= V) throw new RangeError(`token id ${id} outside the vocabulary (${V})`);
    const dev = this.device;
    dev.pushErrorScope("out-of-memory");
    dev.pushErrorScope("validation");
    const wb = (name: string) => this.weights.get(name)!;
    const opt = (name: string) => this.weights.get(name);
    const tokens = this.upload(new Uint32Array(req.tokens), "tokens");
    const positions = this.upload(Uint32Array.from({ length: L }, (_, i) => i), "positions");
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
    const g = this.scratch(L * I * 4, "MLP gate");
    const u = this.scratch(L * I * 4, "MLP up");
    const scored = L - req.firstTarget;
    const chunk = Math.min(LOGIT_CHUNK, scored);
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
          buffers: { q: qn, k: kn, v, positions, freq: this.upload(encodeTurnsPerPosition(rope.invFreq), `${layer.rope} rope frequencies`), out: att },
        });
        bound.set(key, b);
      }
      return b;
    };
    const enc = dev.createCommandEncoder();
    const pass = enc.beginComputePass();
    this.dispatch(pass, this.pipes.embed, [this.uniform(EMBED_PARAMS.pack({ rows: L, dim: H, scale: s.embedScale })), tokens, wb("embed"), x], ...this.elementwise(L * H, 256));
    const post = s.family.sandwichNorms;
    for (let i = 0; i < s.layers.length; i++) {
      this.norm(pass, x, wb(`${i}.attnNorm`), h, L, H);
      this.matmul(pass, h, wb(`${i}.q`), q, L, heads * D, H, false);
      this.matmul(pass, h, wb(`${i}.k`), k, L, kvHeads * D, H, false);
      this.matmul(pass, h, wb(`${i}.v`), v, L, kvHeads * D, H, false);
      this.bias(pass, q, opt(`${i}.qBias`), L, heads * D);
      this.bias(pass, k, opt(`${i}.kBias`), L, kvHeads * D);
      this.bias(pass, v, opt(`${i}.vBias`), L, kvHeads * D);
      if (s.family.qkNorm) {
        this.norm(pass, q, wb(`${i}.qNorm`), qn, L * heads, D);
        this.norm(pass, k, wb(`${i}.kNorm`), kn, L * kvHeads, D);
      }
      attentionFor(s.layers[i]!).encode(pass);
      // Without post-norms the projections add straight into the residual stream.
      this.matmul(pass, att, wb(`${i}.o`), proj, L, H, heads * D, !post);
      if (post) this.norm(pass, proj, wb(`${i}.attnPostNorm`), x, L, H, true);
      this.norm(pass, x, wb(`${i}.mlpNorm`), h, L, H);
      this.matmul(pass, h, wb(`${i}.gate`), g, L, I, H, false);
      this.matmul(pass, h, wb(`${i}.up`), u, L, I, H, false);
      this.dispatch(pass, this.pipes.glu, [this.uniform(GLU_PARAMS.pack({ n: L * I })), g, u], ...this.elementwise(L * I, 256));
      this.matmul(pass, g, wb(`${i}.down`), proj, L, H, I, !post);
      if (post) this.norm(pass, proj, wb(`${i}.mlpPostNorm`), x, L, H, true);
    }
    this.norm(pass, x, wb("norm"), h, L, H);
    pass.end();
    // Each LM-head chunk reuses the logits buffer, so each gets its own pass (passes run in order).
    for (let r0 = 0; r0 < scored; r0 += chunk) {
      const rows = Math.min(chunk, scored - r0);
      const p = enc.beginComputePass();
      // Row t of h predicts token t + 1; scored targets start at firstTarget.
      this.matmul(p, h, wb("lmHead"), logits, rows, V, H, false, req.firstTarget - 1 + r0);
      this.dispatch(p, this.pipes.nll, [this.uniform(NLL_PARAMS.pack({ rows, vocab: V, target0: req.firstTarget + r0, out0: r0 })), logits, tokens, nll], rows);
      p.end();
    }
    const staging = dev.createBuffer({ size: Math.max(16, Math.ceil((scored * 4) / 16) * 16), usage: MAP_READ | COPY_DST });
    this.transient.push(staging);
    enc.copyBufferToBuffer(nll, 0, staging, 0, staging.size);
    dev.queue.submit([enc.finish()]);
    const invalid = await dev.popErrorScope();
    const oom = await dev.popErrorScope();
    try {
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
