// What the browser page does with a model, without the page: open a GGUF or config.json (a File, bytes, a URL, a hub
// repo), plan, build the patched file (a config.json's text; a GGUF's new header, then its tensor data streamed) and
// run the kernel check on the browser's GPU. Every step is the CLI's own function; nothing here imports Node.
import { buildPatchedHeader } from "../converters/gguf/header.ts";
import { applyPlan } from "../converters/gguf/apply-plan.ts";
import { type ByteSource, type BytesLike, openBytesSource, openRemoteSource } from "../converters/gguf/byte-source.ts";
import { GGUF_MAGIC } from "../converters/gguf/header-extent.ts";
import { type GgufModelInfo, readGgufModelInfo } from "../converters/gguf/model-info.ts";
import { patchedGgufStream, patchedSize } from "../converters/gguf/stream.ts";
import { findGpu, type Gpu } from "../kernels/gpu.ts";
import type { Check } from "./core/converter.ts";
import type { EngineReport } from "./core/engine-compare.ts";
import { ModelFormatError } from "./core/errors.ts";
import { type HfConfig, hfModelInfo, interpretHfConfig, parseHfConfigText } from "./core/hf-config/parse.ts";
import { patchedConfigText } from "./core/hf-config/write.ts";
import { MAX_CONFIG_BYTES, parseJsonText } from "./core/hf-config/json-text.ts";
import { plan as makePlan } from "./core/plan.ts";
import { computeRope } from "./core/rope/compute.ts";
import type { RopeSpec } from "./core/rope/types.ts";
import type { EngineName, Plan, PlanTarget } from "./core/types.ts";
import { engineReports, formatFit, inspectReport, type InspectResult } from "./inspect-report.ts";
import { kernelCheck, kernelProblem } from "./validate/kernel-check.ts";
import { ggufHeaderEdit } from "./hub/gguf-header-edit.ts";
import { HubPublishError } from "./hub/errors.ts";
import type { HubParams } from "./hub/hub-settings.ts";
import { commitMessageFor } from "./hub/model-card.ts";
import { publishIter, type PublishEvent, type PublishOperation, type PublishResult } from "./hub/publish.ts";
import { drain } from "./core/drain.ts";

/** A model to open: a File or bytes, an http(s) URL, or a hub id ("org/name" for its config.json, "org/name/x.gguf"). */
export type ModelInput = BytesLike | string;

/** How to reach a URL or the hub: the fetch to use, headers (Authorization), the hub's address. */
export interface OpenModelParams {
  input: ModelInput;
  /** The name reports use (a File's own name by default). */
  name?: string;
  fetch?: typeof fetch;
  headers?: Record<string, string>;
  /** The hub a hub id is resolved against (default https://huggingface.co). */
  hubUrl?: string;
  abortSignal?: AbortSignal;
}

export type OpenedModel =
  | { format: "gguf"; name: string; info: GgufModelInfo; source: ByteSource; inspect: InspectResult; file?: Blob }
  | { format: "hf"; name: string; info: ReturnType<typeof hfModelInfo>; config: HfConfig; text: string; inspect: InspectResult };

const HUB_ID = /^[\w.-]+\/[\w.-]+(\/.+)?$/;

/**
 * The URL a string names: itself, or a hub id's resolve URL on the main revision.
 *
 * @example
 * modelUrl("org/name"); // "https://huggingface.co/org/name/resolve/main/config.json"
 */
