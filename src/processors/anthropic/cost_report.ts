/**
 * `anthropic.cost_report`: every page of `GET /v1/organizations/cost_report` (1d buckets) for the run's UTC days,
 * grouped by workspace and description (which also fills model, token type, service tier and context window), into
 * anthropic_cost_report_daily_raw. The API's `amount` is a decimal string in CENTS: it is kept as reported in
 * `amount_cents` and converted exactly to dollars in `amount_usd` (`centsToDollars`, a decimal shift).
 */
import { centsToDollars } from "../../providers/mod.ts";
import { anthropicCostReportSpec } from "../specs.ts";
import { defineProcessor } from "../registry.ts";
import { allPages, dayRange, inRange } from "../_cost.ts";
import { dayOf, isoDay } from "../../time/day.ts";
import { anthropicClient, rfc3339Window } from "./_client.ts";

export const anthropicCostReportProcessor = defineProcessor(anthropicCostReportSpec, async (ctx, config) => {
  const range = dayRange(config.start_date, config.end_date);
  const pages = await allPages(
    ctx,
    "Anthropic cost report",
    anthropicClient(ctx).costReport({
      ...rfc3339Window(range),
      groupBy: ["workspace_id", "description"],
      limit: config.page_limit,
    }),
  );
  const ingestedAt = ctx.now().toISOString();
  const rows = [];
  for (const bucket of pages.flatMap((p) => p.data)) {
    const start = Date.parse(bucket.starting_at);
    const value = dayOf(new Date(start));
    const day = isoDay(value);
    if (!inRange(value, range)) {
      ctx.logger.warn("bucket outside the requested days skipped", { day, from: range.from, to: range.to });
      continue;
    }
    for (const r of bucket.results) {
      rows.push({
        usage_date: day,
        bucket_start_time: new Date(start).toISOString(),
        bucket_end_time: new Date(Date.parse(bucket.ending_at)).toISOString(),
        workspace_id: r.workspace_id,
        description: r.description,
        cost_type: r.cost_type,
        model: r.model,
        token_type: r.token_type,
        context_window: r.context_window,
        service_tier: r.service_tier,
        amount_cents: r.amount,
        amount_usd: centsToDollars(r.amount),
        currency: r.currency.toUpperCase(),
        run_id: ctx.run?.id ?? "adhoc",
        ingested_at: ingestedAt,
      });
    }
  }
  ctx.logger.info("cost report rows collected", { rows: rows.length, pages: pages.length });
  return { rows, range };
});
