/**
 * Child of bench/pipeline.ts, the baseline: the same rows the bulk stand-in serves, already in memory as the values
 * `@duckdb/node-api` takes, appended with a plain appender (2048-row data chunks) into a table of the same schema
 * as openai_usage_daily_raw in a fresh DuckDB file. Only the append is timed. Prints one JSON line.
 * Args: <groups_per_day> <start_date> <days>
 */
import { dateValue, DuckDBDataChunk, DuckDBInstance, type DuckDBValue, timestampTZValue } from "@duckdb/node-api";
import { pipelines } from "../generated/manifest.ts";
import type { PipelineModule } from "../src/pipeline/module.ts";
import { bulkGroup, bulkShape, bulkTokens } from "./_openai_bulk.ts";
import { peakRssMb } from "./_rss.ts";

const [perDayArg, from, daysArg] = Deno.args;
const perDay = Number(perDayArg);
const days = Number(daysArg);
if (!perDay || !from || !days) throw new Error("usage: _appender_load.ts <groups_per_day> <start_date> <days>");

const schema = (pipelines as Record<string, PipelineModule>)["openai/usage_cost"]!.tables.openai_usage_daily_raw!;
const SQL_TYPES: Record<string, string> = {
  STRING: "VARCHAR",
  INT64: "BIGINT",
  BOOLEAN: "BOOLEAN",
  DATE: "DATE",
  TIMESTAMP: "TIMESTAMPTZ",
};
const ddl = schema.fields.map((f) => `"${f.name}" ${SQL_TYPES[f.type]}${f.mode === "REQUIRED" ? " NOT NULL" : ""}`);

const dir = await Deno.makeTempDir({ prefix: "conv-bench-appender-" });
const instance = await DuckDBInstance.create(`${dir}/baseline.duckdb`);
const c = await instance.connect();
await c.run(`CREATE TABLE openai_usage_daily_raw (${ddl.join(", ")})`);

// The rows, column by column, as appender values.
const shape = bulkShape(perDay);
const total = perDay * days;
const names = schema.fields.map((f) => f.name);
const columns = names.map(() => new Array<DuckDBValue>(total));
const set = (name: string, row: number, value: DuckDBValue) => (columns[names.indexOf(name)]![row] = value);
const firstDay = Date.parse(`${from}T00:00:00Z`) / 86_400_000;
const ingested = timestampTZValue(BigInt(Date.now()) * 1000n);
for (let d = 0, row = 0; d < days; d++) {
  const day = firstDay + d;
  const date = dateValue(day);
  const start = timestampTZValue(BigInt(day) * 86_400_000_000n);
  const end = timestampTZValue(BigInt(day + 1) * 86_400_000_000n);
  for (let i = 0; i < perDay; i++, row++) {
    const g = bulkGroup(shape, i);
    const t = bulkTokens(day, i);
    set("usage_date", row, date);
    set("bucket_start_time", row, start);
    set("bucket_end_time", row, end);
    set("model", row, g.model);
    set("project_id", row, g.project);
    set("api_key_id", row, null);
    set("user_id", row, null);
    set("batch", row, false);
    set("input_tokens", row, BigInt(t.input_tokens));
    set("input_cached_tokens", row, BigInt(t.input_cached_tokens));
    set("output_tokens", row, BigInt(t.output_tokens));
    set("input_audio_tokens", row, 0n);
    set("output_audio_tokens", row, 0n);
    set("num_model_requests", row, BigInt(t.num_model_requests));
    set("run_id", row, "baseline");
    set("ingested_at", row, ingested);
  }
}

const t0 = performance.now();
const appender = await c.createAppender("openai_usage_daily_raw");
const types = names.map((_, i) => appender.columnType(i));
for (let start = 0; start < total; start += 2048) {
  const count = Math.min(2048, total - start);
  const chunk = DuckDBDataChunk.create(types, count);
  columns.forEach((col, i) => chunk.setColumnValues(i, col.slice(start, start + count)));
  appender.appendDataChunk(chunk);
}
appender.flushSync();
appender.closeSync();
const ms = performance.now() - t0;
const check = await c.runAndReadAll("SELECT COUNT(*) FROM openai_usage_daily_raw");
const rows = Number(check.getRows()[0]![0]);
c.closeSync();
instance.closeSync();
await Deno.remove(dir, { recursive: true });
console.log(JSON.stringify({ rows, baseline_ms: Math.round(ms), peak_rss_mb: peakRssMb() ?? null }));
