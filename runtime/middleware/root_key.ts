/** Platform admin auth: `X-CA-Root-Key`, compared in constant time (SHA-256 of both sides, then timingSafeEqual). */
import type { Context } from "hono";
import { createHash, timingSafeEqual } from "node:crypto";
import { unauthorized } from "../errors.ts";

function digest(text: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(text).digest());
}

/**
 * A checker for the root key and, during a rotation, the previous one (both accepted until the previous one is
 * removed from the settings); throws at construction when a key is missing or short. Every accepted key is compared,
 * so the time taken does not say which one matched.
 */
export function rootKeyChecker(rootKey: string, previous?: string): (presented: string | undefined) => boolean {
  const keys = [rootKey, ...(previous ? [previous] : [])];
  if (keys.some((k) => !k || k.length < 16)) throw new Error("The root API key must be at least 16 characters");
  const expected = keys.map(digest);
  return (presented) => {
    if (!presented) return false;
    const got = digest(presented);
    let ok = false;
    for (const e of expected) ok = timingSafeEqual(got, e) || ok;
    return ok;
  };
}

/** Throws 401 unless the request carries the root key. */
export function requireRoot(c: Context, check: (k: string | undefined) => boolean): void {
  const presented = c.req.header("X-CA-Root-Key");
  if (!presented) {
    throw unauthorized(
      c.req.header("X-API-Key")
        ? "This route needs the platform root key (X-CA-Root-Key); org API keys are not accepted"
        : "Missing X-CA-Root-Key header",
    );
  }
  if (!check(presented)) throw unauthorized("Invalid root key");
  c.set("auth", { kind: "root" });
}
