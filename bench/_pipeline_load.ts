/**
 * Child of bench/pipeline.ts: the real openai/usage_cost pipeline (executor, processors, DuckDB warehouse) for one
 * org over a range of days against the bulk stand-in, then one JSON line with its timings and peak RSS.
 * Args: <OPENAI_BASE_URL> <start_date> <end_date>
 */
import { pipelines } from "../generated/manifest.ts";
import type { PipelineModule } from "../src/pipeline/module.ts";
import { startHarness } from "../tests/runtime/_harness.ts";
import { BULK_KEY } from "./_openai_bulk.ts";
import { peakRssMb, RssSampler } from "./_rss.ts";

const [baseUrl, from, to] = Deno.args;
if (!baseUrl || !from || !to) throw new Error("usage: _pipeline_load.ts <OPENAI_BASE_URL> <start_date> <end_date>");
const ORG = "bench_bulk";

const h = await startHarness({ OPENAI_BASE_URL: baseUrl, RATE_LIMIT_ENABLED: "false", SCHEDULER_ENABLED: "false" });
try {
  await h.bootstrap();
  const key = await h.onboard(ORG, "SCALE");
  const setup = await h.request("POST", `/api/v1/integrations/${ORG}/openai/setup`, {
    key,
    body: { credential: BULK_KEY },
  });
  if (setup.status !== 200) throw new Error(`integration setup failed: ${setup.status} ${setup.text}`);
  const pipeline = (pipelines as Record<string, PipelineModule>)["openai/usage_cost"]!;
  const sampler = new RssSampler();
  const t0 = performance.now();
  const started = await h.deps.executor.start(pipeline, ORG, { start_date: from, end_date: to }, {
    trigger: "api",
    requestedBy: "bench",
  });
  const outcome = await started.done;
  const pipelineMs = performance.now() - t0;
  sampler.stop();
  if (outcome.status !== "COMPLETED") throw new Error(`run failed: ${outcome.error}`);
  const steps = await h.deps.warehouse.query<{ step_id: string; duration_ms: number; rows_written: number }>(
    `SELECT step_id, duration_ms, rows_written FROM organizations.org_meta_step_logs WHERE run_id = @id ORDER BY step_index`,
    { id: outcome.runId },
  );
  const [count] = await h.deps.warehouse.query<{ n: number }>(
    `SELECT COUNT(*) AS n FROM ${ORG}_local.openai_usage_daily_raw`,
  );
  console.log(JSON.stringify({
    rows: Number(count?.n ?? 0),
    pipeline_ms: Math.round(pipelineMs),
    steps: Object.fromEntries(
      steps.map((s) => [s.step_id, { ms: Number(s.duration_ms), rows: Number(s.rows_written) }]),
    ),
    peak_rss_mb: Math.max(peakRssMb() ?? 0, sampler.peakMb),
  }));
} finally {
  await h.close();
}
