/** `GET /api/v1/costs/{org_slug}`: cost across every provider from the org's own dataset (org key only). */
import { z } from "zod";
import { FOCUS_LIMIT, parseCostsQuery } from "../../src/costs/query.ts";
import { PROVIDER_SLUGS } from "../../src/providers/catalogue.ts";
import { defineRoute, type Route } from "../route.ts";
import { amountOut, count, dayOut, orgParams } from "./_schemas.ts";

const money = amountOut.nullable();
const section = {
  rows: z.array(
    z.object({
      provider: z.enum(PROVIDER_SLUGS).optional(),
      service: z.string().nullable().optional(),
      model: z.string().nullable().optional(),
      day: dayOut.optional(),
      cost: money.meta({ description: "List cost computed from usage (GCP: net of credits)" }),
      billed_cost: money.meta({ description: "Provider-reported amount; null when none exists" }),
      records: count("Cost-table rows summed"),
      unpriced_records: count("Rows without a price in force (no cost)"),
      unbilled_records: count("Rows without a provider-reported amount"),
    }).meta({ description: "One row per group: the group_by keys (provider, service, model, day), then the sums" }),
  ),
  total_cost: money,
  total_billed_cost: money,
};
/** Usage without a price in force over the period (src/costs/unpriced.ts). */
export const unpricedSchema = z.array(z.object({
  provider: z.enum(PROVIDER_SLUGS),
  model: z.string().nullable(),
  unit: z.string().nullable().meta({ description: "Unit of quantity, e.g. Tokens" }),
  quantity: amountOut.nullable().meta({ description: "Quantity used without a price" }),
  records: count("Cost-table rows without a price"),
  days: z.array(dayOut).meta({ description: "Days with such usage" }),
})).meta({ description: "Usage without a price in force (no cost): never silently left out of the totals" });

/** What a reader must know to read the numbers right (src/costs/notices.ts). */
export const noticesSchema = z.array(z.object({
  provider: z.enum(PROVIDER_SLUGS),
  code: z.enum(["FIRST_BALANCE_SNAPSHOT"]).meta({
    description: "FIRST_BALANCE_SNAPSHOT: a DeepSeek currency's first balance snapshot, whose day has no spend",
  }),
  message: z.string(),
  days: z.array(dayOut),
})).meta({ description: "Why some numbers are missing or partial, e.g. a new DeepSeek integration's first day" });

const summary = z.object({
  org_slug: z.string(),
  currency: z.string(),
  start: dayOut,
  end: dayOut,
  group_by: z.array(z.enum(["provider", "service", "model", "day"])),
  provider: z.enum(PROVIDER_SLUGS).nullable(),
  ...section,
  other_currencies: z.array(z.object({ currency: z.string(), ...section })),
  unpriced: unpricedSchema,
  notices: noticesSchema,
}).meta({ title: "CostSummary" });
const focus = z.object({
  org_slug: z.string(),
  format: z.literal("focus"),
  focus_version: z.string(),
  credits: z.enum(["netted", "lines"]).meta({
    description: "netted: GCP charges net of credits; lines: at gross cost, each credit its own Credit row",
  }),
  start: dayOut,
  end: dayOut,
  provider: z.enum(PROVIDER_SLUGS).nullable(),
  rows: z.array(z.record(z.string(), z.unknown()).meta({ description: "One charge, FinOps FOCUS column names" })),
  truncated: z.boolean().meta({ description: "More rows matched than `limit`" }),
}).meta({ title: "FocusExport" });

/** Documents the query; src/costs/query.ts `parseCostsQuery` checks it (group_by may repeat). */
const query = z.object({
  start: z.string().optional().meta({
    format: "date",
    description: "First UTC day (inclusive); default 29 days before end",
  }),
  end: z.string().optional().meta({
    format: "date",
    description: "Last UTC day (inclusive); default today (UTC); at most 366 days from start",
  }),
  group_by: z.string().optional().meta({
    description:
      "Comma-separated (or repeated) keys: provider, service, model, day; default provider; empty = totals only",
  }),
  provider: z.string().optional().meta({ enum: [...PROVIDER_SLUGS], description: "Only this provider" }),
  currency: z.string().optional().meta({
    pattern: "^[A-Z]{3}$",
    description: "Currency of rows and totals (default USD); cost in other currencies is listed under " +
      "other_currencies, never converted",
  }),
  format: z.string().optional().meta({
    enum: ["summary", "focus"],
    description: "summary (default), or focus: one row per charge with FinOps FOCUS column names (no group_by)",
  }),
  limit: z.string().optional().meta({
    pattern: "^[0-9]+$",
    description: `Rows of format=focus, 1 to ${FOCUS_LIMIT.max} (default ${FOCUS_LIMIT.default})`,
  }),
  credits: z.string().optional().meta({
    enum: ["netted", "lines"],
    description: "format=focus only: netted (default) shows GCP charges net of their credits, as every total is; " +
      "lines shows them at gross cost, each credit its own ChargeCategory Credit row (the sums are the same)",
  }),
});

export const costRoutes: readonly Route[] = [
  defineRoute({
    method: "GET",
    path: "/api/v1/costs/{org_slug}",
    auth: "org",
    tag: "costs",
    summary: "Cost across providers, summed per group",
    description: "Cost across providers from the org's cost tables, summed per group; other currencies are kept " +
      "apart and never converted. With format=focus: one row per charge in FinOps FOCUS 1.2 columns.",
    params: orgParams,
    query,
    responses: { 200: { description: "The summary, or the FOCUS rows", schema: z.union([summary, focus]) } },
    handler: (deps) => async (c, { params }) => {
      const orgSlug = params.org_slug;
      const req = parseCostsQuery(new URL(c.req.url).searchParams, deps.now());
      const dataset = `${orgSlug}_${deps.settings.datasetSuffix}`;
      const body = req.format === "focus"
        ? await deps.stores.costs.focusExport(dataset, req)
        : await deps.stores.costs.costSummary(dataset, req);
      return c.json({ org_slug: orgSlug, ...body });
    },
  }),
];
