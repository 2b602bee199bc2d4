/**
 * The reload window of scheduled runs: the days a daily run for logical day D re-pulls (trailing days, and the
 * previous month in the first days of a month), on hand-picked dates, and a scheduled OpenAI run against the
 * stand-in that asks the provider for those days and replaces them when they are pulled again.
 */
import assert from "node:assert/strict";
import { pipelines } from "../../generated/manifest.ts";
import type { PipelineModule, ReloadDef } from "../../src/pipeline/module.ts";
import { MAX_RELOAD_DAYS, reloadSpan, scheduledParams } from "../../src/scheduler/calendar.ts";
import { type Day, dayFromIso, isoDay, MAX_RANGE_DAYS } from "../../src/time/day.ts";
import { Clock, items, startRig } from "./_setup.ts";
import { OPENAI_STANDIN_KEY, openAIUsageRows } from "../standins/openai.ts";

const openai = pipelines["openai/usage_cost"] as PipelineModule;
const withReload = (reload: ReloadDef): PipelineModule => ({ ...openai, reload });
const d = (iso: string) => dayFromIso(iso)! as Day;
const span = (p: PipelineModule, day: string) => {
  const s = reloadSpan(p, d(day));
  return [isoDay(s.start), isoDay(s.end)];
};

Deno.test("reloadSpan covers the trailing days mid-month and the previous month early in a month", async (t) => {
  const usual = withReload({ trailingDays: 3, previousMonthUntilDay: 5 });
  await t.step("mid-month, 3 trailing days: the 13th to the 15th", () => {
    assert.deepEqual(span(usual, "2026-03-15"), ["2026-03-13", "2026-03-15"]);
  });
  await t.step("on the 2nd with previous_month_until_day 5: from the 1st of February", () => {
    assert.deepEqual(span(usual, "2026-03-02"), ["2026-02-01", "2026-03-02"]);
  });
  await t.step("on the 5th the previous month is still included, on the 6th it is not", () => {
    assert.deepEqual(span(usual, "2026-03-05"), ["2026-02-01", "2026-03-05"]);
    assert.deepEqual(span(usual, "2026-03-06"), ["2026-03-04", "2026-03-06"]);
  });
  await t.step("January 1st reaches back into December of the year before", () => {
    assert.deepEqual(span(usual, "2026-01-01"), ["2025-12-01", "2026-01-01"]);
    const trailingOnly = withReload({ trailingDays: 3, previousMonthUntilDay: 0 });
    assert.deepEqual(span(trailingOnly, "2026-01-01"), ["2025-12-30", "2026-01-01"]);
  });
  await t.step("trailing days cross a short February", () => {
    const trailingOnly = withReload({ trailingDays: 3, previousMonthUntilDay: 0 });
    assert.deepEqual(span(trailingOnly, "2026-03-02"), ["2026-02-28", "2026-03-02"]);
    assert.deepEqual(span(withReload({ trailingDays: 31, previousMonthUntilDay: 0 }), "2026-03-01"), [
      "2026-01-30",
      "2026-03-01",
    ]);
  });
  await t.step("the widest window, the 28th after a 31-day month, is 59 days and inside a run's 366", () => {
    const widest = withReload({ trailingDays: 31, previousMonthUntilDay: 28 });
    assert.deepEqual(span(widest, "2026-08-28"), ["2026-07-01", "2026-08-28"]);
    assert.equal(MAX_RELOAD_DAYS, 59);
    assert.ok(MAX_RELOAD_DAYS <= MAX_RANGE_DAYS);
  });
  await t.step("a pipeline without reload, and a monthly one, cover the logical day only", () => {
    const { reload: _r, ...none } = openai;
    assert.deepEqual(span(none as PipelineModule, "2026-03-02"), ["2026-03-02", "2026-03-02"]);
    const monthly = pipelines["openai/subscriptions"] as PipelineModule;
    assert.deepEqual(span({ ...monthly, reload: usual.reload }, "2026-03-01"), ["2026-03-01", "2026-03-01"]);
  });
});

Deno.test("the compiled pipelines carry the default reload window, and DeepSeek covers one day", () => {
  assert.deepEqual(openai.reload, { trailingDays: 3, previousMonthUntilDay: 5 });
  for (const path of ["anthropic/usage_cost", "gcp/billing"]) {
    assert.deepEqual((pipelines[path as keyof typeof pipelines] as PipelineModule).reload, {
      trailingDays: 3,
      previousMonthUntilDay: 5,
    });
  }
  const deepseek = pipelines["deepseek/usage_cost"] as PipelineModule;
  assert.deepEqual(deepseek.reload, { trailingDays: 1, previousMonthUntilDay: 0 });
  const s = reloadSpan(deepseek, d("2026-03-02"));
  assert.deepEqual(scheduledParams(deepseek, s.start, s.end), { date: "2026-03-02" });
  assert.equal((pipelines["openai/subscriptions"] as PipelineModule).reload, undefined);
  const o = reloadSpan(openai, d("2026-03-15"));
  assert.deepEqual(scheduledParams(openai, o.start, o.end), { start_date: "2026-03-13", end_date: "2026-03-15" });
});

