// Typed errors of the hub layer. Messages are one line, name the repo or file, and never contain a token
// (every message goes through redactSecrets before it is stored).
import { type ErrorKind, YarnifyError } from "../core/errors.ts";
import { redactSecrets } from "./redact.ts";

/** Any failure talking to the hub (exit 6). */
export class HubError extends YarnifyError {
  override name = "HubError";
  override readonly kind: ErrorKind = "hub";
  constructor(file: string | undefined, problem: string, options?: { cause?: unknown }) {
    super(file === undefined ? undefined : redactSecrets(file), redactSecrets(problem), options);
  }
}

/** A source string that is neither `org/name[@rev][/path]` nor `hf://org/name[@rev][/path]`. */
export class HubSourceError extends HubError {
  override name = "HubSourceError";
}

/** A file name from a repo listing that would escape the local directory it is written to. */
export class UnsafeRepoPathError extends HubError {
  override name = "UnsafeRepoPathError";
}

/** The hub kept failing (429/5xx/network) after every retry, or asked us to wait longer than allowed. */
export class HubRetryError extends HubError {
  override name = "HubRetryError";
  constructor(file: string | undefined, problem: string, readonly status: number | undefined, options?: { cause?: unknown }) {
    super(file, problem, options);
  }
}

/** A download whose bytes do not match what the hub announced. */
export class HubDownloadError extends HubError {
  override name = "HubDownloadError";
}

/** A publish that cannot be done as asked (e.g. a pull request on a repo that does not exist). */
export class HubPublishError extends HubError {
  override name = "HubPublishError";
}

/** A hub response with an error status, with the hub's own message when it sent one. */
export class HubHttpError extends HubError {
  override name = "HubHttpError";
  constructor(file: string | undefined, problem: string, readonly status: number) {
    super(file, problem);
  }
}

/** Throws HubHttpError for a failed response: "<what>: HTTP 404 Entry not found". */
export async function throwForResponse(res: Response, what: string): Promise<never> {
  let detail = "";
  try {
    const text = await res.text();
    try {
      const json = JSON.parse(text) as { error?: string; message?: string };
      detail = json.error ?? json.message ?? "";
    } catch {
      detail = text.slice(0, 200);
    }
  } catch {
    detail = "";
  }
  throw new HubHttpError(what, `HTTP ${res.status}${detail ? " " + detail.split("\n")[0] : ""}`, res.status);
}

/** HF_HUB_OFFLINE is set and the cache cannot serve what was asked (exit 6). */
export class HubOfflineError extends HubError {
  override name = "HubOfflineError";
}
