/**
 * Per-org model prices of a provider (openai, anthropic, deepseek): list, add an effective-dated version, update
 * the current one, delete a model, reset to the defaults compiled from configs/. Amounts are decimal strings.
 */
import type { Context } from "hono";
import { z } from "zod";
import { pipelines } from "../../generated/manifest.ts";
import { centralTables } from "../../generated/tables.ts";
import type { PipelineModule } from "../../src/pipeline/module.ts";
import type { Row } from "../../src/warehouse/warehouse.ts";
import {
  modelId,
  priceCreate,
  type PricedProvider,
  priceQuery,
  pricesTable,
  priceUpdate,
  type RepairResult,
  subscriptionsTable,
  utcDay,
} from "../../src/pricing/mod.ts";
import { notFound } from "../errors.ts";
import type { AppDeps, AppEnv } from "../context.ts";
import { defineRoute, type Route, type RouteDeps } from "../route.ts";
import { amountOut, count, dayOut, done, orgSlug, pricedParam } from "./_schemas.ts";

/** The org_model_pricing schema, as compiled from configs/setup/bootstrap/schemas/. */
export const PRICING_SCHEMA = centralTables.org_model_pricing;
const TABLE = pricesTable(PRICING_SCHEMA);
/** The reset routes take no fields. */
export const RESET_BODY = z.strictObject({});

/**
 * The default rows of `table` compiled from configs/: the seed rows of the `integrations.seed` step of the
 * pipeline at `path` (e.g. `integrations/openai/setup`).
 * @throws {Error} when that pipeline has no such seed step (a config error)
 */
export function defaultRows(path: string, table: string): readonly Row[] {
  const pipeline = (pipelines as Readonly<Record<string, PipelineModule>>)[path];
  const step = pipeline?.steps.find((s) => s.psType === "integrations.seed" && s.seed?.table === table);
  if (!step?.seed) throw new Error(`Pipeline "${path}" has no integrations.seed step for ${table}`);
  return step.seed.rows;
}

/**
 * Start-up: repairs overlapping price and plan versions left by writes made before writes were serialised, where
 * that is unambiguous, and logs a warning naming org and item for the rest (see src/pricing/repair.ts).
 */
export async function repairPricingOverlaps(
  deps: Pick<AppDeps, "stores" | "logger" | "now">,
): Promise<RepairResult[]> {
  const tables = [TABLE, subscriptionsTable(centralTables.org_openai_subscriptions)];
  const results: RepairResult[] = [];
  for (const t of tables) {
    const r = await deps.stores.prices.repairOverlaps(t, deps.now(), (msg, fields) => deps.logger.warn(msg, fields));
    if (r.items) {
      const { unresolved, ...counts } = r;
      deps.logger.info("overlapping versions repaired", { table: t.schema.table, ...counts, left: unresolved.length });
    }
    results.push(r);
  }
  return results;
}

/** The columns every effective-dated row shows: where it came from and when it was written. */
export const stamps = {
  source: z.enum(["seed", "user"]).meta({ description: "seed: from configs/; user: written through the API" }),
  created_at: z.string(),
  updated_at: z.string(),
};
/** The effective dates and notes of a version. */
export const dated = {
  effective_from: dayOut.meta({ description: "First day in force (inclusive)" }),
  effective_to: dayOut.nullable().meta({ description: "First day no longer in force (exclusive); null = open" }),
  notes: z.string().nullable(),
};
/** A version of a model's price. */
export const priceRow = z.object({
  provider: z.string(),
  model_id: z.string(),
  input_per_1m: amountOut,
  cached_input_per_1m: amountOut.nullable(),
  cache_write_5m_per_1m: amountOut.nullable(),
  cache_write_1h_per_1m: amountOut.nullable(),
  output_per_1m: amountOut,
  currency: z.string(),
  ...dated,
  ...stamps,
});
/** The previous open version closed by an add, or null. */
export const closedPrevious = z.object({ effective_from: dayOut, effective_to: dayOut }).nullable();
/** `{org_slug, provider, as_of, count, <key>: rows}` of the list routes. */
export const listOf = <K extends string>(key: K, row: z.ZodType) =>
  z.object({
    org_slug: z.string(),
    provider: z.string(),
    as_of: dayOut.nullable(),
    count: count(),
    [key]: z.array(row),
  });
/** `{success, org_slug, provider, deleted, inserted}` of the reset routes. */
export const resetDone = done({ deleted: count("Rows removed"), inserted: count("Default rows written") });

const params = z.object({ org_slug: orgSlug, provider: pricedParam });
const itemParams = params.extend({ model_id: modelId.meta({ description: "The model id, e.g. gpt-4o" }) });
const base = "/api/v1/integrations/{org_slug}/{provider}/pricing";
/** Logs a price write with the request id and org. */
export const logWrite = (deps: RouteDeps, c: Context<AppEnv>, msg: string, fields: Record<string, unknown>) =>
  deps.logger.info(msg, { request_id: c.get("requestId"), org_slug: c.req.param("org_slug"), ...fields });

