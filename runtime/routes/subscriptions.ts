/**
 * Per-org OpenAI subscription plans: list, add an effective-dated version, update the current one, delete a plan,
 * reset to the defaults compiled from configs/. Amounts are decimal strings.
 */
import type { Hono, MiddlewareHandler } from "hono";
import { pipelines } from "../../generated/manifest.ts";
import type { Auth } from "../../src/pipeline/module.ts";
import {
  planName,
  subscriptionCreate,
  subscriptionQuery,
  subscriptionsTable,
  subscriptionUpdate,
  utcDay,
} from "../../src/pricing/mod.ts";
import { parseBody } from "../body.ts";
import { notFound } from "../errors.ts";
import type { AppDeps, AppEnv } from "../context.ts";
import { defaultRows, parseQuery, pathParam, RESET_BODY } from "./pricing.ts";

/** The org_openai_subscriptions schema, as compiled from configs/setup/bootstrap/schemas/. */
export const SUBSCRIPTIONS_SCHEMA = pipelines["setup/bootstrap"].tables.org_openai_subscriptions;
const TABLE = subscriptionsTable(SUBSCRIPTIONS_SCHEMA);

export function mountSubscriptionRoutes(
  app: Hono<AppEnv>,
  deps: AppDeps,
  guard: (mode: Auth) => MiddlewareHandler<AppEnv>,
): void {
  const base = "/api/v1/integrations/:org_slug/openai/subscriptions";
  const log = (requestId: string, org: string, msg: string, fields: Record<string, unknown>) =>
    deps.logger.info(msg, { request_id: requestId, org_slug: org, ...fields });

  app.get(base, guard("org"), async (c) => {
    const org = c.req.param("org_slug");
    const q = parseQuery(c, subscriptionQuery);
    const filter: Record<string, string> = q.plan_name ? { plan_name: q.plan_name } : {};
    const subscriptions = await deps.stores.prices.listVersions(TABLE, org, filter, q.as_of);
    return c.json({
      org_slug: org,
      provider: "openai",
      as_of: q.as_of ?? null,
      count: subscriptions.length,
      subscriptions,
    });
  });

  app.post(`${base}/reset`, guard("org"), async (c) => {
    const org = c.req.param("org_slug");
    await parseBody(c, RESET_BODY);
    const rows = defaultRows("integrations/openai/setup", SUBSCRIPTIONS_SCHEMA.table);
    const r = await deps.stores.prices.seedSubscriptions(org, rows, deps.now(), { onlyIfEmpty: false });
    log(c.get("requestId"), org, "subscriptions reset", { deleted: r.deleted, inserted: r.inserted });
    return c.json({ success: true, org_slug: org, provider: "openai", deleted: r.deleted, inserted: r.inserted });
  });

  app.post(base, guard("org"), async (c) => {
    const org = c.req.param("org_slug");
    const { plan_name, effective_from, effective_to, ...rest } = await parseBody(c, subscriptionCreate);
    const now = deps.now();
    const values = { ...rest, effective_from: effective_from ?? utcDay(now), effective_to: effective_to ?? null };
    const { row, closed } = await deps.stores.prices.addVersion(TABLE, org, { plan_name }, values, now);
    log(c.get("requestId"), org, "subscription added", { plan_name, effective_from: values.effective_from });
    return c.json({ org_slug: org, ...row, closed_previous: closed }, 201);
  });

  app.put(`${base}/:plan_name`, guard("org"), async (c) => {
    const org = c.req.param("org_slug");
    const plan_name = pathParam(c, "plan_name", planName);
    const patch = await parseBody(c, subscriptionUpdate);
    const row = await deps.stores.prices.updateVersion(TABLE, org, { plan_name }, patch, deps.now());
    log(c.get("requestId"), org, "subscription updated", { plan_name, fields: Object.keys(patch) });
    return c.json({ org_slug: org, ...row });
  });

  app.delete(`${base}/:plan_name`, guard("org"), async (c) => {
    const org = c.req.param("org_slug");
    const plan_name = pathParam(c, "plan_name", planName);
    const deleted = await deps.stores.prices.deleteItem(TABLE, org, { plan_name }, deps.now());
    if (!deleted) throw notFound(`Plan "${plan_name}" does not exist for org "${org}"`);
    log(c.get("requestId"), org, "subscription deleted", { plan_name, deleted });
    return c.json({ success: true, org_slug: org, provider: "openai", plan_name, deleted });
  });
}
