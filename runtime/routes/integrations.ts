/** Integration statuses (never the credential) and removal. Setup/validate come from the manifest. */
import type { Hono, MiddlewareHandler } from "hono";
import type { Auth } from "../../src/pipeline/module.ts";
import { notFound } from "../errors.ts";
import type { AppDeps, AppEnv } from "../context.ts";
import type { StatusCache } from "../status_cache.ts";
import { CREDENTIAL_KEY_OF } from "../../src/providers/catalogue.ts";
import type { CredentialStatusRow } from "../../src/central/credentials.ts";

/** API provider name -> credential row provider (the catalogue's `CREDENTIAL_KEY_OF`). */
export const PROVIDER_KEYS = CREDENTIAL_KEY_OF;
export type ApiProvider = keyof typeof PROVIDER_KEYS;

export type StatusRow = CredentialStatusRow;

function status(row: StatusRow | undefined) {
  if (!row) return { status: "NOT_CONFIGURED", configured_at: null, last_validated_at: null };
  return {
    status: row.validation_status,
    credential_name: row.credential_name,
    credential_fingerprint: row.credential_fingerprint,
    validation_error: row.validation_error,
    configured_at: row.configured_at,
    last_validated_at: row.last_validated_at,
    ...(row.metadata ? { metadata: row.metadata } : {}),
  };
}

export function provider(name: string): ApiProvider {
  if (!(name in PROVIDER_KEYS)) {
    throw notFound(`Unknown provider "${name}"; expected one of ${Object.keys(PROVIDER_KEYS).join(", ")}`);
  }
  return name as ApiProvider;
}

export function mountIntegrationRoutes(
  app: Hono<AppEnv>,
  deps: AppDeps,
  guard: (mode: Auth) => MiddlewareHandler<AppEnv>,
  cache: StatusCache<StatusRow[]>,
): void {
  const rows = (slug: string) => cache.get(slug, () => load(slug));
  const load = (slug: string) => deps.stores.credentials.statuses(slug);

  // The status body of each cached rows array, serialised once (a reload makes a new array, so a new body).
  const bodies = new WeakMap<StatusRow[], string>();
  app.get("/api/v1/integrations/:org_slug", guard("org"), async (c) => {
    const org = c.req.param("org_slug");
    const found = await rows(org);
    let body = bodies.get(found);
    if (body === undefined) {
      const integrations = Object.fromEntries(
        Object.values(PROVIDER_KEYS).map((key) => [key, status(found.find((r) => r.provider === key))]),
      );
      bodies.set(found, body = JSON.stringify({ org_slug: org, integrations }));
    }
    return c.body(body, 200, { "Content-Type": "application/json" });
  });

  app.get("/api/v1/integrations/:org_slug/:provider", guard("org"), async (c) => {
    const key = PROVIDER_KEYS[provider(c.req.param("provider"))];
    const found = await rows(c.req.param("org_slug"));
    return c.json({
      org_slug: c.req.param("org_slug"),
      provider: key,
      ...status(found.find((r) => r.provider === key)),
    });
  });

  app.delete("/api/v1/integrations/:org_slug/:provider", guard("org"), async (c) => {
    const slug = c.req.param("org_slug");
    const key = PROVIDER_KEYS[provider(c.req.param("provider"))];
    const deleted = await deps.stores.credentials.remove(slug, key);
    cache.invalidate(slug);
    if (!deleted) throw notFound(`Integration ${key} is not configured for "${slug}"`);
    deps.logger.info("integration removed", { request_id: c.get("requestId"), org_slug: slug, provider: key });
    return c.json({ success: true, org_slug: slug, provider: key, deleted: true });
  });
}
