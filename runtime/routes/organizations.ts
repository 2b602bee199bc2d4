/**
 * Org key rotation: a new key, every older key of the org revoked at once (cache included). Honours
 * `Idempotency-Key` (runtime/idempotency.ts): a retried rotation returns the same new key instead of revoking it.
 */
import type { Context } from "hono";
import { z } from "zod";
import type { IssuedKey } from "../../src/central/mod.ts";
import { notFound } from "../errors.ts";
import type { AppEnv } from "../context.ts";
import { type CommitHook, idempotent } from "../idempotency.ts";
import { defineRoute, type Route, type RouteDeps } from "../route.ts";
import { count, orgParams } from "./_schemas.ts";

const rotateBody = z.strictObject({
  reason: z.string().max(200).optional().meta({ description: 'Stored with the revoked keys (default "rotated")' }),
});
const rotated = z.object({
  org_slug: z.string(),
  api_key: z.string().meta({ description: "The new key: shown once" }),
  api_key_fingerprint: z.string(),
  revoked_keys: count("Keys of the org revoked by this rotation"),
  message: z.string(),
});

async function rotate(
  deps: RouteDeps,
  c: Context<AppEnv>,
  slug: string,
  reason: string | undefined,
  hook?: CommitHook,
): Promise<Response> {
  if (!(await deps.stores.orgs.exists(slug))) throw notFound(`Organization "${slug}" does not exist`);
  const answer = ({ key, revoked }: { key: IssuedKey; revoked: number }) => ({
    org_slug: slug,
    api_key: key.apiKey,
    api_key_fingerprint: key.fingerprint,
    revoked_keys: revoked,
    message: "Store the new API key now: it is shown once; the previous key no longer works",
  });
  const done = await deps.stores.apiKeys.rotate(
    slug,
    { now: deps.now(), reason: reason ?? "rotated" },
    async (tx, r) => await hook?.(tx, answer(r)),
  );
  deps.logger.info("org api key rotated", { request_id: c.get("requestId"), org_slug: slug, revoked: done.revoked });
  return c.json(answer(done));
}

export const organizationRoutes: readonly Route[] = [
  defineRoute({
    method: "POST",
    path: "/api/v1/organizations/{org_slug}/api-key/rotate",
    auth: "root_or_org",
    tag: "organizations",
    summary: "Issue a new org API key and revoke the old ones",
    description: "Issues a new API key of the org and revokes every older key at once. With Idempotency-Key, a " +
      "retried rotation returns the same new key instead of revoking it.",
    params: orgParams,
    body: rotateBody,
    errors: [409, 422],
    responses: { 200: { description: "The new key (shown once)", schema: rotated } },
    handler: (deps) => async (c, { params, body }) => {
      const slug = params.org_slug;
      return await idempotent(c, deps, body, 200, (hook) => rotate(deps, c, slug, body.reason, hook));
    },
  }),
];
