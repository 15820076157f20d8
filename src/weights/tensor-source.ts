// One view of a checkpoint's tensors whatever the format: names, shapes in transformers' order, values as float32.
// A safetensors directory and a GGUF (one file, split, or a URL) both answer it, so the model loader and the
// real-weights probe read either the same way.

export interface TensorSource {
  /** The directory or file, for messages. */
  readonly file: string;
  /** Names of every tensor. */
  names(): string[];
  has(name: string): boolean;
  /** The shape as transformers lays it out: [out, in] for a linear layer, [n] for a vector. */
  shape(name: string): number[];
  /** The stored element type (F32, BF16, Q4_K, ...). */
  dtype(name: string): string;
  /** Why this tensor cannot be read as float32 (a type not decoded, partial blocks), or undefined when it can. */
  problem(name: string): string | undefined;
  /** The whole tensor as float32, row-major in `shape`. */
  read(name: string): Promise<Float32Array>;
  /** Rows of a 2-D tensor (embedding lookups), concatenated. */
  rows(name: string, ids: readonly number[]): Promise<Float32Array>;
  close(): Promise<void>;
}

/**
 * The element type most tensors of a source are stored in, for reports.
 *
 * @example
 * majorityDtype(await openGgufSource("model-Q4_K_M.gguf")); // "Q4_K"
 */
export function majorityDtype(source: TensorSource): string {
  const counts = new Map<string, number>();
  for (const n of source.names()) counts.set(source.dtype(n), (counts.get(source.dtype(n)) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "unknown";
}
