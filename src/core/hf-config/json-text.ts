// JSON that round-trips byte for byte: the literal text of every scalar not written the canonical way is remembered,
// so a value we do not change keeps its exact spelling (10000.0 stays 10000.0, 1e-05 stays 1e-05) when written back.
// Hostile text ends in one JsonSyntaxError: nesting is capped, keys are never prototype members, duplicates refused.
import { ModelFormatError } from "../errors.ts";
import type { JsonObject } from "../rope/hf-params.ts";

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * The literal text of the scalars whose text is not what JSON.stringify would write (10000.0, 1e-05, "\u00e9"),
 * kept per container of the parsed tree, so a rewrite keeps their spelling. A scalar written the canonical way is not
 * stored: the writer finds it unchanged by walking the parsed tree (`root`) beside the one it writes.
 */
export interface JsonLiterals {
  root: JsonValue;
  byContainer: Map<object, Map<string, string>>;
}

export interface ParsedJson {
  /** The value; objects have no prototype, so keys such as "__proto__" or "constructor" are plain data. */
  value: JsonValue;
  literals: JsonLiterals;
  /** Whether the text ended with a newline. */
  trailingNewline: boolean;
}

export class JsonSyntaxError extends ModelFormatError {
  override name = "JsonSyntaxError";
}

/** Deeper nesting than any config has; refused before it can exhaust a runtime's stack. */
/** The largest config-like JSON file read (published config.json files are under 100 KB). */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

export const MAX_JSON_DEPTH = 1000;

const WS = /[ \t\r\n]*/y;
const SCALAR = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null|NaN|-?Infinity/y;

/** The text JSON.stringify (Python's json for NaN and the infinities) writes for a scalar. */
function canonical(v: JsonValue): string {
  return typeof v === "number" ? pythonNumber(v) : JSON.stringify(v);
}

/** A new object without a prototype: "__proto__", "constructor", "toString" are ordinary keys in it. */
export function bareObject(): { [key: string]: JsonValue } {
  return Object.create(null) as { [key: string]: JsonValue };
}

/**
 * Parse JSON text (plus Python's NaN and Infinity), keeping each non-canonical scalar's literal text. Objects are
 * prototype-free; a key given twice and nesting deeper than MAX_JSON_DEPTH are refused (JsonSyntaxError).
 */
export function parseJsonText(text: string): ParsedJson {
  const byContainer = new Map<object, Map<string, string>>();
  let i = 0;
  const ws = () => {
    WS.lastIndex = i;
    WS.exec(text);
    i = WS.lastIndex;
  };
  const lineAt = (at: number) => {
    let line = 1;
    for (let k = text.indexOf("\n"); k !== -1 && k < at; k = text.indexOf("\n", k + 1)) line++;
    return line;
  };
  const fail = (what: string): never => {
    throw new JsonSyntaxError(undefined, `invalid JSON at line ${lineAt(i)}: ${what}`);
  };
  const remember = (container: object, key: string, literal: string, v: JsonValue) => {
    if (literal === canonical(v)) return;
    let m = byContainer.get(container);
    if (!m) byContainer.set(container, (m = new Map()));
    m.set(key, literal);
  };
  // A string scanned by hand: a regex over a string of millions of escapes could exhaust the regex engine's stack.
  const string = (): string => {
    if (text.charCodeAt(i) !== 0x22) fail("expected a string");
    const start = i;
    let escaped = false;
    for (i++; ; i++) {
      if (i >= text.length) fail("unterminated string");
      const c = text.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) fail("control character in a string");
      if (c === 0x5c) {
        escaped = true;
        const e = text[i + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail("invalid \\u escape");
          i += 5;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
        else fail("invalid escape");
      }
    }
    i++;
    return escaped ? (JSON.parse(text.slice(start, i)) as string) : text.slice(start + 1, i - 1);
  };
  // Returns the value and, for a scalar, its literal text.
  const value = (depth: number): [JsonValue, string | undefined] => {
    ws();
    const c = text[i];
    if (c === "{" || c === "[") {
      if (depth >= MAX_JSON_DEPTH) fail(`nested deeper than ${MAX_JSON_DEPTH} levels`);
      i++;
      ws();
      if (c === "{") {
        const obj = bareObject();
        if (text[i] === "}") return i++, [obj, undefined];
        for (;;) {
          ws();
          if (text[i] !== '"') fail("expected a key");
          const keyAt = i;
          const key = string();
          if (Object.hasOwn(obj, key)) {
            i = keyAt;
            fail(`duplicated key ${JSON.stringify(key.length > 60 ? key.slice(0, 60) + "…" : key)} (readers disagree on which one counts)`);
          }
          ws();
          if (text[i] !== ":") fail("expected ':'");
          i++;
          const [v, lit] = value(depth + 1);
          obj[key] = v;
          if (lit !== undefined) remember(obj, key, lit, v);
          ws();
          if (text[i] === ",") i++;
          else if (text[i] === "}") return i++, [obj, undefined];
          else fail("expected ',' or '}'");
        }
      }
      const arr: JsonValue[] = [];
      if (text[i] === "]") return i++, [arr, undefined];
      for (;;) {
        const [v, lit] = value(depth + 1);
        if (lit !== undefined) remember(arr, String(arr.length), lit, v);
        arr.push(v);
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "]") return i++, [arr, undefined];
        else fail("expected ',' or ']'");
      }
    }
    if (c === '"') {
      const start = i;
      const s = string();
      return [s, text.slice(start, i)];
    }
    SCALAR.lastIndex = i;
    const m = SCALAR.exec(text);
    if (!m) return fail(i >= text.length ? "unexpected end of text" : "unexpected character");
    i = SCALAR.lastIndex;
    const lit = m[0];
    if (lit === "true" || lit === "false") return [lit === "true", lit];
    if (lit === "null") return [null, lit];
    if (lit === "NaN") return [Number.NaN, lit];
    if (lit.endsWith("Infinity")) return [lit.startsWith("-") ? -Infinity : Infinity, lit];
    return [Number(lit), lit];
  };
  const [root] = value(0);
  ws();
  if (i !== text.length) fail("trailing characters");
  return { value: root, literals: { root, byContainer }, trailingNewline: text.endsWith("\n") };
}

