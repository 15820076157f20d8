// Keeps access tokens out of output, logs, errors and reports. Tokens are registered when resolved
// (resolveHubParams) and every hub error message is passed through redactSecrets.
const known = new Set<string>();

/**
 * Registers a secret so that later redactions replace it wherever it appears.
 *
 * @example
 * registerSecret(process.env.HF_TOKEN);
 */
export function registerSecret(secret: string | undefined): void {
  if (secret && secret.length >= 4) known.add(secret);
}

const TOKEN_PATTERNS: RegExp[] = [
  /\bhf_[A-Za-z0-9]{6,}\b/g,
  /\bapi_org_[A-Za-z0-9]{6,}\b/g,
  /(Bearer\s+)[^\s"',;]+/gi,
  /([?&](?:token|access_token)=)[^&\s"']+/gi,
];

/**
 * Replaces registered secrets and anything shaped like a hub token with "***".
 *
 * @example
 * redactSecrets("Authorization: Bearer hf_abcdefghijklmnopqrstuvwxyz123456"); // "Authorization: Bearer ***"
 */
export function redactSecrets(text: string): string {
  let out = text;
  for (const secret of known) out = out.split(secret).join("***");
  for (const re of TOKEN_PATTERNS) out = out.replace(re, (_m, prefix?: string) => (typeof prefix === "string" ? prefix : "") + "***");
  return out;
}

/**
 * Redacts an error for display or a report: its name and redacted one-line message.
 *
 * @example
 * catch (err) { console.error(describeError(err)); }
 */
export function describeError(err: unknown): string {
  const e = err as { name?: string; message?: string };
  const text = e && typeof e.message === "string" ? `${e.name ?? "Error"}: ${e.message}` : String(err);
  return redactSecrets(text.split("\n")[0]);
}
