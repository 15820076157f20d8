// The fetch of a run without network (HF_HUB_OFFLINE): every request refused in one line, so a step the cache cannot
// serve says so instead of reaching for the network.
import { HubOfflineError } from "./errors.ts";

/**
 * A fetch that sends nothing: each call rejects with HubOfflineError naming the URL (its query left out).
 *
 * @example
 * const fetch = offlineFetch();
 * await fetch("https://huggingface.co/api/models/org/name"); // rejects: "…: HF_HUB_OFFLINE is set: …"
 */
export function offlineFetch(): typeof fetch {
  return (async (input: RequestInfo | URL) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    throw new HubOfflineError(url.split("?")[0], "HF_HUB_OFFLINE is set: not sent (the cache does not hold what this step needs; run it online once, or `hf download` the files)");
  }) as typeof fetch;
}
