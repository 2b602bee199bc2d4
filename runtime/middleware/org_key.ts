/**
 * Org auth: `X-API-Key` looked up by hash (cached; revocation clears the cache), and the org in the
 * path must be the key's org (403 otherwise).
 */
import type { Context } from "hono";
import type { ApiKeyStore } from "../../src/central/api_keys.ts";
import { forbidden, unauthorized } from "../errors.ts";

export async function requireOrg(c: Context, keys: ApiKeyStore): Promise<void> {
  const presented = c.req.header("X-API-Key");
  if (!presented) {
    throw unauthorized(
      c.req.header("X-CA-Root-Key")
        ? "This route needs an org API key (X-API-Key); the root key is not accepted"
        : "Missing X-API-Key header",
    );
  }
  const identity = presented.length <= 200 ? await keys.lookup(presented) : null;
  if (!identity) throw unauthorized("Invalid or revoked API key");
  const pathOrg = c.req.param("org_slug");
  if (pathOrg !== undefined && pathOrg !== identity.orgSlug) {
    throw forbidden(`This API key belongs to another organization than "${pathOrg}"`);
  }
  c.set("auth", { kind: "org", orgSlug: identity.orgSlug });
}
