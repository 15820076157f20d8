// The page: open a model (file picker, drop, URL or hub repo), show the inspect report and the plan, save the patched
// file, run the kernel check. `?source=<url>&factor=<s>&run=1` runs it all with no clicks and writes one JSON object
// into <pre id="yarnify-result"> (the automation contract, README "Web page"); `&kernel=0` leaves the kernel check out.
// Publishing takes the person's token, a repo, a branch or a pull request, as `yarnify patch --push` does.
import {
  checkKernel,
  computeRope,
  ENGINES_BY_FORMAT,
  type EngineReport,
  type InspectResult,
  type OpenedModel,
  openModel,
  type PatchedModel,
  patchModel,
  type PlanMethod,
  type PlanTarget,
  publishModel,
  sha256Hex,
} from "../src/browser.ts";
import { rampSvg } from "./ramp.ts";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
const num = (x: number) => String(Number(x.toPrecision(6)));

/** Files this size or larger are streamed to disk (File System Access) rather than assembled in memory first. */
const STREAM_TO_DISK_BYTES = 256 * 1024 * 1024;

let model: OpenedModel | undefined;
let patched: PatchedModel | undefined;

/** One line a person can act on: the file and the problem for yarnify's errors, the message otherwise. */
function problemText(err: unknown): string {
  const e = err as { file?: string; problem?: string; message?: string };
  if (e?.problem) return e.file ? `${e.file}: ${e.problem}` : e.problem;
  return String(e?.message ?? err);
}

function showError(err: unknown): void {
  $("error").textContent = problemText(err);
  $("error").classList.add("shown");
  status("");
}

function clearError(): void {
  $("error").textContent = "";
  $("error").classList.remove("shown");
}

function status(text: string): void {
  $("status").textContent = text;
}

/** The engines that load this format (a GGUF: llama.cpp, and transformers and vLLM through their GGUF loaders). */
function enginesTable(engines: Record<string, EngineReport>, format: keyof typeof ENGINES_BY_FORMAT): string {
  const rows = ENGINES_BY_FORMAT[format].map((name) => [name, engines[name]] as const).map(([name, e]) => {
    const agree = e.agrees ? `<span class="pass">agrees</span>` : `<span class="fail">differs</span> (inv_freq ${e.maxInvFreqRelDiff.toExponential(1)})`;
    return `<tr><td>${esc(name)}</td><td>${agree}</td><td>${num(e.attentionFactor)}</td><td>${esc(e.warnings.join("; "))}</td></tr>`;
  });
  return `<table><tr><th>engine</th><th>vs transformers</th><th>attention factor</th><th>notes</th></tr>${rows.join("")}</table>`;
}

function renderInspect(r: InspectResult): void {
  const rope = r.rope;
  const rows: Array<[string, string]> = [
    ["file", `${r.path} (${r.format}, ${r.architecture})`],
    ["method", rope.method + (rope.method === "none" ? "" : ` ×${num(rope.factor)}`)],
    ["context", `${rope.context} declared, ${rope.originalContext} original`],
    ["theta / head dim / rotary dim", `${num(rope.theta)} / ${rope.headDim} / ${rope.rotaryDim}`],
    ["attention factor", num(rope.attentionFactor)],
  ];
  const warn = r.warnings.length ? `<p>${r.warnings.map((w) => `⚠ ${esc(w)}`).join("<br>")}</p>` : "";
  $("inspect").innerHTML = `<table>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("")}</table>${enginesTable(r.engines, r.format)}${warn}`;
  const ctx = $<HTMLInputElement>("context");
  if (!ctx.value) ctx.placeholder = String(rope.originalContext * 4);
}

function target(): PlanTarget {
  const read = (id: string) => {
    const v = $<HTMLInputElement>(id).value.trim();
    return v === "" ? undefined : Number(v);
  };
  const t: PlanTarget = { method: $<HTMLSelectElement>("method").value as PlanMethod };
  if ($<HTMLInputElement>("by-context").checked) t.context = read("context");
  else t.factor = read("factor");
  const betaFast = read("beta-fast");
  const betaSlow = read("beta-slow");
  if (betaFast !== undefined) t.betaFast = betaFast;
  if (betaSlow !== undefined) t.betaSlow = betaSlow;
  return t;
}

