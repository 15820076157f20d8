// Human-readable renderings of results; `--json` prints the objects themselves.
import { ENGINES_BY_FORMAT, type EngineReport } from "./core/engine-compare.ts";
import type { RuntimeFlags } from "./flags.ts";
import type { InspectResult } from "./inspect.ts";
import type { MropeReport } from "./core/rope/engines/mrope.ts";
import type { RopeTensorSummary } from "../converters/gguf/inspect.ts";
import type { FitReport, SlidingReport } from "./core/fit.ts";
import type { PatchResult } from "./patch.ts";
import type { EngineName, FrequencyBands, ModelFormat, Plan } from "./core/types.ts";
import type { Report } from "./validate/report.ts";

const ENGINE_LABEL: Record<EngineName, string> = {
  transformers: "transformers",
  llamacpp: "llama.cpp",
  vllm: "vLLM",
  ortGenai: "ONNX Runtime GenAI",
  mlx: "mlx-lm",
};

const METHOD_LABEL: Record<string, string> = {
  none: "plain RoPE (no scaling)",
  linear: "linear (position interpolation)",
  ntk: "NTK-aware",
  dynamic: "dynamic NTK",
  yarn: "YaRN",
  "dynamic-yarn": "dynamic YaRN",
  llama3: "Llama 3",
  longrope: "LongRoPE",
  proportional: "proportional (Gemma 4 full attention)",
};

const fmt = (n: number, digits = 6) => String(Number(n.toPrecision(digits)));
const row = (label: string, value: string) => `  ${label.padEnd(18)}${value}`;
const range = ([a, b]: [number, number]) => (b - a === 0 ? "none" : b - a === 1 ? `pair ${a}` : `pairs ${a}–${b - 1}`);

export function bandsText(bands: FrequencyBands, factor: number): string {
  return `${range(bands.extrapolated)} extrapolated (trained frequency), ${range(bands.ramped)} ramped, ${range(bands.interpolated)} interpolated (÷${fmt(factor)})`;
}

const names = (engines: readonly EngineName[]) => engines.map((e) => ENGINE_LABEL[e]).join(", ");

/** The M-RoPE line: the sections, and which engines apply the scaling on them (src/core/rope/engines/mrope.ts). */
function mropeText(m: MropeReport | undefined): string[] {
  if (!m) return [];
  const layout = `sections ${m.section.join("/")}${m.interleaved ? " (interleaved)" : ""}`;
  if (m.scaling === "none") return [row("M-RoPE", layout)];
  const lines = [row("M-RoPE", `${layout}; ${METHOD_LABEL[m.scaling] ?? m.scaling} applied by ${names(m.applies) || "none"}`)];
  if (m.ignores.length) lines.push(row("", `ignored by ${names(m.ignores)} (plain RoPE there)`));
  return lines;
}

/** The sliding-window layers and whether the scaling reaches them (src/core/fit.ts slidingReport). */
function slidingText(s: SlidingReport | undefined): string[] {
  if (!s) return [];
  const how = s.rope === "plain"
    ? `their own plain RoPE (theta ${fmt(s.theta ?? 0, 12)}): the scaling reaches only the full-attention layers`
    : s.rope === "shared"
    ? `the model's RoPE${s.scaling && s.scaling !== "none" ? `, ${METHOD_LABEL[s.scaling] ?? s.scaling} included` : ""}`
    : "how they rotate is not modelled for this family";
  return [row("sliding layers", `${s.layers} of ${s.of} (window ${s.window}): ${how}`)];
}

const bytesText = (n: number) => (n >= 2 ** 30 ? `${fmt(n / 2 ** 30, 3)} GiB` : n >= 2 ** 20 ? `${fmt(n / 2 ** 20, 3)} MiB` : `${fmt(n / 1024, 3)} KiB`);

/** Weights and the KV cache per engine, engines with the same figures on one line. */
function fitText(f: FitReport | undefined): string[] {
  if (!f) return [];
  const lines: string[] = [];
  if (f.weights) lines.push(row("weights", `${bytesText(f.weights.bytes)} (${f.weights.source === "estimate" ? "estimate from " : ""}${f.weights.note ?? f.weights.source})`));
  const groups = new Map<string, { engines: EngineName[]; text: string }>();
  for (const r of f.kvCache) {
    const text = `${bytesText(r.f16)} f16, ${bytesText(r.q8_0)} q8_0${r.slidingTokens === null ? "" : ` (sliding layers hold ${r.slidingTokens})`}`;
    const g = groups.get(text) ?? { engines: [], text };
    g.engines.push(r.engine);
    groups.set(text, g);
  }
  [...groups.values()].forEach((g, i) => lines.push(row(i === 0 ? `KV cache @${f.context}` : "", `${g.text}: ${names(g.engines)}`)));
  return lines;
}

function enginesText(engines: Record<EngineName, EngineReport>, format: ModelFormat): string[] {
  const names = ENGINES_BY_FORMAT[format];
  if (!names.length) return [];
  const agree = names.filter((e) => engines[e].agrees).map((e) => ENGINE_LABEL[e]);
  const differ = names.filter((e) => !engines[e].agrees).map((e) => ENGINE_LABEL[e]);
  const lines = [row("engines agreeing", agree.join(", ") || "none")];
  if (differ.length) lines.push(row("engines differing", `${differ.join(", ")} (see warnings)`));
  return lines;
}

