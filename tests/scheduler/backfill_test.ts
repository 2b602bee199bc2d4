/**
 * Backfills cost few runs (one per chunk of up to 31 days), are refused up front with the numbers when the plan
 * cannot fit them, check their dates, and a STARTER org can backfill the last 90 days of its three integrations:
 * the runs beyond today's six are deferred to the next day and every item ends DONE.
 */
import assert from "node:assert/strict";
import { items, startRig } from "./_setup.ts";
import { addDays, dayFromIso, dayOf, isoDay, startOfDay } from "../../src/time/day.ts";

Deno.test("a backfill the plan cannot fit is refused before anything is queued, with the numbers", async (t) => {
  const { rig } = await startRig();
  try {
    const key = await rig.onboard("full_org", "STARTER"); // 180 runs a month
    await rig.setupThree("full_org", key);
    rig.deps.scheduler.stop(); // what is queued here stays queued
    const today = dayOf(rig.clock.now());
    const other = Array.from({ length: 178 }, (_, i) => isoDay(addDays(today, -1 - i)));
    await rig.deps.scheduler.queue.enqueue(
      other.map((d) => ({
        org_slug: "full_org",
        pipeline_path: "anthropic/usage_cost",
        pipeline_id: "anthropic-usage-cost",
        schedule: "daily",
        logical_date: d,
        params: { start_date: d, end_date: d },
      })),
      "backfill",
      3,
      rig.clock.now(),
    );
    const body = (days: number) => ({
      pipeline: "openai/usage_cost",
      start_date: isoDay(addDays(today, -days)),
      end_date: isoDay(addDays(today, -1)),
    });

    await t.step("90 days need 3 runs; 2 are left this month: 422 with the numbers, nothing queued", async () => {
      const r = await rig.request("POST", "/api/v1/pipelines/backfill/full_org", { key, body: body(90) });
      assert.equal(r.status, 422, r.text);
      assert.equal(r.json.error.code, "BACKFILL_EXCEEDS_PLAN");
      assert.deepEqual(r.json.error.details, {
        runs_needed: 3,
        runs_left_this_month: 2,
        max_per_month: 180,
        runs_this_month: 0,
        queued: 178,
        plan: "STARTER",
      });
      assert.match(r.json.error.message, /needs 3 runs and plan STARTER has 2 left this month/);
      assert.equal((await items(rig, "full_org", key, "&pipeline=openai/usage_cost")).length, 0);
    });

    await t.step("62 days fit in the 2 runs left: two items of 31 days", async () => {
      const r = await rig.request("POST", "/api/v1/pipelines/backfill/full_org", { key, body: body(62) });
      assert.equal(r.status, 202, r.text);
      assert.deepEqual([r.json.days, r.json.enqueued, r.json.runs_needed, r.json.runs_left_this_month], [62, 2, 2, 2]);
      const list = await items(rig, "full_org", key, "&pipeline=openai/usage_cost");
      assert.deepEqual(
        list.map((x) => dayFromIso(x.end_date)! - dayFromIso(x.start_date)! + 1).sort(),
        [31, 31],
      );
    });

    await t.step("dates are checked before anything is queued, naming the field", async () => {
      const bad = [
        [{ start_date: "1487-01-01", end_date: "1487-01-10" }, "start_date"],
        [{ start_date: isoDay(today), end_date: isoDay(addDays(today, 1)) }, "end_date"],
        [{ start_date: isoDay(today), end_date: isoDay(addDays(today, -3)) }, "end_date"],
        [{ start_date: "2025-02-30", end_date: "2025-03-01" }, "start_date"],
      ] as const;
      for (const [range, field] of bad) {
        const r = await rig.request("POST", "/api/v1/pipelines/backfill/full_org", {
          key,
          body: { pipeline: "gcp/billing", ...range },
        });
        assert.equal(r.status, 400, r.text);
        assert.match(r.json.error.message, new RegExp(`Field "${field}"`));
      }
      const trig = await rig.request("POST", "/api/v1/scheduler/trigger", { root: true, body: { date: "0000-01-01" } });
      assert.equal(trig.status, 400, trig.text);
      assert.equal((await items(rig, "full_org", key, "&pipeline=gcp/billing")).length, 0);
    });

    await t.step("the listing is bounded by limit and checks it", async () => {
      const r = await rig.request("GET", "/api/v1/pipelines/backfill/full_org?limit=5", { key });
      assert.equal(r.json.items.length, 5);
      assert.equal(r.json.queue.QUEUED, 180);
      const bad = await rig.request("GET", "/api/v1/pipelines/backfill/full_org?limit=0", { key });
      assert.equal(bad.status, 400);
    });
  } finally {
    await rig.close();
  }
});

Deno.test("a STARTER org backfills the last 90 days of its three integrations: 9 runs, the last 3 the next day, all DONE", async () => {
  const { rig } = await startRig();
  try {
    const key = await rig.onboard("ninety_org", "STARTER");
    await rig.setupThree("ninety_org", key);
    const today = dayOf(rig.clock.now());
    const start = addDays(today, -90);
    const end = addDays(today, -1);
    for (const pipeline of ["openai/usage_cost", "anthropic/usage_cost", "gcp/billing"]) {
      const r = await rig.request("POST", "/api/v1/pipelines/backfill/ninety_org", {
        key,
        body: { pipeline, start_date: isoDay(start), end_date: isoDay(end) },
      });
      assert.equal(r.status, 202, r.text);
      assert.deepEqual([r.json.days, r.json.enqueued], [90, 3], r.text);
    }
    await rig.deps.scheduler.idle();
    let list = await items(rig, "ninety_org", key);
    const midnight = startOfDay(addDays(today, 1)).toISOString();
    assert.equal(list.filter((x) => x.status === "DONE").length, 6, "six runs today");
    const deferred = list.filter((x) => x.status === "DEFERRED");
    assert.equal(deferred.length, 3);
    assert.ok(deferred.every((x) => x.last_error?.endsWith(`until ${midnight}`)), JSON.stringify(deferred));
    rig.clock.advance(startOfDay(addDays(today, 1)).getTime() - rig.clock.t + 60_000);
    rig.deps.scheduler.kick();
    await rig.deps.scheduler.idle();
    list = await items(rig, "ninety_org", key);
    assert.equal(list.length, 9);
    assert.ok(list.every((x) => x.status === "DONE" && x.attempts === 1), JSON.stringify(list));
    for (const pipeline of ["openai/usage_cost", "anthropic/usage_cost", "gcp/billing"]) {
      const spans = list.filter((x) => x.pipeline === pipeline).map((x) => [x.start_date, x.end_date]).sort();
      assert.deepEqual(spans, [
        [isoDay(start), isoDay(addDays(start, 30))],
        [isoDay(addDays(start, 31)), isoDay(addDays(start, 61))],
        [isoDay(addDays(start, 62)), isoDay(end)],
      ]);
    }
    const runs = await rig.deps.warehouse.query<{ status: string }>(
      "SELECT status FROM organizations.org_meta_pipeline_runs WHERE org_slug = 'ninety_org'",
    );
    assert.deepEqual(runs.map((r) => r.status), Array(9).fill("COMPLETED"));
  } finally {
    await rig.close();
  }
});
