/**
 * `openai.usage`: every page of one Usage API endpoint (`endpoint:`, e.g. `completions`, `embeddings`, `images`;
 * see `OPENAI_USAGE_ENDPOINTS`) in 1d buckets for the run's UTC days, one row per day and group into that
 * endpoint's raw table. A row is the bucket's day and times, one column per group-by dimension of the endpoint
 * (null when not grouped by it) and one per result measure, as reported (completions `input_tokens` keeps cached
 * and cache-write tokens included; the cost step splits it). Decimal measures (transcription `seconds`) are stored
 * as the exact decimal text of the JSON number. Rows are streamed page by page (`pageBatches`).
 */
import {
  numberToDecimalString,
  OPENAI_USAGE_ENDPOINTS,
  type OpenAIUsageEndpoint,
  type OpenAIUsageEndpointGroupBy,
  type OpenAIUsageEndpointPage,
} from "../../providers/mod.ts";
import { openaiUsageSpec } from "../specs.ts";
import { defineProcessor } from "../registry.ts";
import type { ProcessorLogger } from "../context.ts";
import { type CheckedRange, dayRange, inRange, pageBatches } from "../_cost.ts";
import { dayOf, isoDay } from "../../time/day.ts";
import { openAIClient, unixWindow } from "./_client.ts";

/** The raw-table rows of one page of `endpoint`; buckets outside `range` are skipped with a warning. */
export function usagePageRows<E extends OpenAIUsageEndpoint>(
  endpoint: E,
  page: OpenAIUsageEndpointPage<E>,
  range: CheckedRange,
  meta: { runId: string; ingestedAt: string },
  logger: ProcessorLogger,
): Record<string, unknown>[] {
  const def = OPENAI_USAGE_ENDPOINTS[endpoint];
  const keys: readonly string[] = def.groupBy;
  const measures = Object.entries(def.measureKinds);
  const rows: Record<string, unknown>[] = [];
  for (const bucket of page.data) {
    const value = dayOf(new Date(bucket.start_time * 1000));
    const day = isoDay(value);
    if (!inRange(value, range)) {
      logger.warn("bucket outside the requested days skipped", { endpoint, day, from: range.from, to: range.to });
      continue;
    }
    const start = new Date(bucket.start_time * 1000).toISOString();
    const end = new Date(bucket.end_time * 1000).toISOString();
    for (const result of bucket.results) {
      const r = result as Record<string, unknown>;
      const row: Record<string, unknown> = { usage_date: day, bucket_start_time: start, bucket_end_time: end };
      for (const k of keys) row[k] = r[k];
      for (const [m, kind] of measures) {
        const v = r[m];
        row[m] = kind === "decimal" && typeof v === "number" ? numberToDecimalString(v) : v;
      }
      row.run_id = meta.runId;
      row.ingested_at = meta.ingestedAt;
      rows.push(row);
    }
  }
  return rows;
}

export const openaiUsageProcessor = defineProcessor(openaiUsageSpec, async (ctx, config) => {
  const endpoint = config.endpoint;
  const range = dayRange(config.start_date, config.end_date);
  const { start, end } = unixWindow(range);
  const meta = { runId: ctx.run?.id ?? "adhoc", ingestedAt: ctx.now().toISOString() };
  const rows = await pageBatches(
    ctx,
    `OpenAI ${endpoint.replaceAll("_", " ")} usage`,
    openAIClient(ctx).usage(endpoint, {
      start,
      end,
      bucketWidth: config.bucket_width,
      // The spec checks each dimension against the endpoint's own group_by options.
      groupBy: config.group_by as OpenAIUsageEndpointGroupBy<typeof endpoint>[],
      limit: config.page_limit,
    }),
    (page) => usagePageRows(endpoint, page, range, meta, ctx.logger),
  );
  return { rows, range };
});
