// JSON that round-trips byte for byte: the literal text of every scalar is remembered by its path, so a value
// we do not change keeps its exact spelling (10000.0 stays 10000.0, 1e-05 stays 1e-05) when written back.
import { ModelFormatError } from "../errors.ts";
import type { JsonObject } from "../rope/hf-params.ts";

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface ParsedJson {
  value: JsonValue;
  /** Literal text of each scalar, keyed by its path (keys joined by "\u0000"). */
  literals: Map<string, string>;
  /** Whether the text ended with a newline. */
  trailingNewline: boolean;
}

export class JsonSyntaxError extends ModelFormatError {
  override name = "JsonSyntaxError";
}

export function parseJsonText(text: string): ParsedJson {
  const literals = new Map<string, string>();
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\r\n".includes(text[i])) i++;
  };
  const fail = (what: string): never => {
    const line = text.slice(0, i).split("\n").length;
    throw new JsonSyntaxError(undefined, `invalid JSON at line ${line}: ${what}`);
  };
  const value = (path: string[]): JsonValue => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const obj: { [key: string]: JsonValue } = {};
      ws();
      if (text[i] === "}") return i++, obj;
      for (;;) {
        ws();
        if (text[i] !== '"') fail("expected a key");
        const key = scalar(path) as string;
        ws();
        if (text[i] !== ":") fail("expected ':'");
        i++;
        obj[key] = value([...path, key]);
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "}") return i++, obj;
        else fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      i++;
      const arr: JsonValue[] = [];
      ws();
      if (text[i] === "]") return i++, arr;
      for (;;) {
        arr.push(value([...path, String(arr.length)]));
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "]") return i++, arr;
        else fail("expected ',' or ']'");
      }
    }
    const start = i;
    const v = scalar(path);
    literals.set(path.join("\u0000"), text.slice(start, i));
    return v;
  };
  const scalar = (_path: string[]): JsonValue => {
    const rest = text.slice(i);
    const m = /^(?:"(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null|NaN|-?Infinity)/.exec(rest);
    if (!m) return fail("unexpected character");
    i += m[0].length;
    const lit = m[0];
    if (lit === "NaN") return Number.NaN;
    if (lit.endsWith("Infinity")) return lit.startsWith("-") ? -Infinity : Infinity;
    return JSON.parse(lit) as JsonValue;
  };
  const root = value([]);
  ws();
  if (i !== text.length) fail("trailing characters");
  return { value: root, literals, trailingNewline: text.endsWith("\n") };
}

/** Python's repr of a float, which config writers use for float-typed keys (4 → 4.0). */
function pythonFloat(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? "NaN" : n > 0 ? "Infinity" : "-Infinity";
  const s = String(n);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/**
 * Serialise with 2-space indentation (Python's json.dumps(indent=2) layout). Unchanged scalars reuse their
 * literal text; new numbers under a key in `floatKeys` are written as Python floats.
 */
export function stringifyJsonText(
  value: JsonValue,
  opts: { literals?: Map<string, string>; floatKeys?: ReadonlySet<string>; trailingNewline?: boolean } = {},
): string {
  const literals = opts.literals ?? new Map<string, string>();
  const floatKeys = opts.floatKeys ?? new Set<string>();
  const write = (v: JsonValue, path: string[], indent: string): string => {
    if (Array.isArray(v)) {
      if (v.length === 0) return "[]";
      const inner = indent + "  ";
      return `[\n${v.map((x, k) => inner + write(x, [...path, String(k)], inner)).join(",\n")}\n${indent}]`;
    }
    if (v !== null && typeof v === "object") {
      const keys = Object.keys(v);
      if (keys.length === 0) return "{}";
      const inner = indent + "  ";
      return `{\n${keys.map((k) => `${inner}${JSON.stringify(k)}: ${write(v[k], [...path, k], inner)}`).join(",\n")}\n${indent}}`;
    }
    const lit = literals.get(path.join("\u0000"));
    if (lit !== undefined && sameScalar(lit, v)) return lit;
    if (typeof v === "number") return floatKeys.has(path[path.length - 1] ?? "") ? pythonFloat(v) : pythonNumber(v);
    return JSON.stringify(v);
  };
  return write(value, [], "") + (opts.trailingNewline === false ? "" : "\n");
}

function pythonNumber(n: number): string {
  return Number.isFinite(n) ? JSON.stringify(n) : pythonFloat(n);
}

function sameScalar(literal: string, v: JsonValue): boolean {
  if (typeof v === "number" && Number.isNaN(v)) return literal === "NaN";
  try {
    const parsed = literal === "NaN" ? Number.NaN : /Infinity$/.test(literal) ? (literal.startsWith("-") ? -Infinity : Infinity) : JSON.parse(literal);
    return parsed === v;
  } catch {
    return false;
  }
}

export const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === "object" && !Array.isArray(v);
