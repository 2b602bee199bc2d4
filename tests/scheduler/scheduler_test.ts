/** The scheduler: exactly one run per (org, pipeline, day) however many triggers fire, bounded concurrency, one claim per outcome, restarts. */
import assert from "node:assert/strict";
import { type Harness, ROOT, startHarness } from "../runtime/_harness.ts";
import { DEEPSEEK_STANDIN_KEY, startDeepSeekStandIn } from "../standins/deepseek.ts";
import { addDays, dayOf, isoDay } from "../../src/time/day.ts";

/** A pass-through proxy in front of a stand-in that records the most calls it saw in flight at once. */
function countingProxy(target: string) {
  let inFlight = 0;
  const stats = { max: 0, calls: 0 };
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    inFlight++;
    stats.calls++;
    stats.max = Math.max(stats.max, inFlight);
    try {
      const u = new URL(req.url);
      const res = await fetch(target + u.pathname + u.search, { headers: req.headers });
      return new Response(await res.arrayBuffer(), { status: res.status, headers: res.headers });
    } finally {
      inFlight--;
    }
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, stats, close: () => server.shutdown() };
}

// DeepSeek has no history API: a balance snapshot can only be recorded for recent days.
const day = (offset: number) => isoDay(addDays(dayOf(new Date()), offset));
const DAY = day(-1);

async function schedulerRuns(h: Harness, day = DAY) {
  return await h.deps.warehouse.query<{ org_slug: string; status: string; trigger: string }>(
    `SELECT org_slug, status, trigger FROM organizations.org_meta_pipeline_runs
     WHERE trigger = 'scheduler' AND logical_date = CAST(@day AS DATE) ORDER BY org_slug`,
    { day },
  );
}

Deno.test("scheduler: duplicate triggers and a cron tick give exactly one run per org; only VALID integrations; bounded concurrency", async (t) => {
  const deepseek = startDeepSeekStandIn({ delayMs: 150 });
  const proxy = countingProxy(deepseek.url);
  const h = await startHarness({
    DEEPSEEK_BASE_URL: proxy.url,
    SCHEDULER_CONCURRENCY: "2",
    RATE_LIMIT_ENABLED: "false",
  });
  try {
    await h.bootstrap();
    const keys: Record<string, string> = {};
    for (const org of ["sched_a", "sched_b", "sched_c", "sched_d", "sched_none", "sched_bad"]) {
      keys[org] = await h.onboard(org, "SCALE");
    }
    for (const org of ["sched_a", "sched_b", "sched_c", "sched_d", "sched_bad"]) {
      const r = await h.request("POST", `/api/v1/integrations/${org}/deepseek/setup`, {
        key: keys[org],
        body: { credential: DEEPSEEK_STANDIN_KEY },
      });
      assert.equal(r.status, 200, r.text);
    }
    await h.deps.warehouse.execute(
      "UPDATE organizations.org_integration_credentials SET validation_status = 'INVALID' WHERE org_slug = 'sched_bad'",
    );
    proxy.stats.max = 0;
    await t.step("two API triggers and a cron tick for the same day enqueue once", async () => {
      const [a, b, tick] = await Promise.all([
        h.request("POST", "/api/v1/scheduler/trigger", { root: true, body: { date: DAY } }),
        h.request("POST", "/api/v1/scheduler/trigger", { root: true, body: { date: DAY } }),
        h.deps.scheduler.enqueueDay(DAY, { trigger: "cron" }),
      ]);
      assert.equal(a.status, 200, a.text);
      assert.equal(b.status, 200, b.text);
      assert.equal(a.json.enqueued + b.json.enqueued + tick.enqueued, 4, "4 orgs with a VALID DeepSeek integration");
      assert.equal(a.json.eligible, 4);
      await h.deps.scheduler.idle();
      const again = await h.request("POST", "/api/v1/scheduler/trigger", {
        root: true,
        body: { date: DAY, wait: true },
      });
      assert.equal(again.json.enqueued, 0);
      assert.equal(again.json.already_queued, 4);
    });
    await t.step("each valid org ran once, the others not at all, and the runs are visible to the org", async () => {
      const runs = await schedulerRuns(h);
      assert.deepEqual(runs.map((r) => r.org_slug), ["sched_a", "sched_b", "sched_c", "sched_d"]);
      assert.ok(runs.every((r) => r.status === "COMPLETED"), JSON.stringify(runs));
      const list = await h.request("GET", "/api/v1/pipelines/runs/sched_a", { key: keys.sched_a });
      assert.equal(list.json.runs.filter((r: { trigger: string }) => r.trigger === "scheduler").length, 1);
      const none = await h.request("GET", "/api/v1/pipelines/runs/sched_none", { key: keys.sched_none });
      assert.equal(none.json.runs.length, 0);
      const [rec] = await h.deps.warehouse.query<{ n: number }>(
        "SELECT COUNT(*) AS n FROM organizations.org_scheduled_pipeline_runs WHERE logical_date = CAST(@d AS DATE) AND status = 'COMPLETED'",
        { d: DAY },
      );
      assert.equal(Number(rec!.n), 4);
    });
    await t.step("never more than SCHEDULER_CONCURRENCY runs at once", () => {
      assert.ok(proxy.stats.max <= 2, `max in flight ${proxy.stats.max}`);
      assert.ok(proxy.stats.max >= 2, `the pool ran in parallel (max in flight ${proxy.stats.max})`);
    });
    await t.step("a failed scheduled run is retried by the pipeline's retry: as the same run", async () => {
      deepseek.faults.fail5xx = 5; // one run's provider calls exhaust their retries, the whole-run retry succeeds
      const r = await h.deps.scheduler.enqueueDay(day(0), { trigger: "cron", orgs: ["sched_a"] });
      assert.equal(r.enqueued, 1);
      const deadline = Date.now() + 20_000;
      let q: { status: string; attempts: number }[] = [];
      while (Date.now() < deadline) {
        await h.deps.scheduler.idle();
        q = await h.deps.warehouse.query(
          "SELECT status, attempts FROM organizations.org_pipeline_execution_queue WHERE org_slug = 'sched_a' AND logical_date = CAST(@d AS DATE)",
          { d: day(0) },
        );
        if (q[0]?.status === "DONE" || q[0]?.status === "FAILED") break;
        await new Promise((res) => setTimeout(res, 200));
      }
      assert.equal(q[0]?.status, "DONE", JSON.stringify(q));
      assert.equal(Number(q[0]?.attempts), 1, "one queue attempt: the run retried itself (one retry policy)");
      const runs = await h.deps.warehouse.query<{ status: string; attempt: number }>(
        `SELECT status, attempt FROM organizations.org_meta_pipeline_runs
         WHERE trigger = 'scheduler' AND logical_date = CAST(@day AS DATE)`,
        { day: day(0) },
      );
      assert.deepEqual(runs.map((x) => [x.status, Number(x.attempt)]), [["COMPLETED", 2]]);
    });
    await t.step("the trigger needs the root key and a sane date", async () => {
      assert.equal((await h.request("POST", "/api/v1/scheduler/trigger", { key: keys.sched_a, body: {} })).status, 401);
      assert.equal((await h.request("POST", "/api/v1/scheduler/trigger", { root: ROOT + "x", body: {} })).status, 401);
      const future = await h.request("POST", "/api/v1/scheduler/trigger", { root: true, body: { date: "2999-01-01" } });
      assert.equal(future.status, 400);
      const bad = await h.request("POST", "/api/v1/scheduler/trigger", { root: true, body: { date: "yesterday" } });
      assert.equal(bad.status, 400);
    });
  } finally {
    h.deps.scheduler.stop();
    await h.close();
    await proxy.close();
    await deepseek.close();
  }
});

