/// <reference types="@webgpu/types" />
// Host side of the fused kernel: `attention()` for one answer, `prepareAttention()` to upload once
// and run many times (the benchmark).
import { flashAttentionWgsl, flashUniform, type FlashShape } from "./wgsl/flash-attention.ts";
import { encodeTurnsPerPosition } from "./wgsl/rope.ts";
import { planHeadGroups } from "./head-groups.ts";
import { readFloat32, uniformBuffer, uploadBuffer, uploadTensor, Usage, withErrorScope } from "./buffers.ts";
import {
  AttentionUnsupportedError,
  checkProblem,
  type AttentionDtype,
  type AttentionProblem,
  type CheckedProblem,
} from "./params.ts";

export interface GpuAttentionParams extends AttentionProblem {
  device: GPUDevice;
  /** "f16" stores Q, K, V and the tiles in half precision (needs `shader-f16`); math stays float32. */
  dtype?: AttentionDtype;
  /** Constant loop bounds the driver can unroll: faster on GPUs, minutes of compile on lavapipe. Default false. */
  unrollLoops?: boolean;
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

const BLOCK_Q = 64;

/** Head dims the kernels are built for: multiples of 8 up to 256 (64 and 128 are tested). */
export function checkKernelShape(p: CheckedProblem, dtype: AttentionDtype, device: GPUDevice): void {
  if (p.headDim % 8 !== 0 || p.headDim > 256) {
    throw new AttentionUnsupportedError(`attention kernel: head dim ${p.headDim} is not supported (multiples of 8 up to 256)`);
  }
  if (p.rotaryDim % 8 !== 0) {
    throw new AttentionUnsupportedError(`attention kernel: rotary dim ${p.rotaryDim} is not supported (a multiple of 8)`);
  }
  if (dtype === "f16" && !device.features.has("shader-f16")) {
    throw new AttentionUnsupportedError("attention kernel: dtype f16 needs the adapter feature shader-f16, which this device lacks");
  }
}

/** Largest key tile (8..64, a power of two) whose K and V copies fit the workgroup memory. */
export function chooseBlockK(headDim: number, dtype: AttentionDtype, workgroupBytes: number): number {
  const bytesPerKey = 2 * headDim * (dtype === "f16" ? 2 : 4);
  let bk = 64;
  while (bk > 8 && bk * bytesPerKey > workgroupBytes) bk /= 2;
  if (bk * bytesPerKey > workgroupBytes) {
    throw new AttentionUnsupportedError(`attention kernel: ${workgroupBytes} bytes of workgroup memory cannot hold 8 keys of head dim ${headDim}`);
  }
  return bk;
}

export function maxBindingBytes(device: GPUDevice, cap = Infinity): number {
  return Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize, cap);
}

export function flashShapeFor(p: CheckedProblem, dtype: AttentionDtype, device: GPUDevice, unroll: boolean): FlashShape {
  // Keep tiles at 32 keys at most: bigger tiles only add private registers for the scores.
  const blockK = Math.min(32, chooseBlockK(p.headDim, dtype, device.limits.maxComputeWorkgroupStorageSize));
  return { headDim: p.headDim, rotaryDim: p.rotaryDim, dtype, blockQ: BLOCK_Q, blockK, unroll };
}

export async function prepareAttention(params: GpuAttentionParams): Promise<PreparedAttention> {
  const { device } = params;
  const dtype = params.dtype ?? "f32";
  const p = checkProblem(params);
  checkKernelShape(p, dtype, device);
  const shape = flashShapeFor(p, dtype, device, params.unrollLoops ?? false);
  const blocks = Math.ceil(p.seq / BLOCK_Q);
  if (blocks > device.limits.maxComputeWorkgroupsPerDimension) {
    throw new AttentionUnsupportedError(`attention kernel: ${p.seq} tokens need ${blocks} workgroups, over the adapter's limit`);
  }
  const groups = planHeadGroups({ ...p, maxBindingBytes: maxBindingBytes(device, params.maxBindingBytes) });
  const headSize = p.seq * p.headDim;

  return withErrorScope(device, "attention kernel", () => {
    const module = device.createShaderModule({ code: flashAttentionWgsl(shape), label: "flash-attention" });
    const pipeline = device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
    const positions = uploadBuffer(device, Uint32Array.from(p.positions), Usage.STORAGE, "positions");
    const freq = uploadBuffer(device, encodeTurnsPerPosition(p.invFreq), Usage.STORAGE, "freq");
    const owned: GPUBuffer[] = [positions, freq];
    const runs = groups.map((g) => {
      const words = flashUniform({
        ...p,
        qHeadOffset: g.qHead - g.kvHead * p.groupSize,
        blockK: shape.blockK,
        scaleLog2: p.softmaxScale * Math.LOG2E,
      });
      const q = uploadTensor(device, p.q.subarray(g.qHead * headSize, (g.qHead + g.qCount) * headSize), dtype, "q");
      const k = uploadTensor(device, p.k.subarray(g.kvHead * headSize, (g.kvHead + g.kvCount) * headSize), dtype, "k");
      const v = uploadTensor(device, p.v.subarray(g.kvHead * headSize, (g.kvHead + g.kvCount) * headSize), dtype, "v");
      const out = device.createBuffer({ size: g.qCount * headSize * 4, usage: Usage.STORAGE | Usage.COPY_SRC, label: "out" });
      const uniform = uniformBuffer(device, words, "flash params");
      owned.push(q, k, v, out, uniform);
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [uniform, q, k, v, positions, freq, out].map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      return { g, bindGroup, out };
    });
    return {
      submit() {
        const encoder = device.createCommandEncoder();
        const pass = encoder.beginComputePass();
        pass.setPipeline(pipeline);
        for (const r of runs) {
          pass.setBindGroup(0, r.bindGroup);
          pass.dispatchWorkgroups(blocks, r.g.qCount);
        }
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
