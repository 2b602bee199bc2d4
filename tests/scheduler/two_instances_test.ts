/**
 * Two instances (Cloud Run scaled out) on one BigQuery warehouse: two scheduler + executor stacks, each with its own
 * `BigQueryWarehouse` client, against the BigQuery stand-in that runs the SQL and rejects conflicting concurrent DML
 * as BigQuery does. Triggered for the same day at once, each (org, pipeline, day) must run exactly once.
 */
import assert from "node:assert/strict";
import { addDays, dayOf, isoDay } from "../../src/time/day.ts";
import { DEEPSEEK_STANDIN_KEY, startDeepSeekStandIn } from "../standins/deepseek.ts";
import { startTwins } from "../_bigquery_twins.ts";

const DAY = isoDay(addDays(dayOf(new Date()), -1));
const ORGS = ["twin_a", "twin_b", "twin_c"];

/** One candidate per org for a made-up daily pipeline key of `day` (queue rows only, never run). */
function candidatesFor(day: string) {
  return ORGS.map((org) => ({
    org_slug: org,
    pipeline_path: "twin/race",
    pipeline_id: "twin_race",
    schedule: "daily",
    logical_date: day,
    params: {},
  }));
}

Deno.test("two instances on the BigQuery stand-in, triggered for the same day at once, run each (org, pipeline, day) once", async (t) => {
  const deepseek = startDeepSeekStandIn({ delayMs: 20 });
  // Mutating DML holds its snapshot 5 ms, so the two instances' claims and bookkeeping really overlap.
  const twins = await startTwins({
    DEEPSEEK_BASE_URL: deepseek.url,
    SCHEDULER_CONCURRENCY: "2",
  }, { dmlRunMillis: 5 });
  const logs = twins.logs;
  try {
    const [a, b] = twins.stacks;
    assert.notEqual(a.executor.workerId, b.executor.workerId);

    await t.step("instance A bootstraps, onboards the orgs and sets up their DeepSeek integrations", async () => {
      await twins.bootstrap();
      for (const org of ORGS) {
        const key = await twins.onboard(org, "SCALE");
        await twins.setup(org, key, "deepseek", DEEPSEEK_STANDIN_KEY);
      }
    });

    let eligible = 0;
    await t.step("both schedulers enqueue the same day at once: the keys are queued once between them", async () => {
      const results = await Promise.all([
        a.scheduler.enqueueDay(DAY, { trigger: "scheduler" }),
        b.scheduler.enqueueDay(DAY, { trigger: "scheduler" }),
      ]);
      eligible = results[0].eligible;
      assert.ok(eligible >= ORGS.length, `every org has a due DeepSeek pipeline (eligible ${eligible})`);
      assert.equal(results[1].eligible, eligible);
      assert.equal(results[0].enqueued + results[1].enqueued, eligible, JSON.stringify(results));
      const dupes = await a.warehouse.query<{ dedupe_key: string; n: number }>(
        `SELECT dedupe_key, COUNT(*) AS n FROM organizations.org_pipeline_execution_queue
         WHERE logical_date = CAST(@d AS DATE) GROUP BY dedupe_key HAVING COUNT(*) > 1`,
        { d: DAY },
      );
      assert.deepEqual(dupes, []);
    });

    await t.step("racing enqueues for ten more days never queue a key twice", async () => {
      const days = Array.from({ length: 10 }, (_, i) => isoDay(addDays(dayOf(new Date()), -2 - i)));
      const results = await Promise.all(days.flatMap((d) => [
        a.scheduler.queue.enqueue(candidatesFor(d), "backfill", 3, new Date()),
        b.scheduler.queue.enqueue(candidatesFor(d), "backfill", 3, new Date()),
      ]));
      assert.equal(results.reduce((x, y) => x + y, 0), days.length * ORGS.length, JSON.stringify(results));
      const dupes = await a.warehouse.query<{ dedupe_key: string; n: number }>(
        `SELECT dedupe_key, COUNT(*) AS n FROM organizations.org_pipeline_execution_queue
         GROUP BY dedupe_key HAVING COUNT(*) > 1`,
      );
      assert.deepEqual(dupes, []);
      await a.warehouse.execute(
        `DELETE FROM organizations.org_pipeline_execution_queue WHERE logical_date <> CAST(@d AS DATE)`,
        { d: DAY },
      );
      await a.warehouse.execute(
        `DELETE FROM organizations.org_scheduled_pipeline_runs WHERE logical_date <> CAST(@d AS DATE)`,
        { d: DAY },
      );
    });

    await t.step(
      "both instances drain the queue: each (org, pipeline, day) ran exactly once and completed",
      async () => {
        for (let round = 0; round < 3; round++) {
          a.scheduler.kick();
          b.scheduler.kick();
          await Promise.all([a.scheduler.idle(), b.scheduler.idle()]);
        }
        const runs = await a.warehouse.query<{ org_slug: string; pipeline_path: string; n: number; done: number }>(
          `SELECT org_slug, pipeline_path, COUNT(*) AS n, COUNTIF(status = 'COMPLETED') AS done
         FROM organizations.org_meta_pipeline_runs
         WHERE trigger = 'scheduler' AND logical_date = CAST(@d AS DATE)
         GROUP BY org_slug, pipeline_path ORDER BY org_slug, pipeline_path`,
          { d: DAY },
        );
        assert.equal(runs.length, eligible, JSON.stringify(runs));
        for (const r of runs) {
          assert.equal(Number(r.n), 1, `${r.org_slug} ${r.pipeline_path} ran ${r.n} times`);
          assert.equal(Number(r.done), 1, `${r.org_slug} ${r.pipeline_path} completed`);
        }
        const queue = await a.warehouse.query<{ status: string; n: number }>(
          `SELECT status, COUNT(*) AS n FROM organizations.org_pipeline_execution_queue
         WHERE logical_date = CAST(@d AS DATE) GROUP BY status`,
          { d: DAY },
        );
        assert.deepEqual(queue.map((q) => [q.status, Number(q.n)]), [["DONE", eligible]]);
        const workers = await a.warehouse.query<{ worker_id: string }>(
          `SELECT DISTINCT worker_id FROM organizations.org_meta_pipeline_runs WHERE logical_date = CAST(@d AS DATE)`,
          { d: DAY },
        );
        assert.ok(workers.length >= 1);
        assert.deepEqual(logs.filter((l) => l.includes("pump failed")), [], "no pump lost its loop to a conflict");
      },
    );
  } finally {
    await twins.close();
    await deepseek.close();
  }
});