/** Python's repr of a float, which config writers use for float-typed keys (4 → 4.0). */
function pythonFloat(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? "NaN" : n > 0 ? "Infinity" : "-Infinity";
  const s = String(n);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/**
 * Serialise with 2-space indentation (Python's json.dumps(indent=2) layout). A scalar the parsed tree (`literals`)
 * has unchanged at the same place keeps its literal text; new numbers under a key in `floatKeys` are written as
 * Python floats.
 */
export function stringifyJsonText(
  value: JsonValue,
  opts: { literals?: JsonLiterals; floatKeys?: ReadonlySet<string>; trailingNewline?: boolean } = {},
): string {
  const byContainer = opts.literals?.byContainer;
  const floatKeys = opts.floatKeys ?? new Set<string>();
  // `was` is the container of the parsed tree at the same place as `v`'s container, when there is one.
  const child = (was: unknown, key: string): unknown =>
    was !== null && typeof was === "object" && Object.hasOwn(was, key) ? (was as Record<string, unknown>)[key] : undefined;
  const write = (v: JsonValue, key: string, was: unknown, wasParent: unknown, indent: string): string => {
    if (Array.isArray(v)) {
      if (v.length === 0) return "[]";
      const inner = indent + "  ";
      const old = Array.isArray(was) ? was : undefined;
      return `[\n${v.map((x, k) => inner + write(x, String(k), child(old, String(k)), old, inner)).join(",\n")}\n${indent}]`;
    }
    if (v !== null && typeof v === "object") {
      const keys = Object.keys(v);
      if (keys.length === 0) return "{}";
      const inner = indent + "  ";
      const old = was !== null && typeof was === "object" && !Array.isArray(was) ? was : undefined;
      return `{\n${keys.map((k) => `${inner}${JSON.stringify(k)}: ${write(v[k], k, child(old, k), old, inner)}`).join(",\n")}\n${indent}}`;
    }
    if (wasParent !== undefined && sameScalar(was, v)) {
      return byContainer?.get(wasParent as object)?.get(key) ?? canonical(v);
    }
    if (typeof v === "number") return floatKeys.has(key) ? pythonFloat(v) : pythonNumber(v);
    return JSON.stringify(v);
  };
  return write(value, "", opts.literals?.root, undefined, "") + (opts.trailingNewline === false ? "" : "\n");
}

function pythonNumber(n: number): string {
  return Number.isFinite(n) ? JSON.stringify(n) : pythonFloat(n);
}

/** The same scalar (NaN equals NaN; 0 and -0 differ, as their texts do). */
function sameScalar(was: unknown, v: JsonValue): boolean {
  return (was === null || typeof was !== "object") && Object.is(was, v);
}

export const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === "object" && !Array.isArray(v);
