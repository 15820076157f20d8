// Splitting the heads of a problem into dispatches whose bindings fit the adapter's limits
// (maxStorageBufferBindingSize is 128 MiB on many devices: 32 heads × 16k tokens × 128 dims of
// float32 is 256 MiB).
import { AttentionUnsupportedError } from "./params.ts";

export interface HeadGroup {
  /** First KV head and how many KV heads this dispatch binds. */
  kvHead: number;
  kvCount: number;
  /** First query head (global index) and how many query heads this dispatch computes. */
  qHead: number;
  qCount: number;
}

export function planHeadGroups(params: {
  nHeads: number;
  nKvHeads: number;
  seq: number;
  headDim: number;
  /** Largest binding allowed, in bytes. */
  maxBindingBytes: number;
}): HeadGroup[] {
  const { nHeads, nKvHeads, seq, headDim, maxBindingBytes } = params;
  const groupSize = nHeads / nKvHeads;
  // The float32 output of one head is the largest per-head binding.
  const headBytes = seq * headDim * 4;
  const maxQ = Math.floor(maxBindingBytes / headBytes);
  if (maxQ < 1) {
    throw new AttentionUnsupportedError(undefined, `attention: one head of ${seq} tokens × ${headDim} dims needs ${headBytes} bytes, over the adapter's binding limit of ${maxBindingBytes} bytes`
    );
  }
  const groups: HeadGroup[] = [];
  if (maxQ >= groupSize) {
    const kvPer = Math.floor(maxQ / groupSize);
    for (let kv = 0; kv < nKvHeads; kv += kvPer) {
      const kvCount = Math.min(kvPer, nKvHeads - kv);
      groups.push({ kvHead: kv, kvCount, qHead: kv * groupSize, qCount: kvCount * groupSize });
    }
  } else {
    for (let kv = 0; kv < nKvHeads; kv++) {
      for (let h = 0; h < groupSize; h += maxQ) {
        groups.push({ kvHead: kv, kvCount: 1, qHead: kv * groupSize + h, qCount: Math.min(maxQ, groupSize - h) });
      }
    }
  }
  return groups;
}
