/** Route auth from the manifest's `auth` value: root, org, root_or_org or none. */
import type { MiddlewareHandler } from "hono";
import type { Auth } from "../../src/pipeline/module.ts";
import type { ApiKeyStore } from "../../src/central/api_keys.ts";
import { requireRoot } from "./root_key.ts";
import { requireOrg } from "./org_key.ts";

export interface AuthOptions {
  readonly keys: ApiKeyStore;
  readonly checkRoot: (presented: string | undefined) => boolean;
  /** Development only (refused in production by start-up validation). */
  readonly disabled: boolean;
}

export type AuthIdentity = { kind: "root" } | { kind: "org"; orgSlug: string } | { kind: "none" };

export function auth(mode: Auth, opts: AuthOptions): MiddlewareHandler {
  return async function authMiddleware(c, next) {
    if (mode === "none") {
      c.set("auth", { kind: "none" });
    } else if (opts.disabled) {
      const org = c.req.param("org_slug");
      c.set("auth", org ? { kind: "org", orgSlug: org } : { kind: "root" });
    } else if (mode === "root") {
      requireRoot(c, opts.checkRoot);
    } else if (mode === "org") {
      await requireOrg(c, opts.keys);
    } else if (c.req.header("X-API-Key")) {
      await requireOrg(c, opts.keys);
    } else {
      requireRoot(c, opts.checkRoot);
    }
    await next();
  };
}
