/// <reference types="@webgpu/types" />
// TEMPORARY: the smallest way to open a WebGPU device on Deno (navigator.gpu) and Node/Bun (Dawn via the
// `webgpu` package). To be replaced by kernels/gpu.ts (requestGpu) once the kernels branch is on main.

export class NoGpuError extends Error {
  override name = "NoGpuError";
}

export interface EvalGpu {
  device: GPUDevice;
  /** Adapter description for reports. */
  name: string;
  f16: boolean;
  release(): void;
}

export async function openGpu(): Promise<EvalGpu> {
  let gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) {
    const specifier = "webgpu";
    try {
      gpu = ((await import(specifier)) as { create(o: string[]): GPU }).create([]);
    } catch (err) {
      throw new NoGpuError(`no WebGPU: navigator.gpu is absent and the webgpu package failed to load: ${String((err as Error).message).split("\n")[0]}`);
    }
  }
  // Dawn hides CPU adapters (lavapipe) unless a fallback adapter is asked for.
  const adapter = (await gpu.requestAdapter()) ?? (await gpu.requestAdapter({ forceFallbackAdapter: true }));
  if (!adapter) throw new NoGpuError("WebGPU found no adapter (without a GPU, run .ci/setup-lavapipe.sh and source its env)");
  const f16 = adapter.features.has("shader-f16");
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: f16 ? ["shader-f16"] : [],
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    },
  });
  const info = adapter.info;
  const name = [info?.description || info?.device || info?.vendor || "WebGPU adapter", info?.architecture].filter(Boolean).join(" / ");
  return {
    device,
    name,
    f16,
    release() {
      device.destroy();
      // Dawn's instance must stay referenced while the device lives (it is collected otherwise, and the
      // process crashes); dropping it here lets the process exit.
      gpu = undefined;
    },
  };
}
