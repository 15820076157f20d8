/// <reference types="@webgpu/types" preserve="true" />
// The Llama forward pass on WebGPU: weights stay on the device; one command buffer per window runs
// embedding, the layers (attention is the validation's fused RoPE + flash-attention kernel, reading the
// projections token-major), the final norm, the LM head in chunks and the next-token NLL; only the NLLs
// come back.
import { GpuError } from "../../core/errors.ts";
import type { ForwardBackend, NllRequest } from "../backend.ts";
import { cpuBackend } from "../cpu/forward.ts";
import type { LlamaWeights } from "../llama-weights.ts";
import { checkKernelShape, createFlashAttention, flashShapeFor, type FlashAttention } from "../../../kernels/attention.ts";
import { AttentionUnsupportedError } from "../../../kernels/params.ts";
import { encodeTurnsPerPosition } from "../../../kernels/wgsl/rope.ts";
import { NoGpuError, requestGpu, type AdapterSummary, type Gpu } from "../../../kernels/gpu.ts";
import { toFloat16Bits } from "../../core/float16.ts";
import { EMBED_PARAMS, embedWgsl } from "../../../kernels/wgsl/embed.ts";
import { MATMUL_PARAMS, matmulWgsl, MM_GROUP, MM_ROWS } from "../../../kernels/wgsl/matmul.ts";
import { NLL_PARAMS, nllWgsl } from "../../../kernels/wgsl/nll.ts";
import { RMS_NORM_PARAMS, rmsNormWgsl } from "../../../kernels/wgsl/rms-norm.ts";
import { SWIGLU_PARAMS, swigluWgsl } from "../../../kernels/wgsl/swiglu.ts";
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

