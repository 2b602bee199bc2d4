/**
 * Per-org unit prices of a provider's usage billed by a unit other than tokens (images, characters, seconds,
 * GB-days, sessions, tool calls; the meters of src/pricing/meters.ts): list, add an effective-dated version, update
 * the current one, delete an item, reset to the defaults compiled from configs/. An item is (meter, model_id,
 * variant), where `*` matches any model or variant; PUT and DELETE name the model and variant in the query.
 */
import { z } from "zod";
import { centralTables } from "../../generated/tables.ts";
import { METERED_PROVIDERS, type MeteredProvider } from "../../src/pricing/meters.ts";
import {
  checkMeter,
  unitItemQuery,
  unitPriceCreate,
  unitPriceQuery,
  unitPricesTable,
  unitPriceUpdate,
  utcDay,
} from "../../src/pricing/mod.ts";
import { notFound } from "../errors.ts";
import { defineRoute, type Route } from "../route.ts";
import { amountOut, count, done, orgSlug } from "./_schemas.ts";
import { closedPrevious, dated, defaultRows, listOf, logWrite, RESET_BODY, resetDone, stamps } from "./pricing.ts";

const TABLE = unitPricesTable(centralTables.org_unit_pricing);

/** `{provider}` of the unit-pricing routes (providers with metered usage); another value is 404. */
const meteredParam = z.enum(METERED_PROVIDERS, {
  error: (i) =>
    `Provider "${String(i.input)}" has no usage priced per unit; expected one of ${METERED_PROVIDERS.join(", ")}`,
}).meta({ description: "A provider with usage billed per unit other than tokens" });

/** A version of a unit price. */
export const unitPriceRow = z.object({
  provider: z.string(),
  meter: z.string(),
  model_id: z.string().meta({ description: 'The model, or "*" for any' }),
  variant: z.string().meta({ description: 'The variant (image size, search context, ...), or "*" for any' }),
  unit_price: amountOut.meta({ description: "The price of one pricing unit" }),
  pricing_unit: z.string().meta({ description: 'What unit_price buys, e.g. "1M Characters"' }),
  units_per_pricing_unit: amountOut.meta({ description: "Consumed units in one pricing unit, e.g. 1000000" }),
  currency: z.string(),
  ...dated,
  ...stamps,
});

const params = z.object({ org_slug: orgSlug, provider: meteredParam });
const itemParams = params.extend({ meter: z.string().max(64).meta({ description: "The meter, e.g. image" }) });
const base = "/api/v1/integrations/{org_slug}/{provider}/unit_pricing";

