/**
 * `openai.usage`: every page of `GET /organization/usage/completions` in 1d buckets for the run's UTC days, one row
 * per day and group (model, project, batch, ... as configured) of openai_usage_daily_raw. `input_tokens` is kept as
 * reported (cached tokens included); the cost step splits it. Rows are streamed page by page (`pageBatches`).
 */
import type { OpenAIUsagePage } from "../../providers/mod.ts";
import { openaiUsageSpec } from "../specs.ts";
import { defineProcessor } from "../registry.ts";
import type { ProcessorLogger } from "../context.ts";
import { type CheckedRange, dayRange, inRange, pageBatches } from "../_cost.ts";
import { dayOf, isoDay } from "../../time/day.ts";
import { openAIClient, unixWindow } from "./_client.ts";

/** The openai_usage_daily_raw rows of one page; buckets outside `range` are skipped with a warning. */
export function usagePageRows(
  page: OpenAIUsagePage,
  range: CheckedRange,
  meta: { runId: string; ingestedAt: string },
  logger: ProcessorLogger,
): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const bucket of page.data) {
    const value = dayOf(new Date(bucket.start_time * 1000));
    const day = isoDay(value);
    if (!inRange(value, range)) {
      logger.warn("bucket outside the requested days skipped", { day, from: range.from, to: range.to });
      continue;
    }
    const start = new Date(bucket.start_time * 1000).toISOString();
    const end = new Date(bucket.end_time * 1000).toISOString();
    for (const r of bucket.results) {
      rows.push({
        usage_date: day,
        bucket_start_time: start,
        bucket_end_time: end,
        model: r.model,
        project_id: r.project_id,
        api_key_id: r.api_key_id,
        user_id: r.user_id,
        batch: r.batch,
        input_tokens: r.input_tokens,
        input_cached_tokens: r.input_cached_tokens,
        output_tokens: r.output_tokens,
        input_audio_tokens: r.input_audio_tokens,
        output_audio_tokens: r.output_audio_tokens,
        num_model_requests: r.num_model_requests,
        run_id: meta.runId,
        ingested_at: meta.ingestedAt,
      });
    }
  }
  return rows;
}

export const openaiUsageProcessor = defineProcessor(openaiUsageSpec, async (ctx, config) => {
  const range = dayRange(config.start_date, config.end_date);
  const { start, end } = unixWindow(range);
  const meta = { runId: ctx.run?.id ?? "adhoc", ingestedAt: ctx.now().toISOString() };
  const rows = await pageBatches(
    ctx,
    "OpenAI completions usage",
    openAIClient(ctx).usageCompletions({
      start,
      end,
      bucketWidth: config.bucket_width,
      groupBy: config.group_by,
      limit: config.page_limit,
    }),
    (page) => usagePageRows(page, range, meta, ctx.logger),
  );
  return { rows, range };
});