export function modelUrl(input: string, hubUrl = "https://huggingface.co"): string {
  const s = input.trim();
  if (/^https?:\/\//i.test(s)) return s;
  if (!HUB_ID.test(s)) throw new ModelFormatError(s, "not a URL or a hub id (org/name, or org/name/file.gguf)");
  const [org, name, ...path] = s.split("/");
  const file = path.length ? path.join("/") : "config.json";
  return `${hubUrl}/${org}/${name}/resolve/main/${file.split("/").map(encodeURIComponent).join("/")}`;
}

async function startsWithGgufMagic(source: ByteSource): Promise<boolean> {
  const head = new Uint8Array(4);
  const n = await source.readAt(head, 0);
  return n === 4 && new DataView(head.buffer).getUint32(0, true) === GGUF_MAGIC;
}

async function openGguf(source: ByteSource, name: string, file?: Blob): Promise<OpenedModel> {
  const info = await readGgufModelInfo(source, name);
  return { format: "gguf", name, info, source, inspect: inspectReport(info, formatFit(info, info.spec.context)), ...(file && { file }) };
}

function openConfig(text: string, name: string): OpenedModel {
  const config = parseHfConfigText(name, text);
  const info = hfModelInfo(config, name);
  return { format: "hf", name, info, config, text, inspect: inspectReport(info, formatFit(info, info.spec.context)) };
}

/**
 * Opens a GGUF (its header only: a URL is read with Range requests, a File slice by slice) or a config.json, and
 * inspects it as `yarnify inspect --json` does.
 *
 * @example
 * const model = await openModel({ input: fileInput.files[0] });
 * console.log(model.inspect.rope.originalContext);
 */
export async function openModel(params: OpenModelParams): Promise<OpenedModel> {
  const { input } = params;
  if (typeof input !== "string") {
    const name = params.name ?? (input instanceof Blob && "name" in input ? String(input.name) : "model");
    const source = openBytesSource(input, name);
    if (await startsWithGgufMagic(source)) return openGguf(source, name, input instanceof Blob ? input : new Blob([input as BlobPart]));
    const size = source.size() ?? 0;
    if (size > MAX_CONFIG_BYTES) throw new ModelFormatError(name, `neither a GGUF (no GGUF magic) nor a config.json (${size} bytes)`);
    const bytes = new Uint8Array(size);
    await source.readAt(bytes, 0);
    return openConfig(new TextDecoder().decode(bytes), name);
  }
  const url = modelUrl(input, params.hubUrl);
  const name = params.name ?? decodeURIComponent(new URL(url).pathname.split("/").pop() || url);
  const reach = { ...(params.fetch && { fetch: params.fetch }), ...(params.headers && { headers: params.headers }) };
  if (/\.gguf$/i.test(new URL(url).pathname)) return openGguf(openRemoteSource(url, reach), name);
  const res = await (params.fetch ?? fetch)(url, { ...(params.headers && { headers: params.headers }), ...(params.abortSignal && { signal: params.abortSignal }) });
  if (!res.ok) throw new ModelFormatError(url, `HTTP ${res.status} ${res.statusText}`.trim());
  const text = await res.text();
  if (text.length > MAX_CONFIG_BYTES) throw new ModelFormatError(url, `over ${MAX_CONFIG_BYTES} bytes: not a config.json`);
  return openConfig(text, name);
}

/** A patched model, ready to save: its plan, what engines will read, and the new file's bytes on demand. */
export interface PatchedModel {
  plan: Plan;
  /** The output file's name and size. */
  name: string;
  size: number;
  /** The new file, front to back (for a GGUF: the new header, then the source's tensor data). */
  stream(abortSignal?: AbortSignal): ReadableStream<Uint8Array>;
  /** GGUF: the new header, padding included (every byte before the tensor data). */
  header?: Uint8Array;
  /** GGUF: tensors rewritten in the data (rope_freqs), which a header-only publish cannot carry. */
  rewrittenTensors: string[];
  /** The patched model's RoPE as read back from the new file (what the kernel check uses). */
  spec: RopeSpec;
  engines: Record<EngineName, EngineReport>;
  diff: string;
  warnings: string[];
}

const outName = (name: string, context: number, ext: string) => `${name.replace(/\.(gguf|json)$/i, "")}-yarn-${context}${ext}`;

/**
 * Plans the extension and builds the patched file as `yarnify patch` does (same planner, same header or config.json
 * writer); nothing is read beyond the header until `stream()` is consumed.
 *
 * @example
 * const patched = patchModel(model, { factor: 4 });
 * await patched.stream().pipeTo(await (await showSaveFilePicker()).createWritable());
 */
export function patchModel(model: OpenedModel, target: PlanTarget): PatchedModel {
  const p = makePlan(model.info.spec, target, { file: model.name, family: model.info.stored.architecture });
  if (model.format === "hf") {
    const text = patchedConfigText(model.config, p);
    const bytes = new TextEncoder().encode(text);
    const after = interpretHfConfig(model.name, parseJsonText(text));
    const { engines, warnings } = engineReports(after.stored, "hf");
    return {
      plan: p,
      name: "config.json",
      size: bytes.length,
      stream: () => new Blob([bytes]).stream(),
      rewrittenTensors: [],
      spec: after.spec,
      engines,
      diff: "",
      warnings: [...p.warnings, ...warnings],
    };
  }
  const { header, freqTensors } = model.info;
  const applied = applyPlan(header, freqTensors, p, model.name);
  const newHeader = buildPatchedHeader(header, applied.planned.entries);
  const { engines, warnings } = engineReports(applied.stored, "gguf");
  const source = model.source;
  return {
    plan: p,
    name: outName(model.name, p.context, ".gguf"),
    size: patchedSize({ source, header, newHeader }),
    stream: (abortSignal) => patchedGgufStream({ source, header, newHeader, tensors: applied.planned.tensors, ...(abortSignal && { abortSignal }) }),
    header: newHeader,
    rewrittenTensors: applied.planned.tensors.map((t) => t.name),
    spec: applied.spec,
    engines,
    diff: applied.diff,
    warnings: [...p.warnings, ...applied.planned.warnings, ...warnings],
  };
}

/**
 * The kernel check of `yarnify validate` on this browser's GPU (navigator.gpu): the fused WebGPU attention with the
 * patched model's frequencies against the float64 reference. No WebGPU: a skipped check saying so.
 *
 * @example
 * const check = await checkKernel(patched.spec);
 * console.log(check.status, check.detail);
 */
export async function checkKernel(spec: RopeSpec): Promise<Check> {
  const problem = kernelProblem(spec, computeRope(spec), spec.context);
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (!nav?.gpu) return kernelCheck(null, problem, "this browser exposes no WebGPU (navigator.gpu)");
  const gpu = await findGpu({ navigator: nav });
  const usable: Gpu | null = gpu instanceof Error ? null : gpu;
  try {
    return await kernelCheck(usable, problem, gpu instanceof Error ? gpu.message : undefined);
  } finally {
    usable?.release();
  }
}

/** Where and how the page publishes: the CLI's choices (a new repo or the source's, a branch, a pull request). */
export interface PublishModelParams extends HubParams {
  model: OpenedModel;
  patched: PatchedModel;
  /** Target repo "org/name"; created (public unless `private`) when missing. */
  repo: string;
  branch?: string;
  /** Open a pull request instead of committing. */
  pr?: boolean;
  private?: boolean;
  /** The commit's title; yarnify's, naming the change, by default. */
  commitMessage?: string;
}

/**
 * Publishes a patched model with the person's token as the CLI does: a GGUF as a header-only edit of the original
 * (over xet only the chunks holding changed bytes travel; the file keeps its name), a config.json as a commit of the
 * new file. The GGUF must have been opened from a File or bytes (the edit needs the original's bytes to chunk).
 *
 * @example
 * const r = await publishModel({ model, patched, repo: "me/tiny-yarn", accessToken: token.value, pr: false });
 * console.log(r.commitUrl);
 */
export async function* publishModelIter(params: PublishModelParams): AsyncGenerator<PublishEvent, PublishResult> {
  const { model, patched, ...rest } = params;
  let operation: PublishOperation;
  if (model.format === "gguf") {
    if (!model.file || !patched.header) throw new HubPublishError(params.repo, `${model.name}: publishing a GGUF needs the file itself (open it from disk), not a URL`);
    if (patched.rewrittenTensors.length) {
      throw new HubPublishError(params.repo, `${model.name}: ${patched.rewrittenTensors.join(", ")} must be rewritten in the tensor data, which a header edit cannot do: save the file and publish it with yarnify patch <file>.gguf --push <repo>`);
    }
    operation = ggufHeaderEdit({ path: model.name, original: model.file, header: patched.header, replaces: model.info.header.dataOffset });
  } else {
    operation = { kind: "file", path: "config.json", content: new Blob([await new Response(patched.stream()).arrayBuffer()]) };
  }
  const message = commitMessageFor(patched.plan, model.format, model.name);
  return yield* publishIter({
    ...rest,
    operations: [operation],
    title: params.commitMessage ?? message.title,
    description: model.format === "gguf" ? message.description.replace("Weights unchanged.", "Header only; tensor data unchanged.") : message.description,
  });
}

/**
 * publishModelIter drained: `onEvent` sees each progress event.
 *
 * @example
 * await publishModel({ model, patched, repo: "me/tiny-yarn", accessToken }, (e) => console.log(e));
 */
export function publishModel(params: PublishModelParams, onEvent?: (e: PublishEvent) => void): Promise<PublishResult> {
  return drain(publishModelIter(params), onEvent);
}
