/**
 * GCP billing benchmark: a generated Cloud Billing export of BENCH_GCP_ROWS (default 1,000,000) JSONL rows over
 * BENCH_GCP_DAYS (default 30) days, loaded by the real gcp/billing pipeline on the embedded default (DuckDB reads
 * the file, the rows stream in pages into gcp_billing_daily_raw), against DuckDB alone reading the same file into a
 * table (measured in the same run). Each side runs in its own child process, so its peak RSS is its own (VmHWM).
 * Target: peak RSS under 1 GiB whatever the size (the step held every row before: 5.1 GiB for 1M rows).
 * Run: deno run -A bench/gcp.ts   (BENCH_GCP_ROWS, BENCH_GCP_DAYS to change the size)
 */
import { exportDays, writeExport } from "../tests/fixtures/gcp_export_gen.ts";
import { fixed9 } from "../tests/fixtures/gcp_export.ts";
import { child } from "./_child.ts";

const ROWS = Number(Deno.env.get("BENCH_GCP_ROWS") ?? 1_000_000);
const DAYS = Number(Deno.env.get("BENCH_GCP_DAYS") ?? 30);
const FROM = "2025-03-01";
const days = exportDays(FROM, DAYS);

const dataDir = await Deno.makeTempDir({ prefix: "conv-bench-gcp-" });
try {
  const imports = `${dataDir}/imports/bench_gcp`;
  await Deno.mkdir(imports, { recursive: true });
  const file = `${imports}/billing_export.jsonl`;
  const { bytes, net } = await writeExport(file, ROWS, FROM, DAYS);
  const baseline = await child("./_gcp_duckdb_read.ts", [file]);
  const run = await child("./_gcp_load.ts", [dataDir, days[0]!, days.at(-1)!]);
  if (run.rows !== ROWS || baseline.rows !== ROWS) {
    throw new Error(`rows: pipeline ${run.rows}, baseline ${baseline.rows}, expected ${ROWS}`);
  }
  if (run.net_cost !== fixed9(net)) throw new Error(`net cost ${run.net_cost}, expected ${fixed9(net)} (exact)`);
  const baselineMs = baseline.baseline_ms as number;
  console.log(JSON.stringify(
    {
      rows: ROWS,
      days: DAYS,
      file_mb: Math.round(bytes / 2 ** 20),
      baseline_ms: baselineMs,
      pipeline_ms: run.pipeline_ms,
      ratio: +((run.pipeline_ms as number) / baselineMs).toFixed(2),
      net_cost: run.net_cost,
      net_cost_exact: true,
      peak_rss_mb: run.peak_rss_mb,
      rss_before_run_mb: run.rss_before_run_mb,
      target_rss_mb: 1024,
      baseline_peak_rss_mb: baseline.peak_rss_mb,
      rss_ratio: +((run.peak_rss_mb as number) / (baseline.peak_rss_mb as number)).toFixed(2),
    },
    null,
    2,
  ));
} finally {
  await Deno.remove(dataDir, { recursive: true }).catch(() => {}); // the child's harness removes it
}
