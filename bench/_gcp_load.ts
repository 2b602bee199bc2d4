/**
 * Child of bench/gcp.ts: the real gcp/billing pipeline (executor, gcp.bq_etl, DuckDB warehouse) for one org over
 * the export's days, the file already under DATA_DIR/imports/bench_gcp/, then one JSON line with its timing, the
 * rows written, their total net cost and the peak RSS.
 * Args: <DATA_DIR> <start_date> <end_date>
 */
import { pipelines } from "../generated/manifest.ts";
import type { PipelineModule } from "../src/pipeline/module.ts";
import { startHarness } from "../tests/runtime/_harness.ts";
import { generateTestServiceAccount, startGcpOAuthStandIn } from "../tests/standins/gcp_oauth.ts";
import { peakRssMb, RssSampler } from "./_rss.ts";

const BENCH_GCP_ORG = "bench_gcp";
const [dataDir, from, to] = Deno.args;
{
  if (!dataDir || !from || !to) throw new Error("usage: _gcp_load.ts <DATA_DIR> <start_date> <end_date>");
  const oauth = startGcpOAuthStandIn();
  const sa = await generateTestServiceAccount();
  oauth.addAccount(sa.clientEmail, sa.publicKey);
  const env = { DATA_DIR: dataDir, GCP_TOKEN_URI: oauth.tokenUri, RATE_LIMIT_ENABLED: "false" };
  const h = await startHarness({ ...env, SCHEDULER_ENABLED: "false" });
  try {
    await h.bootstrap();
    const key = await h.onboard(BENCH_GCP_ORG, "SCALE");
    await h.setup(BENCH_GCP_ORG, "gcp", key, { credential: sa.json, billing_export_table: "billing_export.jsonl" });
    const pipeline = (pipelines as Record<string, PipelineModule>)["gcp/billing"]!;
    const startRss = Math.round(Deno.memoryUsage().rss / 2 ** 20);
    const sampler = new RssSampler();
    const t0 = performance.now();
    const started = await h.deps.executor.start(pipeline, BENCH_GCP_ORG, { start_date: from, end_date: to }, {
      trigger: "api",
      requestedBy: "bench",
    });
    const outcome = await started.done;
    const ms = performance.now() - t0;
    sampler.stop();
    if (outcome.status !== "COMPLETED") throw new Error(`run failed: ${outcome.error}`);
    const [sum] = await h.deps.warehouse.query<{ n: number; net: string }>(
      `SELECT COUNT(*) AS n, SUM(net_cost) AS net FROM ${BENCH_GCP_ORG}_local.gcp_billing_daily_raw`,
    );
    console.log(JSON.stringify({
      rows: Number(sum?.n ?? 0),
      net_cost: sum?.net,
      pipeline_ms: Math.round(ms),
      rss_before_run_mb: startRss,
      peak_rss_mb: Math.max(peakRssMb() ?? 0, sampler.peakMb),
    }));
  } finally {
    await h.close();
    await oauth.close();
  }
}
