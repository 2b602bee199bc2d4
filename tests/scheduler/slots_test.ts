/**
 * Scheduled work waits for the org's free run slot instead of failing: a STARTER org (one concurrent run) with
 * three integrations gets every scheduled run of a trigger COMPLETED; a slot held by an API run sends the item
 * back without using an attempt; the daily limit defers the rest to midnight, visibly, and they run after it.
 */
import assert from "node:assert/strict";
import { items, startRig } from "./_setup.ts";
import { addDays, dayOf, isoDay, monthStart, startOfDay } from "../../src/time/day.ts";

const DAY_MS = 86_400_000;

Deno.test("a STARTER org with three integrations gets all three scheduled runs COMPLETED from one trigger, 20 times over", async () => {
  const { rig } = await startRig();
  try {
    // A logical day that is not the 1st, so exactly the three daily pipelines are due.
    let d = addDays(dayOf(rig.clock.now()), -2);
    if (monthStart(d) === d) d = addDays(d, -1);
    const date = isoDay(d);
    for (let i = 0; i < 20; i++) {
      const org = `starter_${String(i).padStart(2, "0")}`;
      const key = await rig.onboard(org, "STARTER");
      await rig.setupThree(org, key);
      const r = await rig.request("POST", "/api/v1/scheduler/trigger", { root: true, body: { date, wait: true } });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.enqueued, 3, `round ${i}: the new org's three pipelines`);
      const runs = await rig.deps.warehouse.query<{ pipeline_path: string; status: string }>(
        `SELECT pipeline_path, status FROM organizations.org_meta_pipeline_runs WHERE org_slug = @org
         ORDER BY pipeline_path`,
        { org },
      );
      assert.deepEqual(
        runs.map((x) => `${x.pipeline_path}:${x.status}`),
        ["anthropic/usage_cost:COMPLETED", "gcp/billing:COMPLETED", "openai/usage_cost:COMPLETED"],
        `round ${i}`,
      );
      const list = await items(rig, org, key);
      assert.deepEqual(list.map((x) => [x.status, x.attempts]), [["DONE", 1], ["DONE", 1], ["DONE", 1]]);
    }
    const status = await rig.request("GET", "/api/v1/scheduler/status", { root: true });
    assert.equal(status.json.queue.DONE, 60);
    assert.equal(status.json.orgs.length, 20);
    assert.ok(status.json.orgs.every((o: { queue: Record<string, number> }) => o.queue.DONE === 3));
    const one = await rig.request("GET", "/api/v1/scheduler/status?org=starter_07", { root: true });
    assert.deepEqual(one.json.orgs, [{ org_slug: "starter_07", queue: { DONE: 3 }, running_here: 0 }]);
  } finally {
    await rig.close();
  }
});

Deno.test("an item refused because an API run holds the org's only slot goes back to the queue without using an attempt", async () => {
  const { rig, openai } = await startRig();
  try {
    const key = await rig.onboard("busy_org", "STARTER");
    await rig.setupThree("busy_org", key);
    const day = isoDay(addDays(dayOf(rig.clock.now()), -1));
    openai.faults.delayMs = 1500;
    const api = await rig.request("POST", "/api/v1/pipelines/run/busy_org/openai/usage_cost", {
      key,
      body: { start_date: day, end_date: day },
    });
    assert.equal(api.status, 202, api.text);
    await rig.deps.scheduler.enqueueDay(day, { trigger: "cron", orgs: ["busy_org"], paths: ["anthropic/usage_cost"] });
    const deadline = Date.now() + 5_000;
    let waiting;
    while (Date.now() < deadline) {
      [waiting] = await items(rig, "busy_org", key);
      if (waiting?.last_error?.startsWith("waiting:")) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(waiting?.status, "QUEUED", JSON.stringify(waiting));
    assert.equal(waiting?.attempts, 0, "the refused claim was given back");
    assert.match(waiting!.last_error!, /^waiting: plan limit of concurrent runs reached/);
    openai.faults.delayMs = 0;
    const end = Date.now() + 15_000;
    let done;
    while (Date.now() < end) {
      await rig.deps.scheduler.idle();
      [done] = await items(rig, "busy_org", key);
      if (done?.status === "DONE") break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(done?.status, "DONE", JSON.stringify(done));
    assert.equal(done?.attempts, 1, "one attempt: the claim that ran");
    assert.equal(done?.last_error, null);
  } finally {
    await rig.close();
  }
});

Deno.test("a daily-limit hit is deferred to midnight with the reason shown, and runs once the clock passes it", async () => {
  const { rig } = await startRig();
  try {
    const key = await rig.onboard("daily_org", "STARTER"); // 6 runs a day
    await rig.setupThree("daily_org", key);
    const today = dayOf(rig.clock.now());
    const days = [-4, -3, -2].map((n) => addDays(today, n)).filter((d) => monthStart(d) !== d);
    // Two days fill today's six runs; the third waits for tomorrow.
    for (const d of days.slice(0, 2)) {
      await rig.request("POST", "/api/v1/scheduler/trigger", { root: true, body: { date: isoDay(d), wait: true } });
    }
    const third = isoDay(days[2] ?? addDays(today, -5));
    await rig.request("POST", "/api/v1/scheduler/trigger", { root: true, body: { date: third, wait: true } });
    const midnight = startOfDay(addDays(today, 1)).toISOString();
    const dbg = JSON.stringify(await items(rig, "daily_org", key)) +
      rig.logs.filter((l) => /"(warn|error)"/.test(l)).join("\n");
    const deferred = (await items(rig, "daily_org", key)).filter((x) => x.logical_date === third);
    assert.equal(deferred.length, 3);
    for (const x of deferred) {
      assert.equal(x.status, "DEFERRED", dbg);
      assert.equal(x.attempts, 0);
      assert.equal(x.not_before, midnight);
      assert.equal(
        x.last_error,
        `deferred: plan limit of runs per day reached (6 of 6, plan STARTER) until ${midnight}`,
      );
    }
    const status = await rig.request("GET", "/api/v1/pipelines/backfill/daily_org", { key });
    assert.equal(status.json.queue.DEFERRED, 3);
    assert.equal(status.json.queue.DONE, 6);
    // Past midnight (the wake-up timer would fire; the test's clock jumped, so it kicks the pump itself).
    rig.clock.advance(startOfDay(addDays(today, 1)).getTime() - rig.clock.t + 60_000);
    rig.deps.scheduler.kick();
    await rig.deps.scheduler.idle();
    const after = (await items(rig, "daily_org", key)).filter((x) => x.logical_date === third);
    assert.deepEqual(after.map((x) => [x.status, x.attempts, x.last_error]), [
      ["DONE", 1, null],
      ["DONE", 1, null],
      ["DONE", 1, null],
    ]);
    assert.ok(rig.clock.t - startOfDay(today).getTime() < 2 * DAY_MS);
  } finally {
    await rig.close();
  }
});
