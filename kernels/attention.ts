/// <reference types="@webgpu/types" preserve="true" />
// Host side of the fused kernel: `attention()` for one answer, `prepareAttention()` to upload once
// and run many times (the benchmark).
import {
  FLASH_BLOCK,
  flashAttentionWgsl,
  flashStrides,
  flashUniform,
  flashWorkgroupBytes,
  type FlashLayout,
  type FlashShape,
} from "./wgsl/flash-attention.ts";
import { encodeTurnsPerPosition } from "./wgsl/rope.ts";
import { planHeadGroups } from "./head-groups.ts";
import { readFloat32, uniformBuffer, uploadBuffer, uploadTensor, Usage, withErrorScope } from "./buffers.ts";
import {
  AttentionUnsupportedError,
  checkProblem,
  type AttentionDtype,
  type AttentionProblem,
} from "./params.ts";

export interface GpuAttentionParams extends AttentionProblem {
  device: GPUDevice;
  /** "f16" stores Q, K, V and the tiles in half precision (needs `shader-f16`); math stays float32. */
  dtype?: AttentionDtype;
  /** Constant loop bounds the driver can unroll: faster on GPUs, minutes of compile on lavapipe. Default false. */
  unrollLoops?: boolean;
  /** Head dims per Q·Kᵀ chunk, 32 or 64 (default: the widest that fits the workgroup memory; for benchmarks). */
  chunkDims?: number;
  /** Query rows per invocation, 4 or 8 (default FLASH_ROWS_PER_THREAD; for benchmarks). */
  rowsPerThread?: number;
  /** Caps the bytes per binding below the adapter's limit (forces the head split; for tests). */
  maxBindingBytes?: number;
}

export interface PreparedAttention {
  /** Queues one full computation (all head groups). */
  submit(): void;
  /** Waits for the queued work and returns the output [nHeads, seq, headDim]. */
  read(): Promise<Float32Array>;
  destroy(): void;
}

/** The dims a kernel is compiled for. */
export interface KernelDims {
  headDim: number;
  rotaryDim: number;
}

/** Head dims the kernels are built for: multiples of 8 up to 256 (64 and 128 are tested). */
export function checkKernelDims(p: KernelDims): void {
  if (p.headDim % 8 !== 0 || p.headDim > 256) {
    throw new AttentionUnsupportedError(undefined, `attention kernel: head dim ${p.headDim} is not supported (multiples of 8 up to 256)`);
  }
  if (p.rotaryDim % 8 !== 0) {
    throw new AttentionUnsupportedError(undefined, `attention kernel: rotary dim ${p.rotaryDim} is not supported (a multiple of 8)`);
  }
}

/** The dims, and the f16 feature when the dtype needs it. */
export function checkKernelShape(p: KernelDims, dtype: AttentionDtype, device: GPUDevice): void {
  checkKernelDims(p);
  if (dtype === "f16" && !device.features.has("shader-f16")) {
    throw new AttentionUnsupportedError(undefined, "attention kernel: dtype f16 needs the adapter feature shader-f16, which this device lacks");
  }
}

/** Widest Q·Kᵀ chunk (64 or 32 dims) whose tiles fit the workgroup memory: fewer barriers per tile. */
export function chooseChunkDims(workgroupBytes: number): number {
  for (const dims of [64, 32]) if (flashWorkgroupBytes(dims) <= workgroupBytes) return dims;
  throw new AttentionUnsupportedError(undefined, `attention kernel: needs ${flashWorkgroupBytes(32)} bytes of workgroup memory, the adapter allows ${workgroupBytes}`
  );
}

export function maxBindingBytes(device: GPUDevice, cap = Infinity): number {
  return Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize, cap);
}

/** Query rows per invocation of the fused kernel unless a caller asks otherwise (4 was fastest on the H200). */
const FLASH_ROWS_PER_THREAD = 4;

/** The fused kernel's shape for these dims on this device; `tuning` overrides the defaults (benchmarks, tests). */
export function flashShapeFor(
  p: KernelDims,
  dtype: AttentionDtype,
  device: GPUDevice,
  unroll: boolean,
  tuning: { chunkDims?: number; rowsPerThread?: number } = {},
): FlashShape {
  const limit = device.limits.maxComputeWorkgroupStorageSize;
  const rowsPerThread = tuning.rowsPerThread ?? FLASH_ROWS_PER_THREAD;
  if (rowsPerThread !== 4 && rowsPerThread !== 8) {
    throw new AttentionUnsupportedError(undefined, `attention kernel: ${rowsPerThread} rows per invocation is not possible (4 or 8)`);
  }
  const chunkDims = tuning.chunkDims ?? chooseChunkDims(limit);
  if ((chunkDims !== 32 && chunkDims !== 64) || flashWorkgroupBytes(chunkDims) > limit) {
    throw new AttentionUnsupportedError(undefined, `attention kernel: chunks of ${chunkDims} dims are not possible here (32 or 64, within ${limit} bytes of workgroup memory)`);
  }
  return { headDim: p.headDim, rotaryDim: p.rotaryDim, dtype, chunkDims, rowsPerThread, unroll };
}