export const unitPricingRoutes: readonly Route[] = [
  defineRoute({
    method: "GET",
    path: base,
    auth: "org",
    tag: "pricing",
    summary: "List unit prices",
    description: "The provider's unit price versions of the org, optionally of one meter, model or variant, or in " +
      "force on a day.",
    params,
    query: unitPriceQuery,
    responses: { 200: { description: "The unit price versions", schema: listOf("unit_prices", unitPriceRow) } },
    handler: (deps) => async (c, { params, query: q }) => {
      const org = params.org_slug, provider = params.provider as MeteredProvider;
      await deps.stores.prices.ensureUnitPriceTable();
      const { as_of, ...filter } = q;
      const rows = await deps.stores.prices.listVersions(TABLE, org, { provider, ...filter }, as_of);
      return c.json({ org_slug: org, provider, as_of: as_of ?? null, count: rows.length, unit_prices: rows });
    },
  }),
  defineRoute({
    method: "POST",
    path: `${base}/reset`,
    auth: "org",
    tag: "pricing",
    summary: "Reset unit prices to the defaults in configs/",
    description: "Replaces every unit price version of the provider with the defaults compiled from configs/.",
    params,
    body: RESET_BODY,
    errors: [409],
    responses: { 200: { description: "Reset", schema: resetDone } },
    handler: (deps) => async (c, { params }) => {
      const org = params.org_slug, provider = params.provider as MeteredProvider;
      const rows = defaultRows(`integrations/${provider}/setup`, TABLE.schema.table);
      const r = await deps.stores.prices.seedDefaults(TABLE.schema.table, org, provider, rows, deps.now(), {
        onlyIfEmpty: false,
      });
      logWrite(deps, c, "unit pricing reset", { provider, deleted: r.deleted, inserted: r.inserted });
      return c.json({ success: true, org_slug: org, provider, deleted: r.deleted, inserted: r.inserted });
    },
  }),
  defineRoute({
    method: "POST",
    path: base,
    auth: "org",
    tag: "pricing",
    summary: "Add a unit price",
    description: "Adds an effective-dated unit price version; an open version of the same meter, model and variant " +
      'starting earlier is closed at its start. model_id and variant default to "*", units_per_pricing_unit to 1, ' +
      "effective_from to today (UTC), currency to USD. The price per consumed unit (unit_price / " +
      "units_per_pricing_unit) must be exact at 9 decimals.",
    params,
    body: unitPriceCreate,
    bodyRequired: true,
    errors: [409],
    responses: {
      201: {
        description: "The new version",
        schema: unitPriceRow.extend({ org_slug: z.string(), closed_previous: closedPrevious }),
      },
    },
    handler: (deps) => async (c, { params, body }) => {
      const org = params.org_slug, provider = params.provider as MeteredProvider;
      checkMeter(provider, body.meter);
      const { meter, model_id, variant, effective_from, effective_to, ...rest } = body;
      const now = deps.now();
      const values = { ...rest, effective_from: effective_from ?? utcDay(now), effective_to: effective_to ?? null };
      await deps.stores.prices.ensureUnitPriceTable();
      const key = { provider, meter, model_id, variant };
      const { row, closed } = await deps.stores.prices.addVersion(TABLE, org, key, values, now);
      logWrite(deps, c, "unit price added", { ...key, effective_from: values.effective_from, closed: closed !== null });
      return c.json({ org_slug: org, ...row, closed_previous: closed }, 201);
    },
  }),
  defineRoute({
    method: "PUT",
    path: `${base}/{meter}`,
    auth: "org",
    tag: "pricing",
    summary: "Update a unit price",
    description: "Changes the given fields of the current version (the open one, else the latest) of the meter " +
      'for the model and variant named in the query (default "*").',
    params: itemParams,
    query: unitItemQuery,
    body: unitPriceUpdate.meta({ minProperties: 1 }),
    bodyRequired: true,
    errors: [409],
    responses: {
      200: { description: "The updated version", schema: unitPriceRow.extend({ org_slug: z.string() }) },
    },
    handler: (deps) => async (c, { params, query, body: patch }) => {
      const org = params.org_slug, provider = params.provider as MeteredProvider;
      checkMeter(provider, params.meter);
      const key = { provider, meter: params.meter, ...query };
      await deps.stores.prices.ensureUnitPriceTable();
      const row = await deps.stores.prices.updateVersion(TABLE, org, key, patch, deps.now());
      logWrite(deps, c, "unit price updated", { ...key, fields: Object.keys(patch) });
      return c.json({ org_slug: org, ...row });
    },
  }),
  defineRoute({
    method: "DELETE",
    path: `${base}/{meter}`,
    auth: "org",
    tag: "pricing",
    summary: "Delete a unit price",
    description: 'Deletes every version of the meter for the model and variant named in the query (default "*").',
    params: itemParams,
    query: unitItemQuery,
    errors: [409],
    responses: {
      200: {
        description: "Deleted",
        schema: done({
          meter: z.string(),
          model_id: z.string(),
          variant: z.string(),
          deleted: count("Versions deleted"),
        }),
      },
    },
    handler: (deps) => async (c, { params, query }) => {
      const org = params.org_slug, provider = params.provider as MeteredProvider;
      checkMeter(provider, params.meter);
      const key = { provider, meter: params.meter, ...query };
      await deps.stores.prices.ensureUnitPriceTable();
      const deleted = await deps.stores.prices.deleteItem(TABLE, org, key, deps.now());
      if (!deleted) {
        throw notFound(
          `${TABLE.describe(key)} has no version for org "${org}"`,
        );
      }
      logWrite(deps, c, "unit price deleted", { ...key, deleted });
      return c.json({ success: true, org_slug: org, ...key, deleted });
    },
  }),
];
