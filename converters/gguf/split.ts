// Split GGUFs (`name-00001-of-00003.gguf`): the metadata lives in shard 1, the others hold tensors.
import { basename, dirname, join } from "node:path";
import { parseGgufShardFilename } from "@huggingface/gguf";
import { isUrl } from "./byte-source.ts";

/** Every shard of the model `location` belongs to, shard 1 first; a lone file is a list of one. */
export function shardLocations(location: string): string[] {
  const { base, dir, join: joinLoc } = splitLocation(location);
  const info = parseGgufShardFilename(base);
  if (!info) return [location];
  const total = Number(info.total);
  const names: string[] = [];
  for (let i = 1; i <= total; i++) names.push(joinLoc(dir, `${info.prefix}-${String(i).padStart(5, "0")}-of-${info.total}.gguf`));
  return names;
}

function splitLocation(location: string): { base: string; dir: string; join: (dir: string, name: string) => string } {
  if (isUrl(location)) {
    const url = new URL(location);
    const cut = url.pathname.lastIndexOf("/");
    const base = decodeURIComponent(url.pathname.slice(cut + 1));
    return {
      base,
      dir: location,
      join: (_dir, name) => {
        const u = new URL(location);
        u.pathname = url.pathname.slice(0, cut + 1) + encodeURIComponent(name);
        return u.toString();
      },
    };
  }
  return { base: basename(location), dir: dirname(location), join };
}

/** The file name a shard keeps in an output folder. */
export function locationBasename(location: string): string {
  return splitLocation(location).base;
}

/** Output paths for the shards: same names inside a folder, or the names implied by a shard-1 path. */
export function shardOutputs(sources: readonly string[], out: string, outIsDir: boolean): string[] | undefined {
  if (outIsDir) return sources.map((s) => join(out, locationBasename(s)));
  if (sources.length === 1) return [out];
  const info = parseGgufShardFilename(basename(out));
  if (!info || Number(info.total) !== sources.length || Number(info.shard) !== 1) return undefined;
  return shardLocations(out);
}
