// The hub's rate limits for a batch run: one limiter shared by every item's requests (src/hub/hub-rate-limiter.ts),
// its budgets from --api-limit and --commit-limit, and its waits reported on stderr.
import { createHubRateLimiter, HUB_RATE_LIMITS, type HubRateLimiter } from "../hub/hub-rate-limiter.ts";
import type { CliIo } from "./io.ts";
import { type OptionSpec, wholeNumber } from "./options.ts";

export const RATE_LIMIT_OPTIONS: OptionSpec[] = [
  { flags: "--api-limit <n>", description: `Hub API requests per 5 minutes for this run's token (default ${HUB_RATE_LIMITS.api.limit}, a free user's; PRO 2500); split it between runs sharing the token` },
  { flags: "--commit-limit <n>", description: `Commits per hour to one repo (default ${HUB_RATE_LIMITS.commitsPerRepo.limit}, the hub's)` },
];

export interface RateLimitOptionValues {
  apiLimit?: unknown;
  commitLimit?: unknown;
}

/** Waits shorter than this are not worth a line. */
const QUIET_WAIT_MS = 1000;

/**
 * The limiter of a batch run, and how long a 429 may ask to wait before the run gives up on a request (a full
 * commit window: the hub's answer to a 129th commit in an hour is "retry in 43 minutes").
 *
 * @example
 * const { limiter, maxRetryAfterMs } = batchLimits({ apiLimit: 2500 }, io);
 * const hub = hubConnection(o, io, { limiter, maxRetryAfterMs });
 */
export function batchLimits(o: RateLimitOptionValues, io: CliIo): { limiter: HubRateLimiter; maxRetryAfterMs: number } {
  const api = wholeNumber(o.apiLimit, "--api-limit") ?? HUB_RATE_LIMITS.api.limit;
  const commits = wholeNumber(o.commitLimit, "--commit-limit") ?? HUB_RATE_LIMITS.commitsPerRepo.limit;
  const limiter = createHubRateLimiter({
    limits: { api: { ...HUB_RATE_LIMITS.api, limit: api }, commitsPerRepo: { ...HUB_RATE_LIMITS.commitsPerRepo, limit: commits } },
    onWait: (e) => {
      if (e.waitMs >= QUIET_WAIT_MS) io.stderr(`waiting ${(e.waitMs / 1000).toFixed(1)} s: ${e.reason === "hub" ? "the hub asked to wait" : "the hub's limit"} on ${e.bucket}\n`);
    },
  });
  return { limiter, maxRetryAfterMs: HUB_RATE_LIMITS.commitsPerRepo.windowMs + 60_000 };
}