/** Plans from the form; a bad number is shown, and nothing can be downloaded until the plan is good again. */
function replan(): PatchedModel | undefined {
  patched = undefined;
  $<HTMLButtonElement>("download").disabled = true;
  $<HTMLButtonElement>("kernel").disabled = true;
  $<HTMLButtonElement>("publish").disabled = true;
  $("plan").textContent = "";
  $("ramp").innerHTML = "";
  $("engines").textContent = "";
  if (!model) return undefined;
  clearError();
  try {
    patched = patchModel(model, target());
  } catch (err) {
    showError(err);
    return undefined;
  }
  const p = patched.plan;
  const rows: Array<[string, string]> = [
    ["method", `${p.method} ×${num(p.factor)}`],
    ["context", `${p.originalContext} → ${p.context} tokens`],
    ["attention factor", num(p.attentionFactor)],
    ...(p.correction ? [["YaRN ramp", `pairs ${num(p.correction.low)} … ${num(p.correction.high)} of ${p.rotaryDim / 2}`] as [string, string]] : []),
    ["output", `${patched.name} (${patched.size.toLocaleString("en")} bytes)`],
  ];
  const warn = patched.warnings.length ? `<p>${patched.warnings.map((w) => `⚠ ${esc(w)}`).join("<br>")}</p>` : "";
  $("plan").innerHTML = `<table>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("")}</table>${warn}`;
  $("ramp").innerHTML = rampSvg(p, computeRope(p.source).invFreq);
  $("engines").innerHTML = enginesTable(patched.engines, model.format);
  $<HTMLButtonElement>("download").disabled = false;
  $<HTMLButtonElement>("kernel").disabled = false;
  $<HTMLButtonElement>("publish").disabled = false;
  return patched;
}

async function open(input: File | string): Promise<void> {
  clearError();
  model = undefined;
  replan();
  $("inspect").textContent = "";
  status(`Reading ${typeof input === "string" ? input : input.name}…`);
  try {
    model = await openModel({ input });
  } catch (err) {
    $("inspect").textContent = "No model open.";
    return showError(err);
  }
  status(`${model.name}: header read (${model.format === "gguf" ? `${model.source.bytesFetched().toLocaleString("en")} bytes` : "config.json"}).`);
  renderInspect(model.inspect);
  replan();
}

type SaveFilePicker = (opts: { suggestedName: string }) => Promise<FileSystemFileHandle>;

/**
 * Saves the patched file. Small files are assembled in memory, then handed to the browser's download in one piece;
 * large ones go to a file the person picks (File System Access), whose writes land only when the stream completes.
 * A failure part-way leaves no file behind in either case.
 */
async function download(): Promise<void> {
  const p = patched;
  if (!p) return;
  clearError();
  const picker = (window as unknown as { showSaveFilePicker?: SaveFilePicker }).showSaveFilePicker;
  try {
    if (picker && p.size >= STREAM_TO_DISK_BYTES) {
      const handle = await picker({ suggestedName: p.name });
      const writable = await handle.createWritable();
      status(`Writing ${p.name}…`);
      // pipeTo aborts the writable on a read error: the original file stays as it was.
      await p.stream().pipeTo(writable);
    } else {
      status(`Building ${p.name}…`);
      const blob = await new Response(p.stream()).blob();
      if (blob.size !== p.size) throw new Error(`${p.name}: built ${blob.size} of ${p.size} bytes; nothing saved`);
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = p.name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
    }
    status(`Saved ${p.name} (${p.size.toLocaleString("en")} bytes).`);
  } catch (err) {
    if ((err as Error)?.name === "AbortError") return status("Save cancelled.");
    showError(err);
  }
}

async function kernel(): Promise<void> {
  const p = patched;
  if (!p) return;
  $("kernel-out").textContent = "Running…";
  try {
    const c = await checkKernel(p.spec);
    $("kernel-out").innerHTML = `<span class="${c.status}">${c.status}</span> ${esc(c.detail)}`;
  } catch (err) {
    $("kernel-out").textContent = "";
    showError(err);
  }
}

