/// <reference types="@webgpu/types" preserve="true" />
// Moving data to and from the device. Usage flags are spelled as numbers so that no WebGPU globals
// (GPUBufferUsage, GPUMapMode) need to exist: Dawn on Node does not install them.
import { toFloat16Bits } from "../src/core/float16.ts";
import type { AttentionDtype } from "./params.ts";

export const Usage = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
const MAP_MODE_READ = 0x1;

export function uploadBuffer(device: GPUDevice, data: ArrayBufferView, usage: number, label: string): GPUBuffer {
  const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
  const buffer = device.createBuffer({ size, usage: usage | Usage.COPY_DST, label });
  device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, Math.ceil(data.byteLength / 4) * 4);
  return buffer;
}

/** A storage buffer holding `values` in the kernel's element type. */
export function uploadTensor(device: GPUDevice, values: Float32Array, dtype: AttentionDtype, label: string): GPUBuffer {
  return uploadBuffer(device, dtype === "f16" ? toFloat16Bits(values) : values, Usage.STORAGE, label);
}

export function uniformBuffer(device: GPUDevice, words: ArrayBuffer, label: string): GPUBuffer {
  return uploadBuffer(device, new Uint8Array(words), Usage.UNIFORM, label);
}

/** Copies `byteLength` bytes of `src` out of the device (after all work submitted so far). */
export async function readFloat32(device: GPUDevice, src: GPUBuffer, byteLength: number): Promise<Float32Array> {
  const staging = device.createBuffer({ size: byteLength, usage: Usage.MAP_READ | Usage.COPY_DST, label: "readback" });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(src, 0, staging, 0, byteLength);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(MAP_MODE_READ);
  const out = new Float32Array(staging.getMappedRange().slice(0));
  staging.unmap();
  staging.destroy();
  return out;
}

/** Runs `fn` inside a validation error scope and throws the first error WebGPU reports. */
export async function withErrorScope<T>(device: GPUDevice, what: string, fn: () => T): Promise<T> {
  device.pushErrorScope("validation");
  device.pushErrorScope("out-of-memory");
  const result = fn();
  const oom = await device.popErrorScope();
  const invalid = await device.popErrorScope();
  const err = oom ?? invalid;
  if (err) throw new Error(`${what}: WebGPU error: ${err.message.split("\n")[0]}`);
  return result;
}
