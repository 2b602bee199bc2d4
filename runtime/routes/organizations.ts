/**
 * Org key rotation: a new key, every older key of the org revoked at once (cache included). Honours
 * `Idempotency-Key` (runtime/idempotency.ts): a retried rotation returns the same new key instead of revoking it.
 */
import type { Context, Hono, MiddlewareHandler } from "hono";
import { z } from "zod";
import type { Auth } from "../../src/pipeline/module.ts";
import { notFound } from "../errors.ts";
import { parseBody } from "../body.ts";
import type { AppDeps, AppEnv } from "../context.ts";
import { type CommitHook, idempotent } from "../idempotency.ts";
import type { IssuedKey } from "../../src/central/api_keys.ts";

const rotateBody = z.strictObject({ reason: z.string().max(200).optional() });

export function mountOrganizationRoutes(
  app: Hono<AppEnv>,
  deps: AppDeps,
  guard: (mode: Auth) => MiddlewareHandler<AppEnv>,
): void {
  app.post("/api/v1/organizations/:org_slug/api-key/rotate", guard("root_or_org"), async (c) => {
    const slug = c.req.param("org_slug");
    const body = await parseBody(c, rotateBody);
    return await idempotent(c, deps, body, 200, (hook) => rotate(c, slug, body.reason, hook));
  });

  async function rotate(
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
    const rotated = await deps.stores.apiKeys.rotate(
      slug,
      { now: deps.now(), reason: reason ?? "rotated" },
      async (tx, r) => await hook?.(tx, answer(r)),
    );
    deps.logger.info("org api key rotated", {
      request_id: c.get("requestId"),
      org_slug: slug,
      revoked: rotated.revoked,
    });
    return c.json(answer(rotated));
  }
}
