// Evaluation documents from a file: plain text (one document), JSON Lines ({"text": ...} per line) or a
// JSON file {"docs": [{"text": ...}]} (also a bare array of such objects or of strings).
import { readFileSync } from "node:fs";
import { YarnifyError } from "../core/errors.ts";

export class TextInputError extends YarnifyError {
  override name = "TextInputError";
  override readonly exitCode = 2;
}

export type TextFormat = "text" | "jsonl" | "json";

/** Guesses the format from the extension, then from the content (so `docs.txt` holding JSON is still JSON). */
export function detectTextFormat(file: string, content: string): TextFormat {
  if (/\.(jsonl|ndjson)$/i.test(file)) return "jsonl";
  if (/\.json$/i.test(file)) return "json";
  const head = content.trimStart();
  if (head.startsWith("{") || head.startsWith("[")) {
    try {
      JSON.parse(content);
      return "json";
    } catch {
      const first = head.split("\n", 1)[0]!;
      try {
        JSON.parse(first);
        return "jsonl";
      } catch {
        return "text";
      }
    }
  }
  return "text";
}

export function parseTexts(content: string, format: TextFormat, file: string): string[] {
  if (format === "text") {
    if (content.length === 0) throw new TextInputError("the text file is empty", file);
    return [content];
  }
  if (format === "jsonl") {
    const docs: string[] = [];
    content.split("\n").forEach((line, i) => {
      if (line.trim() === "") return;
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch (err) {
        throw new TextInputError(`line ${i + 1} is not JSON: ${(err as Error).message.split("\n")[0]}`, file);
      }
      docs.push(textOf(obj, `line ${i + 1}`, file));
    });
    if (docs.length === 0) throw new TextInputError("no documents (every line is empty)", file);
    return docs;
  }
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch (err) {
    throw new TextInputError(`not JSON: ${(err as Error).message.split("\n")[0]}`, file);
  }
  const list = Array.isArray(json) ? json : (json as { docs?: unknown } | null)?.docs;
  if (!Array.isArray(list)) throw new TextInputError('expected {"docs": [{"text": ...}]} or an array of documents', file);
  if (list.length === 0) throw new TextInputError("no documents", file);
  return list.map((d, i) => textOf(d, `document ${i}`, file));
}

function textOf(obj: unknown, where: string, file: string): string {
  if (typeof obj === "string") return obj;
  const text = (obj as { text?: unknown } | null)?.text;
  if (typeof text !== "string") throw new TextInputError(`${where} has no "text" string`, file);
  return text;
}

/** Reads the documents of one file. */
export function loadTexts(file: string, format?: TextFormat): string[] {
  let content: string;
  try {
    content = readFileSync(file, "utf8");
  } catch (err) {
    throw new TextInputError(`cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, file);
  }
  return parseTexts(content, format ?? detectTextFormat(file, content), file);
}
