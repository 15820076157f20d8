// huggingface_hub's home folder (constants.py): where `hf auth login` saves the token and, below it, the hub cache.
import { homedir } from "node:os";
import { join } from "node:path";

/** The environment the hub conventions read (HF_HOME, HF_HUB_CACHE, HF_TOKEN, HF_ENDPOINT, HF_HUB_OFFLINE, ...). */
export type Env = Record<string, string | undefined>;

/**
 * $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface (a leading ~ expanded, as Python's
 * os.path.expanduser does).
 *
 * @example
 * const tokenFile = join(hfHome(), "token"); // where `hf auth login` saved it, unless HF_TOKEN_PATH says otherwise
 */
export function hfHome(env: Env = process.env): string {
  const home = env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "huggingface");
  return home.startsWith("~") ? join(homedir(), home.slice(1)) : home;
}
