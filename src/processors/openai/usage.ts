/**
 * `openai.usage`: every page of `GET /organization/usage/completions` in 1d buckets for the run's UTC days, one row
 * per day and group (model, project, batch, ... as configured) of openai_usage_daily_raw. `input_tokens` is kept as
 * reported (cached tokens included); the cost step splits it.
 */
import { openaiUsageSpec } from "../specs.ts";
import { defineProcessor } from "../registry.ts";
import { allPages, dayRange, utcDayOf } from "../_cost.ts";
import { openAIClient, unixWindow } from "./_client.ts";

export const openaiUsageProcessor = defineProcessor(openaiUsageSpec, async (ctx, config) => {
  const range = dayRange(config.start_date, config.end_date);
  const { start, end } = unixWindow(range);
  const pages = await allPages(
    ctx,
    "OpenAI completions usage",
    openAIClient(ctx).usageCompletions({
      start,
      end,
      bucketWidth: config.bucket_width,
      groupBy: config.group_by,
      limit: config.page_limit,
    }),
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
        run_id: ctx.run?.id ?? "adhoc",
        ingested_at: ingestedAt,
      });
    }
  }
  ctx.logger.info("usage rows collected", { rows: rows.length, pages: pages.length });
  return { rows, range };
});
