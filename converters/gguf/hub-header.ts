// The GGUF side of `yarnify patch org/repo/file.gguf --push|--pr|--branch`: read a remote header with Range
// requests, plan from it and build the new header; the hub layer publishes it as an edit of the original file.
import type { GgufHeaderPatcher } from "../../src/core/converter.ts";
import { plan } from "../../src/core/plan.ts";
import { buildPatchedHeader } from "./header.ts";
import { ggufKeysForPlan } from "./keys.ts";
import { readGgufHeader } from "./read.ts";
import { openRemoteSource } from "./source.ts";
import { ggufRopeSpec } from "./spec.ts";

export const patchGgufHeader: GgufHeaderPatcher = async ({ location, path, target }) => {
  const source = openRemoteSource(location.url, { fetch: location.fetch, headers: location.headers });
  try {
    const header = await readGgufHeader(source);
    const p = plan(ggufRopeSpec(header.metadata, header.architecture, path), target, { file: path, family: header.architecture });
    const { entries } = ggufKeysForPlan(header.architecture, p, header.metadata);
    return { header: buildPatchedHeader(header, entries), replaces: header.dataOffset, plan: p };
  } finally {
    await source.close();
  }
};