export const pricingRoutes: readonly Route[] = [
  defineRoute({
    method: "GET",
    path: base,
    auth: "org",
    tag: "pricing",
    summary: "List model prices",
    description: "The provider's model price versions of the org, optionally of one model or in force on a day.",
    params,
    query: priceQuery,
    responses: { 200: { description: "The price versions", schema: listOf("prices", priceRow) } },
    handler: (deps) => async (c, { params, query: q }) => {
      const org = params.org_slug, provider = params.provider as PricedProvider;
      const filter = { provider, ...(q.model_id ? { model_id: q.model_id } : {}) };
      const prices = await deps.stores.prices.listVersions(TABLE, org, filter, q.as_of);
      return c.json({ org_slug: org, provider, as_of: q.as_of ?? null, count: prices.length, prices });
    },
  }),
  defineRoute({
    method: "POST",
    path: `${base}/reset`,
    auth: "org",
    tag: "pricing",
    summary: "Reset prices to the defaults in configs/",
    description: "Replaces every price version of the provider with the defaults compiled from configs/.",
    params,
    body: RESET_BODY,
    errors: [409],
    responses: { 200: { description: "Reset", schema: resetDone } },
    handler: (deps) => async (c, { params }) => {
      const org = params.org_slug, provider = params.provider as PricedProvider;
      const rows = defaultRows(`integrations/${provider}/setup`, PRICING_SCHEMA.table);
      const r = await deps.stores.prices.seedPricing(org, provider, rows, deps.now(), { onlyIfEmpty: false });
      logWrite(deps, c, "pricing reset", { provider, deleted: r.deleted, inserted: r.inserted });
      return c.json({ success: true, org_slug: org, provider, deleted: r.deleted, inserted: r.inserted });
    },
  }),
  defineRoute({
    method: "POST",
    path: base,
    auth: "org",
    tag: "pricing",
    summary: "Add a model price",
    description: "Adds an effective-dated price version; an open version of the model starting earlier is closed " +
      "at its start. effective_from defaults to today (UTC), currency to USD.",
    params,
    body: priceCreate,
    bodyRequired: true,
    errors: [409],
    responses: {
      201: {
        description: "The new version",
        schema: priceRow.extend({ org_slug: z.string(), closed_previous: closedPrevious }),
      },
    },
    handler: (deps) => async (c, { params, body }) => {
      const org = params.org_slug, provider = params.provider as PricedProvider;
      const { model_id, effective_from, effective_to, ...rest } = body;
      const now = deps.now();
      const values = { ...rest, effective_from: effective_from ?? utcDay(now), effective_to: effective_to ?? null };
      const { row, closed } = await deps.stores.prices.addVersion(TABLE, org, { provider, model_id }, values, now);
      logWrite(deps, c, "price added", {
        provider,
        model_id,
        effective_from: values.effective_from,
        closed: closed !== null,
      });
      return c.json({ org_slug: org, ...row, closed_previous: closed }, 201);
    },
  }),
  defineRoute({
    method: "PUT",
    path: `${base}/{model_id}`,
    auth: "org",
    tag: "pricing",
    summary: "Update a model price",
    description: "Changes the given fields of the model's current version (the open one, else the latest).",
    params: itemParams,
    body: priceUpdate.meta({ minProperties: 1 }),
    bodyRequired: true,
    errors: [409],
    responses: { 200: { description: "The updated version", schema: priceRow.extend({ org_slug: z.string() }) } },
    handler: (deps) => async (c, { params, body: patch }) => {
      const org = params.org_slug, provider = params.provider as PricedProvider, model_id = params.model_id;
      const row = await deps.stores.prices.updateVersion(TABLE, org, { provider, model_id }, patch, deps.now());
      logWrite(deps, c, "price updated", { provider, model_id, fields: Object.keys(patch) });
      return c.json({ org_slug: org, ...row });
    },
  }),
  defineRoute({
    method: "DELETE",
    path: `${base}/{model_id}`,
    auth: "org",
    tag: "pricing",
    summary: "Delete a model price",
    description: "Deletes every price version of the model.",
    params: itemParams,
    errors: [409],
    responses: {
      200: { description: "Deleted", schema: done({ model_id: z.string(), deleted: count("Versions deleted") }) },
    },
    handler: (deps) => async (c, { params }) => {
      const org = params.org_slug, provider = params.provider as PricedProvider, model_id = params.model_id;
      const deleted = await deps.stores.prices.deleteItem(TABLE, org, { provider, model_id }, deps.now());
      if (!deleted) throw notFound(`Model "${model_id}" of ${provider} has no price for org "${org}"`);
      logWrite(deps, c, "price deleted", { provider, model_id, deleted });
      return c.json({ success: true, org_slug: org, provider, model_id, deleted });
    },
  }),
];
