/** Integration statuses (never the credential) and removal. Setup/validate come from the manifest. */
import { z } from "zod";
import type { CredentialStatusRow } from "../../src/central/credentials.ts";
import { CREDENTIAL_KEYS, credentialKeyOf, PROVIDERS, type ProviderSlug } from "../../src/providers/catalogue.ts";
import { notFound } from "../errors.ts";
import { defineRoute, type Route, type RouteDeps } from "../route.ts";
import { instant, orgSlug, providerParam } from "./_schemas.ts";

/** A credential row as the status routes read it (never the secret). */
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

/** One integration's status; the credential itself is never shown. */
const integrationStatus = z.object({
  status: z.string().meta({ description: "NOT_CONFIGURED, VALID, INVALID or PENDING" }),
  credential_name: z.string().nullable().optional(),
  credential_fingerprint: z.string().nullable().optional().meta({ description: "Identifies the key, not secret" }),
  validation_error: z.string().nullable().optional(),
  configured_at: z.union([instant, z.null()]),
  last_validated_at: z.union([instant, z.null()]),
  metadata: z.record(z.string(), z.unknown()).optional().meta({ description: "Public details (e.g. project ids)" }),
});
const statuses = z.object({
  org_slug: z.string(),
  integrations: z.object(
    Object.fromEntries(PROVIDERS.map((p) => [p.credentialKey, integrationStatus])) as Record<
      string,
      typeof integrationStatus
    >,
  ).meta({ description: "By credential key (OPENAI, ANTHROPIC, DEEPSEEK, GCP_SA)" }),
});
const one = integrationStatus.extend({ org_slug: z.string(), provider: z.string() });
const removed = z.object({
  success: z.literal(true),
  org_slug: z.string(),
  provider: z.string(),
  deleted: z.literal(true),
});
const params = z.object({ org_slug: orgSlug, provider: providerParam });

const rows = (deps: RouteDeps, slug: string) => deps.statuses.get(slug, () => load(deps, slug));
const load = (deps: RouteDeps, slug: string) => deps.stores.credentials.statuses(slug);
/** The status body of each cached rows array, serialised once (a reload makes a new array, so a new body). */
const bodies = new WeakMap<StatusRow[], string>();
const keyOf = (p: ProviderSlug) => credentialKeyOf(p);

export const integrationRoutes: readonly Route[] = [
  defineRoute({
    method: "GET",
    path: "/api/v1/integrations/{org_slug}",
    auth: "org",
    tag: "integrations",
    summary: "All integration statuses",
    description: "The status of every provider integration of the org, configured or not; never the credential.",
    params: z.object({ org_slug: orgSlug }),
    responses: { 200: { description: "Statuses by credential key", schema: statuses } },
    handler: (deps) => async (c, { params }) => {
      const org = params.org_slug;
      const found = await rows(deps, org);
      let body = bodies.get(found);
      if (body === undefined) {
        const integrations = Object.fromEntries(
          CREDENTIAL_KEYS.map((key) => [key, status(found.find((r) => r.provider === key))]),
        );
        bodies.set(found, body = JSON.stringify({ org_slug: org, integrations }));
      }
      return c.body(body, 200, { "Content-Type": "application/json" });
    },
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/integrations/{org_slug}/{provider}",
    auth: "org",
    tag: "integrations",
    summary: "One integration status",
    description: "The status of one provider integration of the org; never the credential.",
    params,
    responses: { 200: { description: "The integration's status", schema: one } },
    handler: (deps) => async (c, { params }) => {
      const key = keyOf(params.provider);
      const found = await rows(deps, params.org_slug);
      return c.json({
        org_slug: params.org_slug,
        provider: key,
        ...status(found.find((r) => r.provider === key)),
      });
    },
  }),
  defineRoute({
    method: "DELETE",
    path: "/api/v1/integrations/{org_slug}/{provider}",
    auth: "org",
    tag: "integrations",
    summary: "Remove an integration",
    description: "Deletes the org's stored credential of the provider; its pipelines fail until it is set up again.",
    params,
    responses: { 200: { description: "Removed", schema: removed } },
    handler: (deps) => async (c, { params }) => {
      const slug = params.org_slug;
      const key = keyOf(params.provider);
      const deleted = await deps.stores.credentials.remove(slug, key);
      deps.statuses.invalidate(slug);
      if (!deleted) throw notFound(`Integration ${key} is not configured for "${slug}"`);
      deps.logger.info("integration removed", { request_id: c.get("requestId"), org_slug: slug, provider: key });
      return c.json({ success: true, org_slug: slug, provider: key, deleted: true });
    },
  }),
];
