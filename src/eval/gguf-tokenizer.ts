// A GGUF's own vocabulary as a tokenizer that splits text as llama.cpp does: its byte-level BPE ("gpt2" model)
// with the pre-tokenizer regex llama.cpp uses for the file's `tokenizer.ggml.pre` (src/llama-vocab.cpp), run by
// @huggingface/tokenizers. Special tokens in the text are plain text, as in llama.cpp's tokenize without
// parse_special, and no BOS is added (the evaluation protocol).
import { Tokenizer } from "@huggingface/tokenizers";
import { ModelFormatError } from "../core/errors.ts";
import { ggufStringArray } from "../../converters/gguf/strings.ts";
import type { GgufHeader } from "../../converters/gguf/read.ts";
import type { TextTokenizer } from "./tokenizer.ts";

interface PreTokenizer {
  /** llama.cpp's regex for this group (the adapted form it compiles, not the tokenizer.json original). */
  regex: string;
  /** A whole pre-token found in the vocabulary is one token, merges or not (llama.cpp's ignore_merges). */
  ignoreMerges: boolean;
}

const GPT2: PreTokenizer = { regex: "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)", ignoreMerges: false };
const LLAMA3: PreTokenizer = {
  regex: "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  ignoreMerges: true,
};
const QWEN2: PreTokenizer = {
  regex: "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  ignoreMerges: false,
};

/** `tokenizer.ggml.pre` values and the llama.cpp pre-tokenizer type each selects. */
const PRE: Readonly<Record<string, PreTokenizer>> = {
  ...Object.fromEntries(["gpt-2", "phi-2", "jina-es", "jina-de", "jina-v2-es", "jina-v2-de", "gigachat", "a.x-4.0", "mellum"].map((p) => [p, GPT2])),
  ...Object.fromEntries(["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"].map((p) => [p, LLAMA3])),
  ...Object.fromEntries(["qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2"].map((p) => [p, QWEN2])),
};

const str = (h: GgufHeader, key: string): string | undefined => {
  const v = h.metadata[key]?.value;
  return typeof v === "string" ? v : undefined;
};

/**
 * The tokenizer of a GGUF's `tokenizer.ggml.*` keys.
 *
 * @example
 * const tok = ggufTokenizer(source.header);
 * tok.encode("def f(x):"); // the ids llama.cpp's tokenize gives
 */
export function ggufTokenizer(h: GgufHeader): TextTokenizer {
  const model = str(h, "tokenizer.ggml.model");
  if (model !== "gpt2") {
    throw new ModelFormatError(h.file, `tokenizer.ggml.model ${model ?? "(none)"} is not supported by the evaluator (byte-level BPE "gpt2" vocabularies are)`);
  }
  const preName = str(h, "tokenizer.ggml.pre") ?? "(none)";
  const pre = PRE[preName];
  if (!pre) throw new ModelFormatError(h.file, `tokenizer.ggml.pre ${preName} is not supported by the evaluator (${Object.keys(PRE).join(", ")})`);
  const tokens = ggufStringArray(h, "tokenizer.ggml.tokens");
  const merges = ggufStringArray(h, "tokenizer.ggml.merges");
  if (!tokens || !merges) throw new ModelFormatError(h.file, "tokenizer.ggml.tokens or tokenizer.ggml.merges missing");
  const json = {
    version: "1.0",
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: pre.regex }, behavior: "Isolated", invert: false },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: {
      type: "BPE",
      vocab: Object.fromEntries(tokens.map((t, i) => [t, i])),
      merges,
      ignore_merges: pre.ignoreMerges,
      byte_fallback: false,
      fuse_unk: false,
      unk_token: null,
    },
  };
  const tok = new Tokenizer(json, {});
  return {
    encode: (text) => tok.encode(text, { add_special_tokens: false }).ids,
    decode: (ids) => tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }),
    vocabSize: tokens.length,
  };
}
