/**
 * Pipeline benchmark: BENCH_ROWS (default 1,000,000) OpenAI usage rows, paged from a loopback stand-in, through the
 * real openai/usage_cost pipeline into DuckDB, against a plain `@duckdb/node-api` appender load of the same rows
 * into a table of the same schema (measured in the same run). Each side runs in its own child process, so its peak
 * RSS is its own (VmHWM). Targets: the extract_usage step (fetch, validate, DQ-check, write openai_usage_daily_raw)
 * within 3x the baseline, peak RSS under 1 GiB.
 * Run: deno run -A bench/pipeline.ts   (BENCH_ROWS, BENCH_DAYS to change the size)
 */
import { bulkShape, serveBulkOpenAI } from "./_openai_bulk.ts";
import { child } from "./_child.ts";

const ROWS = Number(Deno.env.get("BENCH_ROWS") ?? 1_000_000);
const DAYS = Number(Deno.env.get("BENCH_DAYS") ?? 250);
const FROM = "2025-01-01";
const perDay = Math.ceil(ROWS / DAYS);
const to = new Date(Date.parse(`${FROM}T00:00:00Z`) + (DAYS - 1) * 86_400_000).toISOString().slice(0, 10);

const baseline = await child("./_appender_load.ts", [String(perDay), FROM, String(DAYS)]);
const standIn = serveBulkOpenAI(bulkShape(perDay));
let run: Record<string, unknown>;
try {
  run = await child("./_pipeline_load.ts", [standIn.baseUrl, FROM, to]);
} finally {
  await standIn.close();
}
const steps = run.steps as Record<string, { ms: number; rows: number }>;
const baselineMs = baseline.baseline_ms as number;
const usageMs = steps.extract_usage!.ms;
console.log(JSON.stringify(
  {
    rows: run.rows,
    days: DAYS,
    rows_per_day: perDay,
    provider_pages: standIn.calls,
    baseline_ms: baselineMs,
    pipeline_ms: usageMs,
    ratio: +(usageMs / baselineMs).toFixed(2),
    target: 3,
    whole_pipeline_ms: run.pipeline_ms,
    whole_pipeline_ratio: +((run.pipeline_ms as number) / baselineMs).toFixed(2),
    steps,
    peak_rss_mb: run.peak_rss_mb,
    target_rss_mb: 1024,
    baseline_peak_rss_mb: baseline.peak_rss_mb,
  },
  null,
  2,
));
