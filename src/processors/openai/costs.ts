/**
 * `openai.costs`: every page of `GET /organization/costs` (1d buckets) for the run's UTC days into
 * openai_costs_daily_raw. `amount.value` is a JSON number of dollars; it is stored as the decimal text of that
 * number (`numberToDecimalString`), never summed or rounded as a binary float here, and so is a line item's
 * `quantity` (in its `quantity_unit`). Rows are streamed page by page.
 */
import { numberToDecimalString } from "../../providers/mod.ts";
import { openaiCostsSpec } from "../specs.ts";
import { defineProcessor } from "../registry.ts";
import { dayRange, inRange, pageBatches } from "../_cost.ts";
import { dayOf, isoDay } from "../../time/day.ts";
import { openAIClient, unixWindow } from "./_client.ts";

export const openaiCostsProcessor = defineProcessor(openaiCostsSpec, async (ctx, config) => {
  const range = dayRange(config.start_date, config.end_date);
  const { start, end } = unixWindow(range);
  const ingestedAt = ctx.now().toISOString();
  const runId = ctx.run?.id ?? "adhoc";
  const rows = await pageBatches(
    ctx,
    "OpenAI costs",
    openAIClient(ctx).costs({ start, end, groupBy: config.group_by, limit: config.page_limit }),
    (page) => {
      const out: Record<string, unknown>[] = [];
      for (const bucket of page.data) {
        const value = dayOf(new Date(bucket.start_time * 1000));
        const day = isoDay(value);
        if (!inRange(value, range)) {
          ctx.logger.warn("bucket outside the requested days skipped", { day, from: range.from, to: range.to });
          continue;
        }
        const bucketStart = new Date(bucket.start_time * 1000).toISOString();
        const bucketEnd = new Date(bucket.end_time * 1000).toISOString();
        for (const r of bucket.results) {
          out.push({
            usage_date: day,
            bucket_start_time: bucketStart,
            bucket_end_time: bucketEnd,
            line_item: r.line_item,
            project_id: r.project_id,
            user_id: r.user_id,
            api_key_id: r.api_key_id,
            api_source: r.api_source,
            organization_id: null,
            amount: numberToDecimalString(r.amount.value),
            currency: r.amount.currency.toUpperCase(),
            quantity: r.quantity === null ? null : numberToDecimalString(r.quantity),
            quantity_unit: r.quantity_unit,
            run_id: runId,
            ingested_at: ingestedAt,
          });
        }
      }
      return out;
    },
  );
  return { rows, range };
});
