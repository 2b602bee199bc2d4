/**
 * The key material of org API keys: generation (uniform over [A-Za-z0-9]), the SHA-256 digest they are stored
 * and looked up by, and a constant-time compare. The rows are kept by src/central/api_keys.ts.
 */
import { createHash, timingSafeEqual } from "node:crypto";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A fresh key for `orgSlug` with `randomChars` characters drawn uniformly from [A-Za-z0-9]. */
export function generateApiKey(orgSlug: string, randomChars = 24): string {
  const out: string[] = [];
  while (out.length < randomChars) {
    for (const b of crypto.getRandomValues(new Uint8Array(randomChars * 2))) {
      if (b < 248 && out.length < randomChars) out.push(ALPHABET[b % 62]!); // 248 = 4 * 62: no modulo bias
    }
  }
  return `${orgSlug}_api_${out.join("")}`;
}

/** SHA-256 of `text` as lowercase hex (synchronous: it runs on every authenticated request). */
export function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Constant-time equality of two strings of hex digests (or any equal-length secrets). */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  if (x.length !== y.length) return timingSafeEqual(x, x) && false;
  return timingSafeEqual(x, y);
}