export async function gpuBackend(w: LlamaWeights, opts: GpuBackendOptions): Promise<ForwardBackend> {
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

class GpuForward implements ForwardBackend {
  readonly name: string;
  private readonly device: GPUDevice;
  private readonly weights: Map<string, GPUBuffer> = new Map();
  private readonly pipes: Record<"matmul" | "embed" | "norm" | "swiglu" | "nll", GPUComputePipeline>;
  private readonly attention: FlashAttention;
  private transient: GPUBuffer[] = [];
  private readonly maxBinding: number;

  constructor(private readonly gpu: Gpu, private readonly w: LlamaWeights, private readonly wt: WeightType, private readonly owned: boolean) {
    this.device = gpu.device;
    this.name = `webgpu ${adapterName(gpu.summary)} (${wt} weights)`;
    this.maxBinding = Math.min(this.device.limits.maxStorageBufferBindingSize, this.device.limits.maxBufferSize);
    const c = w.config;
    const pipe = (code: string) =>
      this.device.createComputePipeline({ layout: "auto", compute: { module: this.device.createShaderModule({ code }), entryPoint: "main" } });
    this.pipes = { matmul: pipe(matmulWgsl(wt)), embed: pipe(embedWgsl(wt)), norm: pipe(rmsNormWgsl()), swiglu: pipe(swigluWgsl()), nll: pipe(nllWgsl()) };
    const dims = { headDim: c.headDim, rotaryDim: c.headDim };
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
    big("lmHead", w.lmHead);
    small("norm", w.norm);
    w.layers.forEach((l, i) => {
      small(`${i}.inputNorm`, l.inputNorm);
      small(`${i}.postNorm`, l.postNorm);
      for (const k of ["q", "k", "v", "o", "gate", "up", "down"] as const) big(`${i}.${k}`, l[k]);
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

  private elementwise(n: number, perGroup: number): [number, number] {
    const groups = Math.ceil(n / perGroup);
    return [Math.min(groups, 65535), Math.ceil(groups / 65535)];
  }

  async nll(req: NllRequest): Promise<Float64Array> {
    const c = this.w.config;
    const L = req.tokens.length;
    if (!(req.firstTarget >= 1 && req.firstTarget < L)) throw new RangeError(`firstTarget ${req.firstTarget} outside [1, ${L})`);
    const { hidden: H, heads, kvHeads, headDim: D, intermediate: I, vocab: V, eps } = c;
    if (L > this.device.limits.maxComputeWorkgroupsPerDimension * 64) throw new GpuLimitError(undefined, `${L} tokens exceed the adapter's dispatch limit`);
    for (const id of req.tokens) if (id < 0 || id >= V) throw new RangeError(`token id ${id} outside the vocabulary (${V})`);
    const dev = this.device;
    dev.pushErrorScope("out-of-memory");
    dev.pushErrorScope("validation");
    const wb = (name: string) => this.weights.get(name)!;
    const tokens = this.upload(new Uint32Array(req.tokens), "tokens");
    const positions = this.upload(Uint32Array.from({ length: L }, (_, i) => i), "positions");
    const freq = this.upload(encodeTurnsPerPosition(req.rope.invFreq), "rope frequencies");
    const x = this.scratch(L * H * 4, "hidden state");
    const h = this.scratch(L * H * 4, "normed state");
    const q = this.scratch(L * heads * D * 4, "queries");
    const k = this.scratch(L * kvHeads * D * 4, "keys");
    const v = this.scratch(L * kvHeads * D * 4, "values");
    const att = this.scratch(L * heads * D * 4, "attention output");
    const g = this.scratch(L * I * 4, "MLP gate");
    const u = this.scratch(L * I * 4, "MLP up");
    const scored = L - req.firstTarget;
    const chunk = Math.min(LOGIT_CHUNK, scored);
    const logits = this.scratch(chunk * V * 4, "logits");
    const nll = this.scratch(scored * 4, "nll");
    const attention = this.attention.bind({
      seq: L, qHeads: heads, nHeads: heads, nKvHeads: kvHeads, layout: "token-major",
      softmaxScale: 1 / Math.sqrt(D), attentionFactor: req.rope.attentionFactor,
      buffers: { q, k, v, positions, freq, out: att },
    });
    const enc = dev.createCommandEncoder();
    const pass = enc.beginComputePass();
    this.dispatch(pass, this.pipes.embed, [this.uniform(EMBED_PARAMS.pack({ rows: L, dim: H })), tokens, wb("embed"), x], ...this.elementwise(L * H, 256));
    const normU = this.uniform(RMS_NORM_PARAMS.pack({ rows: L, dim: H, eps }));
    for (let i = 0; i < c.layers; i++) {
      this.dispatch(pass, this.pipes.norm, [normU, x, wb(`${i}.inputNorm`), h], L);
      this.matmul(pass, h, wb(`${i}.q`), q, L, heads * D, H, false);
      this.matmul(pass, h, wb(`${i}.k`), k, L, kvHeads * D, H, false);
      this.matmul(pass, h, wb(`${i}.v`), v, L, kvHeads * D, H, false);
      attention.encode(pass);
      this.matmul(pass, att, wb(`${i}.o`), x, L, H, heads * D, true);
      this.dispatch(pass, this.pipes.norm, [normU, x, wb(`${i}.postNorm`), h], L);
      this.matmul(pass, h, wb(`${i}.gate`), g, L, I, H, false);
      this.matmul(pass, h, wb(`${i}.up`), u, L, I, H, false);
      this.dispatch(pass, this.pipes.swiglu, [this.uniform(SWIGLU_PARAMS.pack({ n: L * I })), g, u], ...this.elementwise(L * I, 256));
      this.matmul(pass, g, wb(`${i}.down`), x, L, H, I, true);
    }
    this.dispatch(pass, this.pipes.norm, [normU, x, wb("norm"), h], L);
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
      attention.destroy();
      for (const b of this.transient) b.destroy();
      this.transient = [];
    }
  }

  release(): void {
    for (const b of this.weights.values()) b.destroy();
    this.weights.clear();
    if (this.owned) this.gpu.release();
  }
}

/** The name of the first weight tensor with a value outside f16's finite range, or null. */
function weightsOverHalfRange(w: LlamaWeights): string | null {
  const big = (a: Float32Array) => a.some((v) => v > 65504 || v < -65504);
  if (big(w.embed)) return "embed_tokens";
  if (big(w.lmHead)) return "lm_head";
  for (const [i, l] of w.layers.entries()) {
    for (const k of ["q", "k", "v", "o", "gate", "up", "down"] as const) if (big(l[k])) return `layers.${i}.${k}`;
  }
  return null;
}
