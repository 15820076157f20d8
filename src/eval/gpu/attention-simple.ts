/// <reference types="@webgpu/types" />
// TEMPORARY attention for the WebGPU forward pass, to be replaced by the kernels branch's fused
// flash-attention (kernels/attention.ts) once it is on main. One call = RoPE on Q and K (transformers'
// float32 cos/sin tables, which already carry the attention factor) then causal attention with grouped
// KV heads, one invocation per (query, head) with an online softmax. Layouts are token-major:
// q [seq, heads·D], k and v [seq, kvHeads·D], out [seq, heads·D].

export interface AttentionShape {
  seq: number;
  heads: number;
  kvHeads: number;
  headDim: number;
}

export interface AttentionBuffers {
  q: GPUBuffer;
  k: GPUBuffer;
  v: GPUBuffer;
  /** [seq, headDim/2] each. */
  cos: GPUBuffer;
  sin: GPUBuffer;
  out: GPUBuffer;
}

const ropeWgsl = `
struct P { seq: u32, heads: u32, half: u32, _a: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> cosT: array<f32>;
@group(0) @binding(3) var<storage, read> sinT: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y * 65535u * 64u + gid.x;
  if (i >= p.seq * p.heads * p.half) { return; }
  let j = i % p.half;
  let th = i / p.half;
  let t = th / p.heads;
  let base = th * 2u * p.half;
  let c = cosT[t * p.half + j];
  let s = sinT[t * p.half + j];
  let a = x[base + j];
  let b = x[base + j + p.half];
  x[base + j] = a * c - b * s;
  x[base + j + p.half] = b * c + a * s;
}`;

const attnWgsl = (D: number) => `
struct P { seq: u32, heads: u32, kvHeads: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x;
  let h = gid.y;
  if (t >= p.seq) { return; }
  let kh = h / (p.heads / p.kvHeads);
  let qo = (t * p.heads + h) * ${D}u;
  var qv: array<f32, ${D}>;
  var acc: array<f32, ${D}>;
  for (var i = 0u; i < ${D}u; i++) { qv[i] = q[qo + i] * p.scale; }
  var m = -3.0e38;
  var l = 0.0;
  for (var s = 0u; s <= t; s++) {
    let ko = (s * p.kvHeads + kh) * ${D}u;
    var d = 0.0;
    for (var i = 0u; i < ${D}u; i++) { d += qv[i] * k[ko + i]; }
    let mNew = max(m, d);
    let corr = exp(m - mNew);
    let e = exp(d - mNew);
    l = l * corr + e;
    for (var i = 0u; i < ${D}u; i++) { acc[i] = acc[i] * corr + e * v[ko + i]; }
    m = mNew;
  }
  for (var i = 0u; i < ${D}u; i++) { out[qo + i] = acc[i] / l; }
}`;

export interface SimpleAttention {
  /** Records RoPE (in place on q and k) and attention into `pass`. */
  encode(pass: GPUComputePassEncoder, shape: AttentionShape, b: AttentionBuffers): void;
}

export function simpleAttention(device: GPUDevice, headDim: number, uniform: (words: ArrayBuffer) => GPUBuffer): SimpleAttention {
  const rope = device.createComputePipeline({ layout: "auto", compute: { module: device.createShaderModule({ code: ropeWgsl }), entryPoint: "main" } });
  const attn = device.createComputePipeline({ layout: "auto", compute: { module: device.createShaderModule({ code: attnWgsl(headDim) }), entryPoint: "main" } });
  const bind = (pipeline: GPUComputePipeline, buffers: GPUBuffer[]) =>
    device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })) });
  return {
    encode(pass, s, b) {
      const half = s.headDim / 2;
      for (const [x, heads] of [[b.q, s.heads], [b.k, s.kvHeads]] as const) {
        const u = uniform(new Uint32Array([s.seq, heads, half, 0]).buffer);
        pass.setPipeline(rope);
        pass.setBindGroup(0, bind(rope, [u, x, b.cos, b.sin]));
        const groups = Math.ceil((s.seq * heads * half) / 64);
        pass.dispatchWorkgroups(Math.min(groups, 65535), Math.ceil(groups / 65535));
      }
      const words = new ArrayBuffer(16);
      new Uint32Array(words, 0, 3).set([s.seq, s.heads, s.kvHeads]);
      new Float32Array(words, 12, 1)[0] = 1 / Math.sqrt(s.headDim);
      pass.setPipeline(attn);
      pass.setBindGroup(0, bind(attn, [uniform(words), b.q, b.k, b.v, b.out]));
      pass.dispatchWorkgroups(Math.ceil(s.seq / 64), s.heads);
    },
  };
}