Deno.test("scheduler: queued and claimed work survives a restart; a DeepSeek backfill is refused with its reason", async (t) => {
  const deepseek = startDeepSeekStandIn();
  const env = { DEEPSEEK_BASE_URL: deepseek.url, RATE_LIMIT_ENABLED: "false" };
  let h = await startHarness(env);
  try {
    await h.bootstrap();
    const key = await h.onboard("restart_org", "SCALE");
    assert.equal(
      (await h.request("POST", "/api/v1/integrations/restart_org/deepseek/setup", {
        key,
        body: { credential: DEEPSEEK_STANDIN_KEY },
      })).status,
      200,
    );
    await t.step("queued items are still there after the process restarts, and run", async () => {
      const candidates = [day(-2), day(-1)].map((d) => ({
        org_slug: "restart_org",
        pipeline_path: "deepseek/usage_cost",
        pipeline_id: "deepseek-usage-cost",
        schedule: "daily",
        logical_date: d,
        params: { date: d },
      }));
      assert.equal(await h.deps.scheduler.queue.enqueue(candidates, "scheduler", 3, new Date()), 2);
      // One item was claimed by a worker that then died.
      await h.deps.warehouse.execute(
        "UPDATE organizations.org_pipeline_execution_queue SET status = 'CLAIMED', claimed_by = 'dead-worker' WHERE logical_date = CAST(@d AS DATE)",
        { d: day(-2) },
      );
      const dir = h.dataDir;
      h.deps.scheduler.stop();
      await h.deps.warehouse.close();
      h = await startHarness({ ...env, DATA_DIR: dir });
      await h.deps.scheduler.resume(true);
      await h.deps.scheduler.idle();
      const q = await h.deps.warehouse.query<{ status: string }>(
        "SELECT status FROM organizations.org_pipeline_execution_queue WHERE org_slug = 'restart_org' ORDER BY logical_date",
      );
      assert.deepEqual(q.map((r) => r.status), ["DONE", "DONE"]);
    });
    await t.step("DeepSeek cannot be backfilled, and the refusal says why", async () => {
      const r = await h.request("POST", "/api/v1/pipelines/backfill/restart_org", {
        key,
        body: { pipeline: "deepseek/usage_cost", start_date: day(-2), end_date: day(0) },
      });
      assert.equal(r.status, 422, r.text);
      assert.equal(r.json.error.code, "BACKFILL_NOT_SUPPORTED");
      assert.match(r.json.error.message, /balance as it is now/);
    });
  } finally {
    h.deps.scheduler.stop();
    await h.close();
    await deepseek.close();
  }
});
