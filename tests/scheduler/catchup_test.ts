/**
 * After downtime, start-up enqueues the logical days of the ticks the schedule missed within
 * SCHEDULER_CATCHUP_DAYS (daily at 02:00 UTC covers the day before; monthly at 03:00 on the 1st covers that
 * month), idempotently; the calendar rules on fixed instants.
 */
import assert from "node:assert/strict";
import { Clock, items, startRig } from "./_setup.ts";
import { chunkDays, missedLogicalDays } from "../../src/scheduler/calendar.ts";
import { addDays, dayFromIso, dayOf, isoDay } from "../../src/time/day.ts";
import { loadSettings } from "../../runtime/config.ts";

const at = (iso: string) => new Date(iso);
const isoAll = (days: number[]) => days.map((d) => isoDay(d as Parameters<typeof isoDay>[0]));

Deno.test("missed ticks: daily ticks at 02:00 cover the day before, monthly ticks on the 1st cover that month", () => {
  assert.deepEqual(isoAll(missedLogicalDays("daily", at("2025-12-02T12:00:00Z"), 3)), [
    "2025-11-29",
    "2025-11-30",
    "2025-12-01",
  ]);
  // Before 02:00 today's tick has not happened: the window ends a day earlier.
  assert.deepEqual(isoAll(missedLogicalDays("daily", at("2025-12-02T01:00:00Z"), 3)), [
    "2025-11-28",
    "2025-11-29",
    "2025-11-30",
  ]);
  assert.deepEqual(isoAll(missedLogicalDays("monthly", at("2025-12-02T12:00:00Z"), 3)), ["2025-12-01"]);
  assert.deepEqual(isoAll(missedLogicalDays("monthly", at("2025-12-01T02:59:00Z"), 3)), []);
  assert.deepEqual(isoAll(missedLogicalDays("monthly", at("2025-12-05T12:00:00Z"), 3)), []);
  assert.deepEqual(missedLogicalDays("daily", at("2025-12-02T12:00:00Z"), 0), []);
  assert.deepEqual(missedLogicalDays("0 5 * * *", at("2025-12-02T12:00:00Z"), 3), []);
});

Deno.test("backfill chunks: contiguous days cut at 31, gaps start a new chunk", () => {
  const start = dayFromIso("2025-01-01")!;
  const days = [...Array.from({ length: 70 }, (_, i) => addDays(start, i)), addDays(start, 80)];
  const chunks = chunkDays(days).map((c) => `${isoDay(c.start)}..${isoDay(c.end)}`);
  assert.deepEqual(chunks, [
    "2025-01-01..2025-01-31",
    "2025-02-01..2025-03-03",
    "2025-03-04..2025-03-11",
    "2025-03-22..2025-03-22",
  ]);
});

Deno.test("SCHEDULER_CATCHUP_DAYS defaults to 3 and is checked", () => {
  assert.equal(loadSettings({}).settings.scheduler.catchupDays, 3);
  assert.equal(loadSettings({ SCHEDULER_CATCHUP_DAYS: "0" }).settings.scheduler.catchupDays, 0);
  assert.ok(loadSettings({ SCHEDULER_CATCHUP_DAYS: "-1" }).problems.some((p) => p.includes("SCHEDULER_CATCHUP_DAYS")));
});

Deno.test("start-up enqueues the days the schedule missed while the process was down, once", async (t) => {
  const clock = new Clock();
  const { rig } = await startRig({ clock });
  try {
    const key = await rig.onboard("down_org", "PROFESSIONAL");
    await rig.setupThree("down_org", key);
    const today = dayOf(clock.now());
    const dailyPaths = ["anthropic/usage_cost", "gcp/billing", "openai/usage_cost"];
    // Ticks of the three days up to 12:00 today; a monthly tick when the 1st falls in them (OpenAI is set up).
    const expected = (from: number, to: number) => {
      const out: string[] = [];
      for (let n = from; n <= to; n++) {
        const d = addDays(today, n);
        for (const p of dailyPaths) out.push(`${p}@${isoDay(addDays(d, -1))}`);
        if (new Date(d * 86_400_000).getUTCDate() === 1) out.push(`openai/subscriptions@${isoDay(d)}`);
      }
      return out.sort();
    };
    const queued = async () => (await items(rig, "down_org", key)).map((x) => `${x.pipeline}@${x.logical_date}`).sort();

    await t.step("resume enqueues the missed ticks of the last three days and runs them", async () => {
      await rig.deps.scheduler.resume(true);
      await rig.deps.scheduler.idle();
      assert.deepEqual(await queued(), expected(-2, 0));
      const list = await items(rig, "down_org", key);
      assert.ok(list.every((x) => x.status === "DONE"), JSON.stringify(list));
    });

    await t.step("a second start-up in the same window enqueues nothing new", async () => {
      await rig.restart();
      await rig.deps.scheduler.resume(true);
      await rig.deps.scheduler.idle();
      assert.deepEqual(await queued(), expected(-2, 0));
    });

    await t.step("down for two more days: the next start-up enqueues just those", async () => {
      clock.advance(2 * 86_400_000);
      await rig.restart();
      await rig.deps.scheduler.resume(true);
      await rig.deps.scheduler.idle();
      assert.deepEqual(await queued(), expected(-2, 2));
      const list = await items(rig, "down_org", key);
      assert.ok(list.every((x) => x.status === "DONE"), JSON.stringify(list));
    });
  } finally {
    await rig.close();
  }
});
