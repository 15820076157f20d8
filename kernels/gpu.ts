/// <reference types="@webgpu/types" preserve="true" />
// One way to get a WebGPU device on every runtime: Deno and browsers expose `navigator.gpu`;
// Node and Bun get it from Dawn through the `webgpu` npm package. No adapter is an error the
// caller sees (NoGpuError), so a validation falls back to the CPU reference instead of passing.
import { GpuError } from "../src/core/errors.ts";
import { runtimeName } from "../src/core/runtime.ts";

/** What a report says about the adapter a result came from. */
export interface AdapterSummary {
  /** "navigator.gpu" (Deno, browsers) or "dawn" (the `webgpu` package on Node and Bun). */
  api: "navigator.gpu" | "dawn";
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for CPU implementations such as lavapipe or SwiftShader. */
  software: boolean;
  features: string[];
  limits: {
    maxStorageBufferBindingSize: number;
    maxBufferSize: number;
    maxComputeWorkgroupStorageSize: number;
    maxComputeInvocationsPerWorkgroup: number;
    maxComputeWorkgroupsPerDimension: number;
  };
}

export interface Gpu {
  device: GPUDevice;
  adapter: GPUAdapter;
  summary: AdapterSummary;
  /** Whether the device was created with `shader-f16` (the f16 kernels need it). */
  f16: boolean;
  /** Destroys the device and drops Dawn's instance so the process can exit. */
  release(): void;
}

/** No WebGPU adapter could be had; `message` says why in one line. */
export class NoGpuError extends GpuError {
  override name = "NoGpuError";
}

export interface RequestGpuParams {
  powerPreference?: GPUPowerPreference;
  /** Where `navigator.gpu` is absent (Node, Bun): how to get a GPU object. Defaults to Dawn via `webgpu`. */
  loadGpu?: () => Promise<GPU>;
  /** The navigator to look at; defaults to globalThis.navigator (tests inject one). */
  navigator?: { gpu?: GPU } | undefined;
}

/** The `webgpu` package yarnify is tested with: an optional peer dependency (132 MB of Dawn binaries), not installed by default. */
export const DAWN_PACKAGE = "webgpu@0.6.2";

async function loadDawn(): Promise<GPU> {
  // A variable specifier keeps bundlers and Deno from resolving the native package where it is not used.
  const specifier = "webgpu";
  const mod = (await import(specifier)) as { create(options: string[]): GPU };
  return mod.create([]);
}

/** Why Dawn could not be had: the optional package absent (the usual case: say how to add it), or broken. */
function dawnProblem(err: unknown): string {
  // Node says ERR_MODULE_NOT_FOUND, Bun "Cannot find package 'webgpu'".
  const code = (err as { code?: unknown })?.code;
  if (code === "ERR_MODULE_NOT_FOUND" || /cannot find (package|module) ['"]?webgpu\b/i.test(firstLine(err))) {
    return `the optional \`webgpu\` package (Dawn) is not installed: npm install ${DAWN_PACKAGE}`;
  }
  return `the \`webgpu\` package (Dawn) failed to load: ${firstLine(err)}`;
}

/**
 * Finds an adapter and opens a device with the limits the kernels can use (the adapter's own
 * maxima, not WebGPU's defaults). Throws NoGpuError when there is none.
 */
export async function requestGpu(params: RequestGpuParams = {}): Promise<Gpu> {
  const nav = "navigator" in params ? params.navigator : (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  let gpu: GPU | undefined = nav?.gpu;
  let api: AdapterSummary["api"] = "navigator.gpu";
  if (!gpu) {
    const runtime = runtimeName();
    try {
      gpu = await (params.loadGpu ?? loadDawn)();
      api = "dawn";
    } catch (err) {
      throw new NoGpuError(undefined, `no WebGPU on ${runtime}: navigator.gpu is absent and ${dawnProblem(err)}`);
    }
  }
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter(params.powerPreference ? { powerPreference: params.powerPreference } : {});
    // Dawn hides CPU adapters (lavapipe, SwiftShader) unless asked for a fallback adapter.
    adapter ??= await gpu.requestAdapter({ forceFallbackAdapter: true });
  } catch (err) {
    throw new NoGpuError(undefined, `WebGPU (${api}) could not enumerate adapters: ${firstLine(err)}`);
  }
  if (!adapter) {
    throw new NoGpuError(undefined, `WebGPU (${api}) found no adapter: no GPU driver or Vulkan ICD is visible (without a GPU, run .ci/setup-lavapipe.sh and source its env)`
    );
  }
  const f16 = adapter.features.has("shader-f16");
  const limits = adapter.limits;
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({
      requiredFeatures: f16 ? ["shader-f16"] : [],
      requiredLimits: {
        maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
        maxBufferSize: limits.maxBufferSize,
        maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
        maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
      },
    });
  } catch (err) {
    throw new NoGpuError(undefined, `WebGPU (${api}) adapter refused a device: ${firstLine(err)}`);
  }
  const info = adapter.info;
  const summary: AdapterSummary = {
    api,
    vendor: info?.vendor ?? "",
    architecture: info?.architecture ?? "",
    device: info?.device ?? "",
    description: info?.description ?? "",
    software: isSoftware(adapter),
    features: [...adapter.features].map(String).sort(),
    limits: {
      maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
      maxBufferSize: device.limits.maxBufferSize,
      maxComputeWorkgroupStorageSize: device.limits.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: device.limits.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
    },
  };
  return {
    device,
    adapter,
    summary,
    f16,
    release() {
      device.destroy();
      gpu = undefined;
    },
  };
}

/** Like requestGpu, but answers the reason instead of throwing when there is no GPU. */
export async function findGpu(params: RequestGpuParams = {}): Promise<Gpu | NoGpuError> {
  try {
    return await requestGpu(params);
  } catch (err) {
    if (err instanceof NoGpuError) return err;
    throw err;
  }
}

function isSoftware(adapter: GPUAdapter): boolean {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  if (info?.isFallbackAdapter || (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter) return true;
  const text = `${info?.architecture ?? ""} ${info?.description ?? ""} ${info?.device ?? ""}`.toLowerCase();
  return /software|llvmpipe|lavapipe|swiftshader|warp/.test(text);
}

/** A one-line description of the adapter for human reports. */
export function describeAdapter(s: AdapterSummary): string {
  const name = s.description || s.device || s.vendor || "unknown adapter";
  return `${name} via ${s.api}${s.software ? " (software)" : ""}`;
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split("\n")[0] ?? "";
}
