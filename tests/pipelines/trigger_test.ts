/**
 * The trigger a run row records reaches the run's processors: a scheduled run's steps and notifications see
 * `ctx.run.trigger === "scheduler"`, an API run's see `"api"`, and each run's processors see its own run id.
 */
import assert from "node:assert/strict";
import { type Harness, startHarness } from "../runtime/_harness.ts";
import { DEEPSEEK_STANDIN_KEY, startDeepSeekStandIn } from "../standins/deepseek.ts";
import { AppError } from "../../src/errors/mod.ts";
import { addDays, dayOf, isoDay } from "../../src/time/day.ts";

const ORG = "trigger_org";
// DeepSeek has no history API: a balance snapshot can only be recorded for recent days.
const DAY = isoDay(addDays(dayOf(new Date()), -1));

/** What one processor call saw of its run. */
interface Seen {
  readonly psType: string;
  readonly runId: string | undefined;
  readonly trigger: string | undefined;
}

/** Records every processor call's run id and trigger; `failFirst` makes the next run's first step fail. */
function watchProcessors(h: Harness) {
  const seen: Seen[] = [];
  const control = { failFirst: false };
  const registry = h.deps.processors;
  const get = registry.get.bind(registry);
  registry.get = (type) => {
    const p = get(type);
    return p && {
      spec: p.spec,
      run: (ctx, config) => {
        seen.push({ psType: type, runId: ctx.run?.id, trigger: ctx.run?.trigger });
        if (control.failFirst && ctx.step.id === ctx.pipeline.steps[0]?.id) {
          control.failFirst = false;
          throw new AppError("UNPROCESSABLE", "The first step fails on purpose");
        }
        return p.run(ctx, config);
      },
    };
  };
  return { seen, control };
}

async function runRow(h: Harness, runId: string) {
  const [row] = await h.deps.warehouse.query<{ trigger: string; status: string }>(
    "SELECT trigger, status FROM organizations.org_meta_pipeline_runs WHERE run_id = @id",
    { id: runId },
  );
  assert.ok(row, `run ${runId} has a row`);
  return row;
}

Deno.test("a run's processors and notifications see the trigger its run row records", async (t) => {
  const deepseek = startDeepSeekStandIn();
  const h = await startHarness({ DEEPSEEK_BASE_URL: deepseek.url, RATE_LIMIT_ENABLED: "false" });
  try {
    await h.bootstrap();
    const key = await h.onboard(ORG, "SCALE");
    await h.setup(ORG, "deepseek", key, { credential: DEEPSEEK_STANDIN_KEY });
    const { seen, control } = watchProcessors(h);

    await t.step("a scheduled run's steps see trigger scheduler", async () => {
      const r = await h.deps.scheduler.enqueueDay(DAY, { trigger: "cron", orgs: [ORG] });
      assert.equal(r.enqueued, 1);
      await h.deps.scheduler.idle();
      const runIds = [...new Set(seen.map((s) => s.runId))];
      assert.equal(runIds.length, 1, JSON.stringify(seen));
      const row = await runRow(h, runIds[0]!);
      assert.deepEqual(row, { trigger: "scheduler", status: "COMPLETED" });
      assert.ok(seen.length >= 2, "every step of the pipeline ran");
      assert.deepEqual(new Set(seen.map((s) => s.trigger)), new Set(["scheduler"]));
    });

    await t.step("an API run's steps and its on_failure notifications see trigger api", async () => {
      seen.length = 0;
      control.failFirst = true;
      const r = await h.request("POST", `/api/v1/pipelines/run/${ORG}/deepseek/usage_cost?wait=true`, {
        key,
        body: { date: DAY },
      });
      assert.equal(r.json.status, "FAILED", r.text);
      await h.deps.executor.notificationsSettled();
      const notified = seen.filter((s) => s.psType.startsWith("notify_systems."));
      assert.deepEqual(notified.map((s) => s.psType).sort(), [
        "notify_systems.email_notification",
        "notify_systems.slack_notification",
      ]);
      assert.ok(seen.length > notified.length, "the failing step was seen too");
      assert.equal((await runRow(h, r.json.run_id)).trigger, "api");
      for (const s of seen) assert.deepEqual([s.runId, s.trigger], [r.json.run_id, "api"], s.psType);
    });
  } finally {
    await h.close();
    await deepseek.close();
  }
});
