// The Hugging Face hub cache, laid out as huggingface_hub lays it out, so the files `hf download` fetched are
// reused and the files yarnify downloads are where `hf` and transformers look:
//   <cache>/models--org--name/blobs/<etag>               the bytes, named by their LFS sha256 or git blob sha1
//   <cache>/models--org--name/refs/<revision>            the commit a branch, tag or refs/pr/N last pointed to
//   <cache>/models--org--name/snapshots/<commit>/<path>  a relative symlink to ../../blobs/<etag>
import { getRepoFolderName } from "@huggingface/hub";
import { join } from "node:path";
import { type Env, hfHome } from "./hf-home.ts";

/**
 * The hub cache: $HF_HUB_CACHE, else the older $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub (~/.cache/huggingface/hub).
 *
 * @example
 * const dir = defaultCacheDir(); // the folder `hf download` fills and `hf cache scan` lists
 */
export function defaultCacheDir(env: Env = process.env): string {
  return env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE || join(hfHome(env), "hub");
}

/**
 * A model repo's folder in the cache (models--org--name, named as huggingface.js and huggingface_hub name it).
 *
 * @example
 * repoCacheDir(defaultCacheDir(), "Qwen/Qwen2.5-7B-Instruct"); // …/hub/models--Qwen--Qwen2.5-7B-Instruct
 */
export function repoCacheDir(cacheDir: string, repo: string): string {
  return join(cacheDir, getRepoFolderName({ name: repo, type: "model" }));
}

/**
 * The snapshot directory of one commit of a repo: <cache>/models--org--name/snapshots/<commit>.
 *
 * @example
 * snapshotDir(defaultCacheDir(), "org/name", commit); // …/hub/models--org--name/snapshots/<commit>
 */
export function snapshotDir(cacheDir: string, repo: string, commit: string): string {
  return join(repoCacheDir(cacheDir, repo), "snapshots", commit);
}
