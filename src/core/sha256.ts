// SHA-256 as lowercase hex through Web Crypto, which every runtime and browser has: no node:crypto where the browser
// entry (src/browser.ts) reaches.

/**
 * SHA-256 of bytes as lowercase hex.
 *
 * @example
 * await sha256Hex(new TextEncoder().encode("abc")); // "ba7816bf…"
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.slice()));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}
