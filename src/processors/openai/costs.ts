/**
 * `openai.costs`: every page of `GET /organization/costs` (1d buckets) for the run's UTC days into
 * openai_costs_daily_raw. `amount.value` is a JSON number of dollars; it is stored as the decimal text of that
 * number (`numberToDecimalString`), never summed or rounded as a binary float here.
 */
import { numberToDecimalString } from "../../providers/mod.ts";
import { openaiCostsSpec } from "../specs.ts";
import { defineProcessor } from "../registry.ts";
import { allPages, dayRange, utcDayOf } from "../_cost.ts";
import { openAIClient, unixWindow } from "./_client.ts";

export const openaiCostsProcessor = defineProcessor(openaiCostsSpec, async (ctx, config) => {
  const range = dayRange(config.start_date, config.end_date);
  const { start, end } = unixWindow(range);
  const pages = await allPages(
    ctx,
    "OpenAI costs",
    openAIClient(ctx).costs({ start, end, groupBy: config.group_by, limit: config.page_limit }),
  );
  const ingestedAt = ctx.now().toISOString();
  const rows = [];
  for (const bucket of pages.flatMap((p) => p.data)) {
    const day = utcDayOf(bucket.start_time * 1000);
    if (day < range.from || day > range.to) {
      ctx.logger.warn("bucket outside the requested days skipped", { day, ...range });
      continue;
    }
    for (const r of bucket.results) {
      rows.push({
        usage_date: day,
        bucket_start_time: new Date(bucket.start_time * 1000).toISOString(),
        bucket_end_time: new Date(bucket.end_time * 1000).toISOString(),
        line_item: r.line_item,
        project_id: r.project_id,
        organization_id: null,
        amount: numberToDecimalString(r.amount.value),
        currency: r.amount.currency.toUpperCase(),
        run_id: ctx.run?.id ?? "adhoc",
        ingested_at: ingestedAt,
      });
    }
  }
  ctx.logger.info("cost rows collected", { rows: rows.length, pages: pages.length });
  return { rows, range };
});
