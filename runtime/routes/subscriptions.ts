/**
 * Per-org OpenAI subscription plans: list, add an effective-dated version, update the current one, delete a plan,
 * reset to the defaults compiled from configs/. Amounts are decimal strings.
 */
import { z } from "zod";
import { centralTables } from "../../generated/tables.ts";
import {
  planName,
  subscriptionCreate,
  subscriptionQuery,
  subscriptionsTable,
  subscriptionUpdate,
  utcDay,
} from "../../src/pricing/mod.ts";
import { notFound } from "../errors.ts";
import { defineRoute, type Route, type RouteDeps } from "../route.ts";
import { closedPrevious, defaultRows, listOf, RESET_BODY, resetDone } from "./pricing.ts";
import { amountOut, count, dayOut, done, orgSlug } from "./_schemas.ts";

/** The org_openai_subscriptions schema, as compiled from configs/setup/bootstrap/schemas/. */
export const SUBSCRIPTIONS_SCHEMA = centralTables.org_openai_subscriptions;
const TABLE = subscriptionsTable(SUBSCRIPTIONS_SCHEMA);

const subscriptionRow = z.object({
  plan_name: z.string(),
  quantity: z.number().int(),
  unit_price_usd: amountOut,
  billing_period: z.string(),
  rpm_limit: z.number().int().nullable(),
  tpm_limit: z.number().int().nullable(),
  monthly_spend_limit_usd: amountOut.nullable(),
  effective_from: dayOut.meta({ description: "First day in force (inclusive)" }),
  effective_to: dayOut.nullable().meta({ description: "First day no longer in force (exclusive); null = open" }),
  notes: z.string().nullable(),
  source: z.enum(["seed", "user"]),
  created_at: z.string(),
  updated_at: z.string(),
});
const base = "/api/v1/integrations/{org_slug}/openai/subscriptions";
const params = z.object({ org_slug: orgSlug });
const itemParams = params.extend({ plan_name: planName.meta({ description: "The plan, e.g. TIER1" }) });
const log = (deps: RouteDeps, requestId: string, org: string, msg: string, fields: Record<string, unknown>) =>
  deps.logger.info(msg, { request_id: requestId, org_slug: org, ...fields });

export const subscriptionRoutes: readonly Route[] = [
  defineRoute({
    method: "GET",
    path: base,
    auth: "org",
    tag: "subscriptions",
    summary: "List OpenAI subscription plans",
    description: "The org's OpenAI subscription plan versions, optionally of one plan or in force on a day.",
    params,
    query: subscriptionQuery,
    responses: { 200: { description: "The plan versions", schema: listOf("subscriptions", subscriptionRow) } },
    handler: (deps) => async (c, { params, query: q }) => {
      const org = params.org_slug;
      const filter: Record<string, string> = q.plan_name ? { plan_name: q.plan_name } : {};
      const subscriptions = await deps.stores.prices.listVersions(TABLE, org, filter, q.as_of);
      return c.json({
        org_slug: org,
        provider: "openai",
        as_of: q.as_of ?? null,
        count: subscriptions.length,
        subscriptions,
      });
    },
  }),
  defineRoute({
    method: "POST",
    path: `${base}/reset`,
    auth: "org",
    tag: "subscriptions",
    summary: "Reset plans to the defaults in configs/",
    description: "Replaces every plan version of the org with the defaults compiled from configs/.",
    params,
    body: RESET_BODY,
    errors: [409],
    responses: { 200: { description: "Reset", schema: resetDone } },
    handler: (deps) => async (c, { params }) => {
      const org = params.org_slug;
      const rows = defaultRows("integrations/openai/setup", SUBSCRIPTIONS_SCHEMA.table);
      const r = await deps.stores.prices.seedSubscriptions(org, rows, deps.now(), { onlyIfEmpty: false });
      log(deps, c.get("requestId"), org, "subscriptions reset", { deleted: r.deleted, inserted: r.inserted });
      return c.json({ success: true, org_slug: org, provider: "openai", deleted: r.deleted, inserted: r.inserted });
    },
  }),
  defineRoute({
    method: "POST",
    path: base,
    auth: "org",
    tag: "subscriptions",
    summary: "Add a subscription plan",
    description: "Adds an effective-dated plan version; an open version starting earlier is closed at its start. " +
      "effective_from defaults to today (UTC).",
    params,
    body: subscriptionCreate,
    bodyRequired: true,
    errors: [409],
    responses: {
      201: {
        description: "The new version",
        schema: subscriptionRow.extend({ org_slug: z.string(), closed_previous: closedPrevious }),
      },
    },
    handler: (deps) => async (c, { params, body }) => {
      const org = params.org_slug;
      const { plan_name, effective_from, effective_to, ...rest } = body;
      const now = deps.now();
      const values = { ...rest, effective_from: effective_from ?? utcDay(now), effective_to: effective_to ?? null };
      const { row, closed } = await deps.stores.prices.addVersion(TABLE, org, { plan_name }, values, now);
      log(deps, c.get("requestId"), org, "subscription added", { plan_name, effective_from: values.effective_from });
      return c.json({ org_slug: org, ...row, closed_previous: closed }, 201);
    },
  }),
  defineRoute({
    method: "PUT",
    path: `${base}/{plan_name}`,
    auth: "org",
    tag: "subscriptions",
    summary: "Update a subscription plan",
    description: "Changes the given fields of the plan's current version.",
    params: itemParams,
    body: subscriptionUpdate.meta({ minProperties: 1 }),
    bodyRequired: true,
    errors: [409],
    responses: {
      200: { description: "The updated version", schema: subscriptionRow.extend({ org_slug: z.string() }) },
    },
    handler: (deps) => async (c, { params, body: patch }) => {
      const org = params.org_slug;
      const plan_name = params.plan_name;
      const row = await deps.stores.prices.updateVersion(TABLE, org, { plan_name }, patch, deps.now());
      log(deps, c.get("requestId"), org, "subscription updated", { plan_name, fields: Object.keys(patch) });
      return c.json({ org_slug: org, ...row });
    },
  }),
  defineRoute({
    method: "DELETE",
    path: `${base}/{plan_name}`,
    auth: "org",
    tag: "subscriptions",
    summary: "Delete a subscription plan",
    description: "Deletes every version of the plan.",
    params: itemParams,
    errors: [409],
    responses: {
      200: { description: "Deleted", schema: done({ plan_name: z.string(), deleted: count("Versions deleted") }) },
    },
    handler: (deps) => async (c, { params }) => {
      const org = params.org_slug;
      const plan_name = params.plan_name;
      const deleted = await deps.stores.prices.deleteItem(TABLE, org, { plan_name }, deps.now());
      if (!deleted) throw notFound(`Plan "${plan_name}" does not exist for org "${org}"`);
      log(deps, c.get("requestId"), org, "subscription deleted", { plan_name, deleted });
      return c.json({ success: true, org_slug: org, provider: "openai", plan_name, deleted });
    },
  }),
];
