// Evaluation documents from a file: plain text (one document), JSON Lines ({"text": ...} per line) or a
// JSON file {"docs": [{"text": ...}]} (also a bare array of such objects or of strings).
import { readFileSync } from "node:fs";
import { ModelFormatError } from "../core/errors.ts";

export class TextInputError extends ModelFormatError {
  override name = "TextInputError";
}

export type TextFormat = "text" | "jsonl" | "json";

/**
 * Guesses the format from the extension, then from the content (so `docs.txt` holding JSON is still JSON).
 *
 * @example
 * detectTextFormat("docs.txt", '{"docs": [{"text": "a"}]}'); // "json"
 */
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

/**
 * The documents of a file's content in a given format (a TextInputError naming the file on bad input).
 *
 * @example
 * parseTexts('{"text": "one"}\n{"text": "two"}\n', "jsonl", "docs.jsonl"); // ["one", "two"]
 */
export function parseTexts(content: string, format: TextFormat, file: string): string[] {
  if (format === "text") {
    if (content.length === 0) throw new TextInputError(file, "the text file is empty");
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
        throw new TextInputError(file, `line ${i + 1} is not JSON: ${(err as Error).message.split("\n")[0]}`);
      }
      docs.push(textOf(obj, `line ${i + 1}`, file));
    });
    if (docs.length === 0) throw new TextInputError(file, "no documents (every line is empty)");
    return docs;
  }
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch (err) {
    throw new TextInputError(file, `not JSON: ${(err as Error).message.split("\n")[0]}`);
  }
  const list = Array.isArray(json) ? json : (json as { docs?: unknown } | null)?.docs;
  if (!Array.isArray(list)) throw new TextInputError(file, 'expected {"docs": [{"text": ...}]} or an array of documents');
  if (list.length === 0) throw new TextInputError(file, "no documents");
  return list.map((d, i) => textOf(d, `document ${i}`, file));
}

function textOf(obj: unknown, where: string, file: string): string {
  if (typeof obj === "string") return obj;
  const text = (obj as { text?: unknown } | null)?.text;
  if (typeof text !== "string") throw new TextInputError(file, `${where} has no "text" string`);
  return text;
}

/**
 * Reads the documents of one file.
 *
 * @example
 * const texts = loadTexts("docs.jsonl").slice(0, 24);
 */
export function loadTexts(file: string, format?: TextFormat): string[] {
  let content: string;
  try {
    content = readFileSync(file, "utf8");
  } catch (err) {
    throw new TextInputError(file, `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseTexts(content, format ?? detectTextFormat(file, content), file);
}
