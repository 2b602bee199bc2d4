/** Platform admin auth: `X-CA-Root-Key`, compared in constant time (SHA-256 of both sides, then timingSafeEqual). */
import type { Context } from "hono";
import { createHash, timingSafeEqual } from "node:crypto";
import { unauthorized } from "../errors.ts";

function digest(text: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(text).digest());
}

/** A checker for one root key; throws at construction when the key is missing or short. */
export function rootKeyChecker(rootKey: string): (presented: string | undefined) => boolean {
  if (!rootKey || rootKey.length < 16) throw new Error("The root API key must be at least 16 characters");
  const expected = digest(rootKey);
  return (presented) => {
    if (!presented) return false;
    return timingSafeEqual(digest(presented), expected);
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
