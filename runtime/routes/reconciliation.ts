/**
 * `GET /api/v1/costs/{org_slug}/reconciliation`: list cost computed from usage against the provider's billed
 * amounts, per provider, day and model, with a status and its reasons (src/costs/reconciliation.ts), as JSON or CSV.
 */
import { z } from "zod";
import {
  DEFAULT_TOLERANCE,
  FINAL_RULE,
  parseReconciliationQuery,
  reconcile,
  STATUSES,
  toCsv,
} from "../../src/costs/reconciliation.ts";
import { PROVIDER_SLUGS } from "../../src/providers/catalogue.ts";
import { defineRoute, type Route } from "../route.ts";
import { amountOut, count, dayOut, orgParams } from "./_schemas.ts";
import { noticesSchema, unpricedSchema } from "./costs.ts";

const comparison = {
  list_cost: amountOut.nullable().meta({ description: "Cost computed from usage; null when none is priced" }),
  billed_cost: amountOut.nullable().meta({ description: "Provider-reported amount; null when none exists" }),
  difference: amountOut.nullable().meta({ description: "billed_cost - list_cost; null when nothing is billed" }),
  relative_difference: amountOut.nullable().meta({ description: "difference / list_cost; null when list is 0" }),
  status: z.enum(STATUSES),
};
const reasons = z.array(z.object({
  code: z.enum(["UNPRICED_MODELS", "USAGE_WITHOUT_BILLED_LINE", "BILLED_WITHOUT_USAGE", "NOT_FINAL"]),
  message: z.string(),
  models: z.array(z.string()),
}));
const body = z.object({
  org_slug: z.string(),
  start: dayOut,
  end: dayOut,
  provider: z.enum(PROVIDER_SLUGS).nullable(),
  tolerance: z.object({ relative: amountOut, amount: amountOut }),
  final_rule: z.string(),
  rows: z.array(z.object({
    provider: z.enum(PROVIDER_SLUGS),
    day: dayOut,
    currency: z.string(),
    ...comparison,
    final: z.boolean().meta({ description: "False while the provider may still add or restate amounts" }),
    reasons,
    models: z.array(z.object({ model: z.string(), ...comparison, reasons })).meta({
      description: "Per model, when both sides name models that day",
    }),
  })),
  totals: z.array(z.object({
    provider: z.enum(PROVIDER_SLUGS),
    currency: z.string(),
    ...comparison,
    days: z.record(z.enum(STATUSES), count()).meta({ description: "Days per status" }),
  })).meta({ description: "Per provider and currency, over the period" }),
  unpriced: unpricedSchema,
  notices: noticesSchema,
}).meta({ title: "Reconciliation" });

const query = z.object({
  start: z.string().optional().meta({ format: "date", description: "First UTC day; default 29 days before end" }),
  end: z.string().optional().meta({ format: "date", description: "Last UTC day; default today (UTC)" }),
  provider: z.string().optional().meta({ enum: [...PROVIDER_SLUGS], description: "Only this provider" }),
  format: z.string().optional().meta({ enum: ["json", "csv"], description: "json (default) or csv" }),
  tolerance: z.string().optional().meta({
    description: `Relative tolerance, a fraction from 0 to 1 (default ${DEFAULT_TOLERANCE.relative} = 1%)`,
  }),
  tolerance_amount: z.string().optional().meta({
    description: `Absolute tolerance in the currency (default ${DEFAULT_TOLERANCE.amount})`,
  }),
});

export const reconciliationRoutes: readonly Route[] = [
  defineRoute({
    method: "GET",
    path: "/api/v1/costs/{org_slug}/reconciliation",
    auth: "org",
    tag: "costs",
    summary: "Reconcile computed cost with the provider's bill",
    description: "Per provider, day (and model where both sides name one) and currency: list_cost from usage, " +
      "billed_cost reported by the provider, their difference and a status MATCHED (within max(tolerance_amount, " +
      "tolerance x list)), OVER, UNDER, UNPRICED or UNBILLED with its reasons; totals per provider. format=csv " +
      "answers text/csv with a header row, one line per day and one per model.",
    params: orgParams,
    query,
    responses: { 200: { description: "The reconciliation (format=csv: the same rows as text/csv)", schema: body } },
    handler: (deps) => async (c, { params }) => {
      const orgSlug = params.org_slug;
      const req = parseReconciliationQuery(new URL(c.req.url).searchParams, deps.now());
      const dataset = `${orgSlug}_${deps.settings.datasetSuffix}`;
      const sides = await deps.stores.costs.reconciliationSides(dataset, req);
      const { rows, totals } = reconcile(sides.list, sides.billed, req);
      if (req.format === "csv") {
        return c.body(toCsv(rows), 200, {
          "Content-Type": "text/csv; charset=utf-8",
          "Content-Disposition": `attachment; filename="reconciliation_${orgSlug}_${req.start}_${req.end}.csv"`,
        });
      }
      return c.json({
        org_slug: orgSlug,
        start: req.start,
        end: req.end,
        provider: req.provider,
        tolerance: req.tolerance,
        final_rule: FINAL_RULE,
        rows,
        totals,
        unpriced: sides.unpriced,
        notices: sides.notices,
      });
    },
  }),
];
