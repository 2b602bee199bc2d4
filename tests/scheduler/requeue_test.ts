/**
 * Failed days are readable and can be queued again: a FAILED item shows its run's error in the org's listing;
 * `POST /scheduler/trigger {"date": D}` re-queues D's FAILED items and a backfill over a range re-queues the
 * range's FAILED items (and queues the missing days), each ending DONE once the cause is gone.
 */
import assert from "node:assert/strict";
import { Clock, items, startRig } from "./_setup.ts";
import { addDays, dayOf, isoDay } from "../../src/time/day.ts";

/** Noon on the 20th of last month: the trigger's day (the 18th) is mid-month, its reload window the 16th..18th. */
function midMonth(): Clock {
  const now = new Date();
  return new Clock(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 20, 12));
}

Deno.test("a FAILED day is listed with its error and queued again by the trigger and by a backfill", async (t) => {
  const { rig } = await startRig({ clock: midMonth() });
  try {
    const key = await rig.onboard("requeue_org", "PROFESSIONAL");
    await rig.setupThree("requeue_org", key);
    const exportFile = `${rig.dataDir}/imports/requeue_org/export.jsonl`;
    const saved = await Deno.readTextFile(exportFile);
    const today = dayOf(rig.clock.now());
    const date = isoDay(addDays(today, -2));
    const gcp = async (day: string) =>
      (await items(rig, "requeue_org", key, "&pipeline=gcp/billing")).find((x) => x.logical_date === day);

    await t.step("a run that fails leaves its item FAILED after one attempt, with the run's error listed", async () => {
      await Deno.remove(exportFile);
      const r = await rig.request("POST", "/api/v1/scheduler/trigger", { root: true, body: { date, wait: true } });
      assert.equal(r.json.enqueued, 3, r.text);
      const item = await gcp(date);
      assert.equal(item?.status, "FAILED", JSON.stringify(item));
      assert.equal(item?.attempts, 1);
      assert.ok(item?.run_id, "the failed run is named");
      const [run] = await rig.deps.warehouse.query<{ error_message: string }>(
        "SELECT error_message FROM organizations.org_meta_pipeline_runs WHERE run_id = @id",
        { id: item!.run_id },
      );
      assert.equal(item?.last_error, run?.error_message);
      assert.ok(item!.last_error!.length > 0);
      const failedOnly = await items(rig, "requeue_org", key, "&status=FAILED");
      assert.deepEqual(failedOnly.map((x) => x.pipeline), ["gcp/billing"]);
    });

    await t.step("the trigger for that date re-queues its FAILED item, which then completes", async () => {
      await Deno.writeTextFile(exportFile, saved);
      const r = await rig.request("POST", "/api/v1/scheduler/trigger", { root: true, body: { date, wait: true } });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.requeued, 1);
      assert.equal(r.json.enqueued, 0);
      const item = await gcp(date);
      assert.deepEqual([item?.status, item?.attempts, item?.last_error], ["DONE", 1, null]);
    });

    await t.step("a backfill over a range re-queues its FAILED items and queues the missing days", async () => {
      const start = addDays(today, -10);
      const failDay = isoDay(addDays(today, -8));
      await Deno.remove(exportFile);
      // A one-day backfill that fails.
      const first = await rig.request("POST", "/api/v1/pipelines/backfill/requeue_org", {
        key,
        body: { pipeline: "gcp/billing", start_date: failDay, end_date: failDay },
      });
      assert.equal(first.status, 202, first.text);
      await rig.deps.scheduler.idle();
      assert.equal((await gcp(failDay))?.status, "FAILED");
      await Deno.writeTextFile(exportFile, saved);
      const r = await rig.request("POST", "/api/v1/pipelines/backfill/requeue_org", {
        key,
        body: { pipeline: "gcp/billing", start_date: isoDay(start), end_date: isoDay(addDays(today, -1)) },
      });
      assert.equal(r.status, 202, r.text);
      assert.equal(r.json.requeued, 1, "the failed day");
      // Days -10..-1 (the 10th..19th) less the failed day (the 12th, re-queued) and the trigger's run (completed),
      // which reloaded its day and the two before (the 16th..18th): 6 days, cut into chunks.
      assert.equal(r.json.days, 10);
      assert.equal(r.json.missing, 6);
      assert.equal(r.json.runs_needed, r.json.enqueued + 1);
      await rig.deps.scheduler.idle();
      const all = await items(rig, "requeue_org", key, "&pipeline=gcp/billing");
      assert.ok(all.every((x) => x.status === "DONE"), JSON.stringify(all));
      const covered = new Set<string>();
      for (const x of all) {
        for (let day = dayOf(new Date(x.start_date)); day <= dayOf(new Date(x.end_date)); day++) {
          covered.add(isoDay(day as typeof today));
        }
      }
      for (let day = start; day < today; day = addDays(day, 1)) assert.ok(covered.has(isoDay(day)), isoDay(day));
      const again = await rig.request("POST", "/api/v1/pipelines/backfill/requeue_org", {
        key,
        body: { pipeline: "gcp/billing", start_date: isoDay(start), end_date: isoDay(addDays(today, -1)) },
      });
      assert.deepEqual([again.json.missing, again.json.enqueued, again.json.requeued], [0, 0, 0]);
    });
  } finally {
    await rig.close();
  }
});
