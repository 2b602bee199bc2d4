/**
 * Scheduler benchmark: BENCH_ORGS (default 1,000) orgs x 3 daily pipelines (deepseek/usage_cost, openai/usage_cost,
 * anthropic/usage_cost) through the real scheduler, executor and DuckDB warehouse, against the provider stand-ins
 * of tests/standins/ answering after BENCH_LATENCY_MS (default 50) ms. The stand-ins run in this process, the
 * product in a child (so neither steals the other's event loop). Target: the day drains within 1.5x of
 * provider_calls x latency / concurrency, where provider_calls is what the stand-ins actually answered. Two days
 * run: the first creates every org's tables; the second (the steady state) is the figure, with the CPU time the
 * product's process spent on it per run.
 * Run: deno run -A bench/scheduler.ts   (BENCH_CONCURRENCY, default 32)
 * Profiling: BENCH_CHILD_FLAGS passes Deno flags to the child (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, or
 * `--preload=<file>` to wrap the DuckDB client); BENCH_LOAD runs another child script with the same arguments.
 */
import { startDeepSeekStandIn } from "../tests/standins/deepseek.ts";
import { startOpenAIStandIn } from "../tests/standins/openai.ts";
import { startAnthropicStandIn } from "../tests/standins/anthropic.ts";

const ORGS = Number(Deno.env.get("BENCH_ORGS") ?? 1000);
const CONCURRENCY = Number(Deno.env.get("BENCH_CONCURRENCY") ?? 32);
const LATENCY_MS = Number(Deno.env.get("BENCH_LATENCY_MS") ?? 50);

const deepseek = startDeepSeekStandIn({ delayMs: LATENCY_MS });
const openai = startOpenAIStandIn({ delayMs: LATENCY_MS });
const anthropic = startAnthropicStandIn({ delayMs: LATENCY_MS });
const standIns = [deepseek, openai, anthropic];
try {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...(Deno.env.get("BENCH_CHILD_FLAGS")?.split(" ").filter(Boolean) ?? []),
      Deno.env.get("BENCH_LOAD") ?? new URL("./_scheduler_load.ts", import.meta.url).pathname,
      String(ORGS),
      String(CONCURRENCY),
      deepseek.baseUrl,
      openai.baseUrl,
      anthropic.baseUrl,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (out.code !== 0) throw new Error(`scheduler child failed: ${new TextDecoder().decode(out.stderr).slice(-3000)}`);
  const run = JSON.parse(text.split("\n").at(-1)!);
  // Calls made while the scheduled day ran: everything after setup (setup validates each key once).
  const calls = standIns.reduce((n, s) => n + s.requests.filter((r) => r.fault === undefined).length, 0);
  const setupCalls = 3 * ORGS;
  const providerCalls = calls - setupCalls;
  // Both days make the same calls; the ideal is per day.
  const idealMs = (providerCalls / 2 * LATENCY_MS) / CONCURRENCY;
  const [first, steady] = run.days as { actual_ms: number; enqueue_ms: number; cpu_ms: number; enqueued: number }[];
  console.log(JSON.stringify(
    {
      orgs: ORGS,
      pipelines: 3,
      runs: run.runs,
      provider_calls_per_day: providerCalls / 2,
      latency_ms: LATENCY_MS,
      concurrency: CONCURRENCY,
      ideal_ms: Math.round(idealMs),
      first_day_ms: first!.actual_ms,
      first_day_ratio: +(first!.actual_ms / idealMs).toFixed(2),
      steady_day_ms: steady!.actual_ms,
      ratio: +(steady!.actual_ms / idealMs).toFixed(2),
      target: 1.5,
      enqueue_ms: steady!.enqueue_ms,
      // CPU time of the product's process (all its threads) during the steady day, per run.
      steady_cpu_ms_per_run: +(steady!.cpu_ms / steady!.enqueued).toFixed(1),
      // Baseline of the same run: CPU of one small parameterised query on the same warehouse, and a run's CPU in
      // units of it. 1.5x of the ideal allows about (1.5 x ideal x cores / runs) ms of CPU per run.
      statement_floor_ms: run.statement_floor_ms,
      cpu_per_run_in_statements: +(steady!.cpu_ms / steady!.enqueued / run.statement_floor_ms).toFixed(1),
      cpu_budget_ms_per_run_at_target: +((1.5 * idealMs * navigator.hardwareConcurrency) / steady!.enqueued).toFixed(1),
      deferred_checkpoint_ms: run.checkpoint_ms,
      setup_ms: run.setup_ms,
      peak_rss_mb: run.peak_rss_mb,
      queue: run.queue,
      errors: run.errors,
    },
    null,
    2,
  ));
} finally {
  await Promise.all(standIns.map((s) => s.close()));
}
