/**
 * Child of bench/scheduler.ts: the real app (harness: DuckDB file, local vault, executor, scheduler) with ORGS orgs
 * onboarded and DeepSeek, OpenAI and Anthropic integrations set up through the API, then one scheduler day of the
 * three daily pipelines; prints one JSON line with the timings and the run outcomes.
 * Args: <orgs> <concurrency> <deepseek_url> <openai_base_url> <anthropic_url>
 */
import { startHarness } from "../tests/runtime/_harness.ts";
import { DEEPSEEK_STANDIN_KEY } from "../tests/standins/deepseek.ts";
import { OPENAI_STANDIN_KEY } from "../tests/standins/openai.ts";
import { ANTHROPIC_STANDIN_KEY } from "../tests/standins/anthropic.ts";
import { addDays, dayOf, isoDay } from "../src/time/day.ts";
import { peakRssMb, RssSampler } from "./_rss.ts";
import process from "node:process";

const [orgsArg, concurrency, deepseek, openai, anthropic] = Deno.args;
const ORGS = Number(orgsArg);
const PATHS = ["deepseek/usage_cost", "openai/usage_cost", "anthropic/usage_cost"];
const SETUP = [["deepseek", DEEPSEEK_STANDIN_KEY], ["openai", OPENAI_STANDIN_KEY], [
  "anthropic",
  ANTHROPIC_STANDIN_KEY,
]];

const h = await startHarness({
  DEEPSEEK_BASE_URL: deepseek!,
  OPENAI_BASE_URL: openai!,
  ANTHROPIC_BASE_URL: anthropic!,
  SCHEDULER_CONCURRENCY: concurrency!,
  SCHEDULER_ENABLED: "false",
  RATE_LIMIT_ENABLED: "false",
  LOG_LEVEL: "warn",
});

/** CPU time of this process (all threads) since `start`, in ms. */
function cpuMsSince(start: ReturnType<typeof process.cpuUsage>): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

/** Runs `fn` over `items`, `width` at a time. */
async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

try {
  const t0 = performance.now();
  await h.bootstrap();
  const orgs = Array.from({ length: ORGS }, (_, i) => `sched_bench_${String(i).padStart(4, "0")}`);
  await pool(orgs, 16, async (org) => {
    const key = await h.onboard(org, "SCALE");
    for (const [provider, credential] of SETUP) {
      const r = await h.request("POST", `/api/v1/integrations/${org}/${provider}/setup`, { key, body: { credential } });
      if (r.status !== 200) throw new Error(`${provider} setup for ${org} failed: ${r.status} ${r.text}`);
    }
  });
  const setupMs = performance.now() - t0;
  // Two scheduler days: the first creates every org's tables, the second is the steady state.
  const days = [-2, -1].map((n) => isoDay(addDays(dayOf(new Date()), n)));
  const sampler = new RssSampler();
  const timings: { day: string; enqueued: number; enqueue_ms: number; actual_ms: number; cpu_ms: number }[] = [];
  for (const day of days) {
    const cpu0 = process.cpuUsage();
    const t1 = performance.now();
    const enqueued = await h.deps.scheduler.enqueueDay(day, { trigger: "scheduler", paths: PATHS });
    const enqueueMs = performance.now() - t1;
    await h.deps.scheduler.idle();
    timings.push({
      day,
      enqueued: enqueued.enqueued,
      enqueue_ms: Math.round(enqueueMs),
      actual_ms: Math.round(performance.now() - t1),
      cpu_ms: Math.round(cpuMsSince(cpu0)),
    });
  }
  sampler.stop();
  // The checkpoint deferred while the days ran (the warehouse checkpoints when quiet): its cost, for the record.
  const t2 = performance.now();
  const checkpointed = await (h.deps.warehouse as { checkpoint?: () => Promise<boolean> }).checkpoint?.();
  const checkpointMs = Math.round(performance.now() - t2);
  // A baseline in the same process and warehouse: the CPU of one small parameterised query (an org's profile by
  // slug), one after another, i.e. DuckDB's floor per statement here.
  const FLOOR_QUERIES = 500;
  const floorCpu0 = process.cpuUsage();
  for (let i = 0; i < FLOOR_QUERIES; i++) {
    await h.deps.warehouse.query("SELECT org_slug FROM organizations.org_profiles WHERE org_slug = @org_slug", {
      org_slug: orgs[i % orgs.length]!,
    });
  }
  const floorMs = cpuMsSince(floorCpu0) / FLOOR_QUERIES;
  const runs = await h.deps.warehouse.query<{ status: string; n: number }>(
    `SELECT status, COUNT(*) AS n FROM organizations.org_meta_pipeline_runs
     WHERE trigger = 'scheduler' GROUP BY status`,
  );
  const errors = await h.deps.warehouse.query<{ error_message: string; n: number }>(
    `SELECT error_message, COUNT(*) AS n FROM organizations.org_meta_pipeline_runs
     WHERE trigger = 'scheduler' AND status = 'FAILED' GROUP BY error_message ORDER BY n DESC LIMIT 3`,
  );
  console.log(JSON.stringify({
    setup_ms: Math.round(setupMs),
    days: timings,
    checkpoint_ms: checkpointed ? checkpointMs : null,
    statement_floor_ms: +floorMs.toFixed(3),
    runs: Object.fromEntries(runs.map((r) => [r.status, Number(r.n)])),
    errors,
    queue: await h.deps.scheduler.queue.progress({}),
    peak_rss_mb: Math.max(peakRssMb() ?? 0, sampler.peakMb),
  }));
} finally {
  h.deps.scheduler.stop();
  await h.close();
}
