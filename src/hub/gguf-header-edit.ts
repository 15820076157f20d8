// A patched GGUF as a commit "edit" of the original: its header bytes replaced, the tensor data untouched, so over xet
// only the chunks holding changed bytes travel. No file system here: the CLI passes a cached file, the page a File.
import type { PublishOperation } from "./publish.ts";

/**
 * Replaces bytes [0, replaces) of the original GGUF with the new header. The new header must end where the
 * tensor data may start (padded to general.alignment), so the tensor offsets stay valid.
 *
 * @example
 * const op = ggufHeaderEdit({ path: "m.gguf", original: await openHubFile({ repo, path: "m.gguf" }), header, replaces: oldHeaderBytes });
 */
export function ggufHeaderEdit(params: { path: string; original: Blob; header: Uint8Array; replaces: number }): PublishOperation {
  if (params.replaces < 0 || params.replaces > params.original.size) {
    throw new RangeError(`${params.path}: header edit replaces ${params.replaces} bytes of a ${params.original.size}-byte file`);
  }
  return {
    kind: "edit",
    path: params.path,
    original: params.original,
    edits: [{ start: 0, end: params.replaces, content: new Blob([params.header as BlobPart]) }],
  };
}