/** Publishes the patched file with the token and repo from the form; the commit's URL (or the PR's) is shown. */
async function publish(): Promise<void> {
  const m = model;
  const p = patched;
  if (!m || !p) return;
  clearError();
  const field = (id: string) => $<HTMLInputElement>(id).value.trim();
  const out = $("publish-out");
  out.textContent = "Publishing…";
  try {
    const branch = field("branch");
    const r = await publishModel({
      model: m,
      patched: p,
      accessToken: field("token"),
      repo: field("repo"),
      hubUrl: field("hub").replace(/\/+$/, ""),
      ...(branch && { branch }),
      pr: $<HTMLInputElement>("pr").checked,
      private: $<HTMLInputElement>("private").checked,
    }, (e) => {
      if ("phase" in e) status(`Publishing: ${e.phase}`);
    });
    const url = r.pullRequestUrl ?? r.commitUrl;
    out.innerHTML = `${r.alreadyPublished ? "Already published" : "Published"}: <a id="publish-url" href="${esc(url)}">${esc(url)}</a>`;
    status("");
  } catch (err) {
    out.textContent = "";
    showError(err);
  }
}

/** The automation contract: everything from the query, no clicks, one JSON object in #yarnify-result. */
async function automate(q: URLSearchParams): Promise<void> {
  const result = $("yarnify-result");
  try {
    const source = q.get("source");
    if (!source) throw new Error("run=1 needs source=<url>");
    for (const [key, id] of [["factor", "factor"], ["context", "context"], ["method", "method"], ["betaFast", "beta-fast"], ["betaSlow", "beta-slow"]]) {
      const v = q.get(key);
      if (v !== null) $<HTMLInputElement>(id).value = v;
    }
    if (q.get("context") !== null && q.get("factor") === null) $<HTMLInputElement>("by-context").checked = true;
    $<HTMLInputElement>("source").value = source;
    model = await openModel({ input: source });
    renderInspect(model.inspect);
    const p = patchModel(model, target());
    replan();
    // kernel=0 leaves the check out (a quicker run when only the reading and the plan matter).
    const kernelCheck = q.get("kernel") === "0" ? { status: "skipped", detail: "not run: kernel=0 in the query" } : await checkKernel(p.spec);
    $("kernel-out").innerHTML = `<span class="${kernelCheck.status}">${kernelCheck.status}</span> ${esc(kernelCheck.detail)}`;
    result.textContent = JSON.stringify({
      inspect: model.inspect,
      plan: p.plan,
      ...(p.header && { ggufHeaderSha256: await sha256Hex(p.header) }),
      kernel: { status: kernelCheck.status, detail: kernelCheck.detail },
    });
  } catch (err) {
    showError(err);
    const e = err as { file?: string; problem?: string };
    result.textContent = JSON.stringify({ error: { file: e?.file ?? null, problem: problemText(err) } });
  }
}

function wire(): void {
  $<HTMLInputElement>("file").addEventListener("change", (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) void open(f);
  });
  $("open").addEventListener("click", () => {
    const v = $<HTMLInputElement>("source").value.trim();
    if (v) void open(v);
    else showError("type a URL or a hub repo (org/name), or pick a file");
  });
  const drop = $("drop");
  for (const t of [document.body, drop]) {
    t.addEventListener("dragover", (e) => {
      e.preventDefault();
      drop.classList.add("over");
    });
  }
  document.body.addEventListener("dragleave", () => drop.classList.remove("over"));
  document.body.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const f = e.dataTransfer?.files?.[0];
    if (f) void open(f);
  });
  for (const id of ["factor", "context", "method", "beta-fast", "beta-slow", "by-factor", "by-context"]) $(id).addEventListener("input", () => replan());
  $("download").addEventListener("click", () => void download());
  $("kernel").addEventListener("click", () => void kernel());
  $("publish").addEventListener("click", () => void publish());
}

wire();
const query = new URLSearchParams(location.search);
if (query.get("run") === "1") void automate(query);
else if (query.get("source")) void open(query.get("source")!);
