/// <reference types="@webgpu/types" preserve="true" />
// Host side of the three-pass baseline (RoPE pass, scores, softmax, weighted sum). Same problem and
// output as `attention()`; the S×S scores are computed in row chunks that fit the binding limit.
import {
  ropePassWgsl,
  scoresWgsl,
  softmaxWgsl,
  THREE_PASS_PARAMS,
  weightedSumWgsl,
} from "./wgsl/three-pass.ts";
import { encodeTurnsPerPosition } from "./wgsl/rope.ts";
import { planHeadGroups } from "./head-groups.ts";
import { readFloat32, uniformBuffer, uploadBuffer, Usage, withErrorScope } from "./buffers.ts";
import type { UniformValues } from "./uniforms.ts";
import { checkKernelShape, maxBindingBytes, type GpuAttentionParams, type PreparedAttention } from "./attention.ts";
import { AttentionUnsupportedError, checkProblem } from "./params.ts";

/** Largest number of query rows per scores chunk (also bounds the weighted-sum dispatch). */
const MAX_CHUNK_ROWS = 4096;

export async function prepareThreePassAttention(params: GpuAttentionParams): Promise<PreparedAttention> {
  const { device } = params;
  const p = checkProblem(params);
  if (p.window) throw new AttentionUnsupportedError(undefined, "three-pass attention: sliding windows are not implemented (it is the full-causal baseline)");
  if ((params.dtype ?? "f32") !== "f32") {
    throw new AttentionUnsupportedError(undefined, "three-pass attention: only dtype f32 is implemented (it is the float32 baseline)");
  }
  checkKernelShape(p, "f32", device);
  const { seq, headDim } = p;
  const d4 = headDim / 4;
  const limit = maxBindingBytes(device, params.maxBindingBytes);
  const groups = planHeadGroups({ ...p, maxBindingBytes: limit });
  const chunkRows = Math.min(seq, MAX_CHUNK_ROWS, Math.floor(limit / (seq * 4)));
  if (chunkRows < 1) throw new AttentionUnsupportedError(undefined, `three-pass attention: one row of ${seq} scores exceeds the binding limit`);
  const headSize = seq * headDim;
  const maxWg = device.limits.maxComputeWorkgroupsPerDimension;
  if (Math.ceil((p.nHeads * seq) / 64) > maxWg) {
    throw new AttentionUnsupportedError(undefined, `three-pass attention: ${p.nHeads}×${seq} rows exceed one dispatch of the RoPE pass`);
  }

  return withErrorScope(device, "three-pass attention", () => {
    const shape = { headDim, rotaryDim: p.rotaryDim, unroll: params.unrollLoops ?? false };
    const pipeline = (code: string, label: string) =>
      device.createComputePipeline({ layout: "auto", label, compute: { module: device.createShaderModule({ code, label }), entryPoint: "main" } });
    const rope = pipeline(ropePassWgsl(shape), "rope pass");
    const scores = pipeline(scoresWgsl(shape), "scores");
    const softmax = pipeline(softmaxWgsl(), "softmax");
    const weighted = pipeline(weightedSumWgsl(shape), "weighted sum");
    const owned: GPUBuffer[] = [];
    const own = (b: GPUBuffer) => (owned.push(b), b);
    const storage = (bytes: number, label: string, extra = 0) => own(device.createBuffer({ size: bytes, usage: Usage.STORAGE | extra, label }));
    const uniform = (u: Omit<UniformValues<typeof THREE_PASS_PARAMS>, "d4" | "rh4">) =>
      own(uniformBuffer(device, THREE_PASS_PARAMS.pack({ ...u, d4, rh4: p.rotaryDim / 8 }), "three-pass params"));
    const bind = (pl: GPUComputePipeline, buffers: GPUBuffer[]) =>
      device.createBindGroup({ layout: pl.getBindGroupLayout(0), entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })) });

    const positions = own(uploadBuffer(device, Uint32Array.from(p.positions), Usage.STORAGE, "positions"));
    const freq = own(uploadBuffer(device, encodeTurnsPerPosition(p.invFreq), Usage.STORAGE, "freq"));
    const scoreBuf = storage(chunkRows * seq * 4, "scores");
    type Step = { pl: GPUComputePipeline; bg: GPUBindGroup; x: number; y: number };
    const steps: Step[] = [];
    const outs: { out: GPUBuffer; qHead: number; qCount: number }[] = [];
    for (const g of groups) {
      const q = own(uploadBuffer(device, p.q.subarray(g.qHead * headSize, (g.qHead + g.qCount) * headSize), Usage.STORAGE, "q"));
      const k = own(uploadBuffer(device, p.k.subarray(g.kvHead * headSize, (g.kvHead + g.kvCount) * headSize), Usage.STORAGE, "k"));
      const v = own(uploadBuffer(device, p.v.subarray(g.kvHead * headSize, (g.kvHead + g.kvCount) * headSize), Usage.STORAGE, "v"));
      const qr = storage(g.qCount * headSize * 4, "rotated q");
      const kr = storage(g.kvCount * headSize * 4, "rotated k");
      const out = storage(g.qCount * headSize * 4, "out", Usage.COPY_SRC);
      outs.push({ out, qHead: g.qHead, qCount: g.qCount });
      for (const [src, dst, rows] of [[q, qr, g.qCount * seq], [k, kr, g.kvCount * seq]] as const) {
        const u = uniform({ seq, rows, row0: 0, q_row0: 0, k_row0: 0, scale: p.attentionFactor });
        steps.push({ pl: rope, bg: bind(rope, [u, src, positions, freq, dst]), x: Math.ceil(rows / 64), y: 1 });
      }
      for (let h = 0; h < g.qCount; h++) {
        const kvLocal = Math.floor((g.qHead + h) / p.groupSize) - g.kvHead;
        for (let row0 = 0; row0 < seq; row0 += chunkRows) {
          const rows = Math.min(chunkRows, seq - row0);
          const u = uniform({ seq, rows, row0, q_row0: h * seq, k_row0: kvLocal * seq, scale: p.softmaxScale });
          steps.push({ pl: scores, bg: bind(scores, [u, qr, kr, scoreBuf]), x: Math.ceil((row0 + rows) / 16), y: Math.ceil(rows / 16) });
          steps.push({ pl: softmax, bg: bind(softmax, [u, scoreBuf]), x: rows, y: 1 });
          steps.push({ pl: weighted, bg: bind(weighted, [u, scoreBuf, v, out]), x: Math.ceil((rows * d4) / 64), y: 1 });
        }
      }
    }
    for (const s of steps) {
      if (s.x > maxWg || s.y > maxWg) throw new AttentionUnsupportedError(undefined, "three-pass attention: a dispatch exceeds the adapter's workgroup count limit");
    }
    return {
      submit() {
        const encoder = device.createCommandEncoder();
        const pass = encoder.beginComputePass();
        for (const s of steps) {
          pass.setPipeline(s.pl);
          pass.setBindGroup(0, s.bg);
          pass.dispatchWorkgroups(s.x, s.y);
        }
        pass.end();
        device.queue.submit([encoder.finish()]);
      },
      async read() {
        const output = new Float32Array(p.nHeads * headSize);
        for (const o of outs) output.set(await readFloat32(device, o.out, o.qCount * headSize * 4), o.qHead * headSize);
        return output;
      },
      destroy() {
        for (const b of owned) b.destroy();
      },
    };
  });
}

/** The unfused baseline: same inputs and output as `attention()`, float32 only. */
export async function attentionThreePass(params: GpuAttentionParams): Promise<Float32Array> {
  const prepared = await prepareThreePassAttention(params);
  try {
    await withErrorScope(params.device, "three-pass attention", () => prepared.submit());
    return await prepared.read();
  } finally {
    prepared.destroy();
  }
}
