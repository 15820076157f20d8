// Options that several commands share, declared once as data, and the one place where option text becomes numbers.
import { YarnifyError } from "../core/errors.ts";

export interface OptionSpec {
  /** cac's flag syntax: "--factor <s>", "--no-verify". */
  flags: string;
  description: string;
  default?: string | number;
}

export const JSON_OPTION: OptionSpec = { flags: "--json", description: "Print one JSON object" };

/** Where a model's RoPE is when the file alone does not say (ONNX graphs). */
export const FORMAT_OPTIONS: OptionSpec[] = [
  { flags: "--tensor <name>", description: "ONNX: the inv_freq or cos/sin cache to use when several disagree" },
  { flags: "--original-context <tokens>", description: "Trained context, when the file's is not it (Qwen3: 32768) or it has none (ONNX)" },
  { flags: "--timeout <seconds>", description: "A GGUF URL: seconds without data before a request is retried (twice), then given up (default 30)" },
];

export const HUB_OPTIONS: OptionSpec[] = [
  { flags: "--token <token>", description: "Hugging Face token (default: $HF_TOKEN, else the one `hf auth login` saved)" },
  { flags: "--hub-url <url>", description: "Hub endpoint (default: $HF_ENDPOINT or https://huggingface.co)" },
  { flags: "--cache-dir <dir>", description: "Hugging Face cache, shared with `hf` (default: $HF_HUB_CACHE or $HF_HOME/hub, ~/.cache/huggingface/hub)" },
];

/** The options of a command whose argument may be a hub source (org/name[@rev][/file.gguf]). */
export const HUB_SOURCE_OPTIONS: OptionSpec[] = [
  { flags: "--revision <rev>", description: "Hub source: branch, tag, commit or refs/pr/N (as org/name@rev)" },
  ...HUB_OPTIONS,
];

export interface FormatOptionValues {
  tensor?: unknown;
  originalContext?: unknown;
  timeout?: unknown;
}

export interface HubOptionValues {
  token?: string;
  hubUrl?: string;
  cacheDir?: string;
}

export interface HubSourceOptionValues extends HubOptionValues {
  revision?: string;
}

/**
 * A numeric option as the library takes it. cac turns numeric text into numbers; other text is passed on as it
 * is, so the planner names the bad value with the option it came from ("factor must be a number, got four").
 */
export function numberOption(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "number") return v;
  const n = Number(v);
  return Number.isNaN(n) ? (v as number) : n;
}

/** Option text as a number; empty text is not zero but NaN. */
const asNumber = (v: unknown): number => (typeof v === "number" ? v : Number(String(v).trim() === "" ? Number.NaN : v));

/** A whole number ≥ `min` (counts such as --concurrency, --docs); anything else is refused, naming the option. */
export function wholeNumber(v: unknown, option: string, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = asNumber(v);
  if (!Number.isInteger(n) || n < min) throw new YarnifyError(option, `"${String(v)}" is not a whole number ≥ ${min}`);
  return n;
}

/** "256,512,1024" as token counts, each a whole number ≥ 2. */
export function contextList(v: unknown, option: string): number[] {
  return wordList(v).map((c) => wholeNumber(c, option, 2)!);
}

/** The comma-separated words of a list option. */
export function wordList(v: unknown): string[] {
  return String(v).split(",").map((s) => s.trim()).filter(Boolean);
}

/**
 * Seconds as a positive, finite number (--timeout); anything else is refused, naming the option.
 *
 * @example
 * seconds("2.5", "--timeout"); // 2.5
 */
export function seconds(v: unknown, option: string): number {
  const n = asNumber(v);
  if (!Number.isFinite(n) || n <= 0) throw new YarnifyError(option, `"${String(v)}" is not a number of seconds above 0`);
  return n;
}

/** The converter options a format flag carries. */
export function formatOptions(o: FormatOptionValues): { tensor?: string; originalContext?: number; timeoutMs?: number } {
  return {
    ...(o.tensor !== undefined && { tensor: String(o.tensor) }),
    ...(o.originalContext !== undefined && { originalContext: numberOption(o.originalContext) }),
    ...(o.timeout !== undefined && { timeoutMs: Math.round(seconds(o.timeout, "--timeout") * 1000) }),
  };
}
