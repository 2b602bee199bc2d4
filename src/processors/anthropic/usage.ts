/**
 * `anthropic.usage`: every page of `GET /v1/organizations/usage_report/messages` in 1d buckets for the run's UTC
 * days, one anthropic_usage_daily_raw row per day and group (model, workspace, API key, service tier as configured).
 */
import { anthropicUsageSpec } from "../specs.ts";
import { defineProcessor } from "../registry.ts";
import { allPages, dayRange, inRange } from "../_cost.ts";
import { dayOf, isoDay } from "../../time/day.ts";
import { anthropicClient, rfc3339Window } from "./_client.ts";

export const anthropicUsageProcessor = defineProcessor(anthropicUsageSpec, async (ctx, config) => {
  const range = dayRange(config.start_date, config.end_date);
  const pages = await allPages(
    ctx,
    "Anthropic messages usage",
    anthropicClient(ctx).usageReport({
      ...rfc3339Window(range),
      bucketWidth: config.bucket_width,
      groupBy: config.group_by,
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
        model: r.model,
        workspace_id: r.workspace_id,
        api_key_id: r.api_key_id,
        service_tier: r.service_tier,
        context_window: r.context_window,
        uncached_input_tokens: r.uncached_input_tokens,
        cache_creation_5m_tokens: r.cache_creation.ephemeral_5m_input_tokens,
        cache_creation_1h_tokens: r.cache_creation.ephemeral_1h_input_tokens,
        cache_read_input_tokens: r.cache_read_input_tokens,
        output_tokens: r.output_tokens,
        web_search_requests: r.server_tool_use?.web_search_requests ?? null,
        run_id: ctx.run?.id ?? "adhoc",
        ingested_at: ingestedAt,
      });
    }
  }
  ctx.logger.info("usage rows collected", { rows: rows.length, pages: pages.length });
  return { rows, range };
});
