/** The schedule's HTTP side: trigger a day (root; for Cloud Scheduler and backfills), status, org backfills. */
import type { Hono, MiddlewareHandler } from "hono";
import { z } from "zod";
import type { Auth, PipelineModule } from "../../src/pipeline/module.ts";
import { pipelines } from "../../generated/manifest.ts";
import { scheduledParams } from "../../src/scheduler/scheduler.ts";
import { CENTRAL_DATASET } from "../../src/orgs/api_keys.ts";
import { dayOf, eachDay, isoDay, parseDay, parseDayRange } from "../../src/time/day.ts";
import { ApiError } from "../errors.ts";
import { parseBody } from "../body.ts";
import type { AppDeps, AppEnv } from "../context.ts";

// Days are checked by parseDay/parseDayRange (src/time/day.ts), which name the field in the 400.
const day = z.string();
const triggerBody = z.strictObject({ date: day.optional(), wait: z.boolean().optional() });
const backfillBody = z.strictObject({ pipeline: z.string().max(100), start_date: day, end_date: day });
const MAX_BACKFILL_DAYS = 366;

export function mountSchedulerRoutes(
  app: Hono<AppEnv>,
  deps: AppDeps,
  guard: (mode: Auth) => MiddlewareHandler<AppEnv>,
): void {
  app.post("/api/v1/scheduler/trigger", guard("root"), async (c) => {
    const body = await parseBody(c, triggerBody);
    const date = body.date === undefined
      ? deps.scheduler.defaultLogicalDate()
      : isoDay(parseDay(body.date, "date", { today: dayOf(deps.now()) }));
    const result = await deps.scheduler.enqueueDay(date, { trigger: body.date ? "backfill" : "api" });
    if (body.wait) await deps.scheduler.idle();
    return c.json({ ...result, queue: await deps.scheduler.queue.progress({}) });
  });

  app.get("/api/v1/scheduler/status", guard("root"), async (c) => {
    return c.json({ queue: await deps.scheduler.queue.progress({}) });
  });

  app.post("/api/v1/pipelines/backfill/:org_slug", guard("org"), async (c) => {
    const org = c.req.param("org_slug");
    const body = await parseBody(c, backfillBody);
    const pipeline = (pipelines as Record<string, PipelineModule>)[body.pipeline];
    if (!pipeline || pipeline.kind !== "data") {
      throw new ApiError(404, "NOT_FOUND", `No data pipeline "${body.pipeline}"`);
    }
    const span = parseDayRange(body.start_date, body.end_date, { start: "start_date", end: "end_date" }, {
      today: dayOf(deps.now()),
      maxDays: MAX_BACKFILL_DAYS,
    });
    const days = eachDay(span.start, span.end).map(isoDay);
    const done = await deps.warehouse.query<{ d: string }>(
      `SELECT DISTINCT CAST(logical_date AS STRING) AS d FROM ${CENTRAL_DATASET}.org_meta_pipeline_runs
       WHERE org_slug = @org AND pipeline_path = @path AND status = 'COMPLETED'`,
      { org, path: pipeline.path },
    );
    const have = new Set(done.map((r) => String(r.d).slice(0, 10)));
    const missing = days.filter((d) => !have.has(d));
    const enqueued = await deps.scheduler.queue.enqueue(
      missing.map((d) => ({
        org_slug: org,
        pipeline_path: pipeline.path,
        pipeline_id: pipeline.id,
        schedule: pipeline.schedule ?? "adhoc",
        logical_date: d,
        params: scheduledParams(pipeline, d),
      })),
      "backfill",
      deps.settings.scheduler.maxAttempts,
      deps.now(),
    );
    deps.scheduler.kick();
    return c.json(
      { org_slug: org, pipeline: pipeline.path, days: days.length, missing: missing.length, enqueued },
      202,
    );
  });

  app.get("/api/v1/pipelines/backfill/:org_slug", guard("org"), async (c) => {
    const org = c.req.param("org_slug");
    const path = c.req.query("pipeline");
    return c.json({
      org_slug: org,
      ...(path ? { pipeline: path } : {}),
      queue: await deps.scheduler.queue.progress({ org, ...(path ? { path } : {}) }),
    });
  });
}
