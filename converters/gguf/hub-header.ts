// The GGUF side of `yarnify patch org/repo/file.gguf --push|--pr|--branch`: read a remote header with Range
// requests, plan from it and build the new header; the hub layer publishes it as an edit of the original file.
import type { GgufHeaderPatcher } from "../../src/core/converter.ts";
import { plan } from "../../src/core/plan.ts";
import { buildPatchedHeader } from "./header.ts";
import { GgufError } from "./errors.ts";
import { readFreqTensors, ropeTensorValues } from "./freq-tensors.ts";
import { plannedEdits } from "./edits.ts";
import { readGgufHeader } from "./read.ts";
import { openRemoteSource } from "./byte-source.ts";
import { ggufRopeSpec } from "./spec.ts";

export const patchGgufHeader: GgufHeaderPatcher = async ({ location, path, target }) => {
  const source = openRemoteSource(location.url, { fetch: location.fetch, headers: location.headers });
  try {
    const header = await readGgufHeader(source);
    const tensors = await readFreqTensors(source, header);
    const p = plan(ggufRopeSpec(header.metadata, header.architecture, { file: path, tensors: ropeTensorValues(tensors) }), target, { file: path, family: header.architecture });
    const edits = plannedEdits(header, tensors, p);
    if (edits.tensors.length) {
      // The hub layer publishes this header as an edit of the original file: tensor data cannot change that way.
      throw new GgufError(path, "unsupported", `${edits.tensors.map((t) => t.name).join(", ")} must be rewritten in the tensor data, which a header edit cannot do: download the file and patch it locally (yarnify patch <file>.gguf --push <repo>)`);
    }
    return { header: buildPatchedHeader(header, edits.entries), replaces: header.dataOffset, plan: p };
  } finally {
    await source.close();
  }
};