/** A GGUF's frequency tensors (converters/gguf/inspect.ts), one line each. */
function ropeTensorText(r: InspectResult): string[] {
  const tensors = (r.details?.["ropeTensors"] ?? []) as RopeTensorSummary[];
  const label = METHOD_LABEL[r.rope.method] ?? r.rope.method;
  const held = r.rope.method === "llama3" || r.rope.method === "longrope";
  const role = {
    neutral: "all ones (no effect)",
    scaling: held ? `holds the ${label} scaling above` : `llama.cpp divides every frequency by it on top of the ${label} keys`,
    unknown: "unrecognised divisors (see warnings)",
  };
  return tensors.map((t, i) => row(i === 0 ? "rope tensors" : "", `${t.name} ${t.type}[${t.values.length}]: ${role[t.role]}`));
}

export function inspectText(r: InspectResult): string {
  const p = r.rope;
  const lines = [`${r.path}: ${r.format}, ${r.architecture}`, row("RoPE", METHOD_LABEL[p.method] ?? p.method)];
  lines.push(row("theta", fmt(p.theta, 12)));
  lines.push(row("head dim", `${p.headDim} (rotary ${p.rotaryDim}${p.rotaryDim === p.headDim ? ", all" : ""})`));
  if (p.method === "none") lines.push(row("context", `${p.context} tokens`));
  else lines.push(row("context", `${p.context} tokens (original ${p.originalContext}, factor ${fmt(p.factor)})`));
  if (p.betaFast !== null) lines.push(row("beta fast/slow", `${p.betaFast} / ${p.betaSlow}${p.truncate === false ? " (truncate: false)" : ""}`));
  lines.push(row("attention factor", fmt(p.attentionFactor, 10)));
  if (p.softmaxScaleFactor !== null) lines.push(row("softmax scale", `× ${fmt(p.softmaxScaleFactor, 10)} (mscale_all_dim², applied in attention)`));
  lines.push(...ropeTensorText(r));
  lines.push(...mropeText(r.mrope));
  lines.push(...slidingText(r.sliding));
  lines.push(...fitText(r.fit));
  lines.push(...enginesText(r.engines, r.format));
  return lines.join("\n");
}

function planLines(plan: Plan): string[] {
  const lines = [
    row("method", METHOD_LABEL[plan.method] ?? plan.method),
    row("factor", `${fmt(plan.factor)} (${plan.originalContext} → ${plan.context} tokens)`),
    row("context", `${plan.previousContext} → ${plan.context} tokens${plan.context <= plan.previousContext ? " (shrinks)" : ""}`),
  ];
  if (plan.correction && plan.bands) {
    const c = plan.correction;
    lines.push(row("correction range", `low ${fmt(c.low)} (beta_fast ${plan.scaling.betaFast}), high ${fmt(c.high)} (beta_slow ${plan.scaling.betaSlow})`));
    lines.push(row("", bandsText(plan.bands, plan.factor)));
  }
  if (plan.theta !== plan.source.theta) lines.push(row("theta", `${fmt(plan.source.theta, 12)} → ${fmt(plan.theta, 12)}`));
  lines.push(row("attention factor", fmt(plan.attentionFactor, 10)));
  return lines;
}

export function patchText(r: PatchResult): string {
  const head = r.dryRun ? `Dry run: ${r.source} → ${r.out} (nothing written)` : `Patched ${r.source} → ${r.out}`;
  const lines = [head, ...planLines(r.plan)];
  const written = r.files.filter((f) => f.how === "written").map((f) => f.path);
  const carried = r.files.filter((f) => f.how !== "written");
  lines.push(row(r.dryRun ? "would write" : "files written", written.join(", ")));
  if (carried.length) {
    const how = [...new Set(carried.map((f) => f.how))].join("/");
    lines.push(row("carried over", `${carried.length} unchanged file${carried.length > 1 ? "s" : ""} (${how})`));
  }
  lines.push(...mropeText(r.mrope));
  lines.push(...slidingText(r.sliding));
  lines.push(...fitText(r.fit));
  lines.push(...enginesText(r.engines, r.format));
  return lines.join("\n");
}

export function flagsText(f: RuntimeFlags): string {
  const lines: string[] = [];
  const block = (name: string, e: RuntimeFlags["llamacpp"]) => {
    if (!e) return;
    lines.push(`# ${name}`);
    const env = Object.entries(e.env).map(([k, v]) => `${k}=${v} `).join("");
    lines.push(env + e.command);
    for (const n of e.notes) lines.push(`#   ${n}`);
  };
  block("llama.cpp", f.llamacpp);
  block("vLLM", f.vllm);
  block("SGLang", f.sglang);
  for (const u of f.unsupported) lines.push(`# ${u}`);
  return lines.join("\n");
}

export function validateText(r: Report): string {
  const a = r.adapter;
  const lines = [
    `Validation of ${r.model}: ${r.ok ? "OK" : "FAILED"}`,
    row("adapter", a ? `${a.description || a.device || a.vendor} (${a.api}${a.software ? ", software" : ""})` : "none (CPU reference only)"),
  ];
  for (const c of r.checks) lines.push(`  ${c.status.toUpperCase().padEnd(8)}${c.name}: ${c.detail}`);
  return lines.join("\n");
}