/** One fused-attention dispatch over buffers already on the device. */
export interface FlashDispatch {
  seq: number;
  /** Query heads in this dispatch, and the layout's head counts (for its strides). */
  qHeads: number;
  nHeads: number;
  nKvHeads: number;
  layout: FlashLayout;
  /** Index in its KV group of the dispatch's first query head (head splits); 0 otherwise. */
  qHeadOffset?: number;
  softmaxScale: number;
  attentionFactor: number;
  /** Sliding window: a query sees the `window` keys ending at its own (0 or absent: every earlier key). */
  window?: number;
  /** q, k, v, out in the layout; positions: u32 per token; freq: encodeTurnsPerPosition(invFreq). */
  buffers: { q: GPUBuffer; k: GPUBuffer; v: GPUBuffer; positions: GPUBuffer; freq: GPUBuffer; out: GPUBuffer };
}

export interface FlashAttention {
  /** Makes the dispatch's uniform and bind group once; `encode` records it into a pass, as often as needed. */
  bind(d: FlashDispatch): { encode(pass: GPUComputePassEncoder): void; destroy(): void };
}

/** The fused kernel compiled for one shape, for callers that keep their tensors on the GPU (the evaluator). */
export function createFlashAttention(device: GPUDevice, shape: FlashShape): FlashAttention {
  const module = device.createShaderModule({ code: flashAttentionWgsl(shape), label: "flash-attention" });
  const pipeline = device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
  return {
    bind(d) {
      const blocks = Math.ceil(d.seq / FLASH_BLOCK);
      if (blocks > device.limits.maxComputeWorkgroupsPerDimension) {
        throw new AttentionUnsupportedError(undefined, `attention kernel: ${d.seq} tokens need ${blocks} workgroups, over the adapter's limit`);
      }
      const words = flashUniform(shape, {
        seq: d.seq,
        groupSize: d.nHeads / d.nKvHeads,
        qHeadOffset: d.qHeadOffset ?? 0,
        strides: flashStrides(d.layout, { seq: d.seq, nHeads: d.nHeads, nKvHeads: d.nKvHeads, headDim: shape.headDim }),
        scaleLog2: d.softmaxScale * Math.LOG2E,
        attentionFactor: d.attentionFactor,
        window: d.window,
      });
      const uniform = uniformBuffer(device, words, "flash params");
      const { q, k, v, positions, freq, out } = d.buffers;
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [uniform, q, k, v, positions, freq, out].map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      return {
        encode(pass) {
          pass.setPipeline(pipeline);
          pass.setBindGroup(0, bindGroup);
          pass.dispatchWorkgroups(blocks, d.qHeads);
        },
        destroy: () => uniform.destroy(),
      };
    },
  };
}

export async function prepareAttention(params: GpuAttentionParams): Promise<PreparedAttention> {
  const { device } = params;
  const dtype = params.dtype ?? "f32";
  const p = checkProblem(params);
  checkKernelShape(p, dtype, device);
  const shape = flashShapeFor(p, dtype, device, params.unrollLoops ?? false, params);
  const groups = planHeadGroups({ ...p, maxBindingBytes: maxBindingBytes(device, params.maxBindingBytes) });
  const headSize = p.seq * p.headDim;

  return withErrorScope(device, "attention kernel", () => {
    const kernel = createFlashAttention(device, shape);
    const positions = uploadBuffer(device, Uint32Array.from(p.positions), Usage.STORAGE, "positions");
    const freq = uploadBuffer(device, encodeTurnsPerPosition(p.invFreq), Usage.STORAGE, "freq");
    const owned: GPUBuffer[] = [positions, freq];
    const runs = groups.map((g) => {
      const q = uploadTensor(device, p.q.subarray(g.qHead * headSize, (g.qHead + g.qCount) * headSize), dtype, "q");
      const k = uploadTensor(device, p.k.subarray(g.kvHead * headSize, (g.kvHead + g.kvCount) * headSize), dtype, "k");
      const v = uploadTensor(device, p.v.subarray(g.kvHead * headSize, (g.kvHead + g.kvCount) * headSize), dtype, "v");
      const out = device.createBuffer({ size: g.qCount * headSize * 4, usage: Usage.STORAGE | Usage.COPY_SRC, label: "out" });
      owned.push(q, k, v, out);
      const bound = kernel.bind({
        seq: p.seq,
        qHeads: g.qCount,
        nHeads: p.nHeads,
        nKvHeads: p.nKvHeads,
        layout: "head-major",
        qHeadOffset: g.qHead - g.kvHead * p.groupSize,
        softmaxScale: p.softmaxScale,
        attentionFactor: p.attentionFactor,
        window: p.window,
        buffers: { q, k, v, positions, freq, out },
      });
      return { g, bound, out };
    });
    return {
      submit() {
        const encoder = device.createCommandEncoder();
        const pass = encoder.beginComputePass();
        for (const r of runs) r.bound.encode(pass);
        pass.end();
        device.queue.submit([encoder.finish()]);
      },
      async read() {
        const output = new Float32Array(p.nHeads * headSize);
        for (const r of runs) output.set(await readFloat32(device, r.out, r.g.qCount * headSize * 4), r.g.qHead * headSize);
        return output;
      },
      destroy() {
        for (const b of owned) b.destroy();
        for (const r of runs) r.bound.destroy();
      },
    };
  });
}

/** Causal attention with RoPE fused in, on the GPU: output [nHeads, seq, headDim] in float32. */
export async function attention(params: GpuAttentionParams): Promise<Float32Array> {
  const prepared = await prepareAttention(params);
  try {
    await withErrorScope(params.device, "attention kernel", () => prepared.submit());
    return await prepared.read();
  } finally {
    prepared.destroy();
  }
}