Deno.test("a scheduled OpenAI run asks the provider for its trailing days and a re-pull replaces them", async (t) => {
  // Noon on 2026-03-16: the tick's logical day is the 15th, mid-month.
  const { rig, openai: standIn } = await startRig({ clock: new Clock(Date.UTC(2026, 2, 16, 12)) });
  const org = "reload_a";
  try {
    const key = await rig.onboard(org, "SCALE");
    const setup = await rig.request("POST", `/api/v1/integrations/${org}/openai/setup`, {
      key,
      body: { credential: OPENAI_STANDIN_KEY },
    });
    assert.equal(setup.status, 200, setup.text);
    const dataset = `${org}_local`;
    const perDay = async () =>
      Object.fromEntries(
        (await rig.deps.warehouse.query<{ day: string; n: number }>(
          `SELECT CAST(usage_date AS VARCHAR) AS day, COUNT(*) AS n FROM ${dataset}.openai_usage_daily_raw
           GROUP BY usage_date ORDER BY usage_date`,
          {},
        )).map((r) => [r.day, Number(r.n)]),
      );
    const expected = (day: string) => openAIUsageRows("", Date.parse(day) / 1000).length;
    const usageCalls = () => standIn.requests.filter((r) => r.path.endsWith("/organization/usage/completions"));

    await t.step("the day's one item covers the 13th to the 15th with logical date the 15th", async () => {
      const before = usageCalls().length;
      const r = await rig.deps.scheduler.enqueueDay(rig.deps.scheduler.defaultLogicalDate(), {
        trigger: "scheduler",
        orgs: [org],
        paths: ["openai/usage_cost"],
      });
      assert.equal(r.logical_date, "2026-03-15");
      assert.equal(r.enqueued, 1);
      await rig.deps.scheduler.idle();
      const list = await items(rig, org, key);
      assert.equal(list.length, 1);
      assert.equal(list[0]!.status, "DONE", list[0]!.last_error ?? "");
      assert.deepEqual([list[0]!.logical_date, list[0]!.start_date, list[0]!.end_date], [
        "2026-03-15",
        "2026-03-13",
        "2026-03-15",
      ]);
      const calls = usageCalls().slice(before);
      assert.ok(calls.length > 0, "the provider was asked for usage");
      const q = (name: string) => calls.map((c) => Number(c.query.find(([k]) => k === name)?.[1]));
      assert.equal(Math.min(...q("start_time")), Date.UTC(2026, 2, 13) / 1000, "from 00:00 UTC on the 13th");
      assert.equal(Math.max(...q("end_time")), Date.UTC(2026, 2, 16) / 1000, "to the end of the 15th");
      const runs = await rig.deps.warehouse.query<{ logical_date: string; n: number }>(
        `SELECT CAST(logical_date AS VARCHAR) AS logical_date, COUNT(*) AS n FROM organizations.org_meta_pipeline_runs
         WHERE org_slug = @org AND trigger = 'scheduler' GROUP BY logical_date`,
        { org },
      );
      assert.deepEqual(runs.map((x) => [x.logical_date, Number(x.n)]), [["2026-03-15", 1]]);
      assert.deepEqual(await perDay(), {
        "2026-03-13": expected("2026-03-13"),
        "2026-03-14": expected("2026-03-14"),
        "2026-03-15": expected("2026-03-15"),
      });
    });

    await t.step(
      "a backfill of days the run reloaded finds them covered, though its logical date is later",
      async () => {
        const r = await rig.request("POST", `/api/v1/pipelines/backfill/${org}`, {
          key,
          body: { pipeline: "openai/usage_cost", start_date: "2026-03-13", end_date: "2026-03-14" },
        });
        assert.equal(r.status, 202, r.text);
        assert.deepEqual([r.json.days, r.json.missing, r.json.enqueued], [2, 0, 0]);
      },
    );

    await t.step("the next day's run re-pulls the 14th and the 15th without duplicating a row", async () => {
      rig.clock.advance(86_400_000);
      const r = await rig.deps.scheduler.enqueueDay("2026-03-16", {
        trigger: "scheduler",
        orgs: [org],
        paths: ["openai/usage_cost"],
      });
      assert.equal(r.enqueued, 1);
      await rig.deps.scheduler.idle();
      const list = await items(rig, org, key);
      const next = list.find((x) => x.logical_date === "2026-03-16")!;
      assert.equal(next.status, "DONE", next.last_error ?? "");
      assert.deepEqual([next.start_date, next.end_date], ["2026-03-14", "2026-03-16"]);
      assert.deepEqual(await perDay(), {
        "2026-03-13": expected("2026-03-13"),
        "2026-03-14": expected("2026-03-14"),
        "2026-03-15": expected("2026-03-15"),
        "2026-03-16": expected("2026-03-16"),
      });
    });
  } finally {
    await rig.close();
  }
});
