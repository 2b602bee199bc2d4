/**
 * The schedule's HTTP side: trigger a day (root; for Cloud Scheduler, re-queues the day's FAILED items when the
 * date is given), queue status per org (root), and an org's backfills: queue a range, list its items.
 */
import type { Hono, MiddlewareHandler } from "hono";
import { z } from "zod";
import type { Auth, PipelineModule } from "../../src/pipeline/module.ts";
import { pipelines } from "../../generated/manifest.ts";
import { backfill } from "../../src/scheduler/backfill.ts";
import { listQueueItems, MAX_LIST_ITEMS } from "../../src/central/queue_view.ts";
import { dayOf, parseDay, parseDayRange } from "../../src/time/day.ts";
import { AppError } from "../../src/errors/mod.ts";
import { parseBody } from "../body.ts";
import type { AppDeps, AppEnv } from "../context.ts";

const triggerBody = z.strictObject({ date: z.string().max(40).optional(), wait: z.boolean().optional() });
const backfillBody = z.strictObject({
  pipeline: z.string().max(100),
  start_date: z.string().max(40),
  end_date: z.string().max(40),
});
const STATES = ["QUEUED", "CLAIMED", "DEFERRED", "DONE", "FAILED"];
const SLUG = /^[a-z0-9_]{3,50}$/;

function limitParam(raw: string | undefined): number {
  if (raw === undefined) return 50;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > MAX_LIST_ITEMS) {
    throw new AppError("VALIDATION_ERROR", `Query "limit" must be an integer from 1 to ${MAX_LIST_ITEMS}`);
  }
  return n;
}

export function mountSchedulerRoutes(
  app: Hono<AppEnv>,
  deps: AppDeps,
  guard: (mode: Auth) => MiddlewareHandler<AppEnv>,
): void {
  app.post("/api/v1/scheduler/trigger", guard("root"), async (c) => {
    const body = await parseBody(c, triggerBody);
    const day = body.date === undefined ? undefined : parseDay(body.date, "date", { today: dayOf(deps.now()) });
    const result = await deps.scheduler.enqueueDay(day ?? deps.scheduler.defaultLogicalDate(), {
      trigger: day === undefined ? "api" : "backfill",
      requeueFailed: day !== undefined,
    });
    if (body.wait) await deps.scheduler.idle();
    return c.json({ ...result, queue: await deps.scheduler.queue.progress({}, deps.now()) });
  });

  app.get("/api/v1/scheduler/status", guard("root"), async (c) => {
    const org = c.req.query("org");
    if (org !== undefined && !SLUG.test(org)) {
      throw new AppError("VALIDATION_ERROR", `Query "org" must be an org slug (3-50 of a-z, 0-9, _)`);
    }
    const orgs = await deps.scheduler.queue.progressByOrg(org ? { org } : {}, deps.now());
    const queue: Record<string, number> = {};
    for (const counts of Object.values(orgs)) {
      for (const [k, n] of Object.entries(counts)) queue[k] = (queue[k] ?? 0) + n;
    }
    const running = deps.scheduler.running();
    return c.json({
      ...(org ? { org_slug: org } : {}),
      queue,
      orgs: Object.entries(orgs).map(([slug, counts]) => ({
        org_slug: slug,
        queue: counts,
        running_here: running[slug] ?? 0,
      })),
    });
  });

  app.post("/api/v1/pipelines/backfill/:org_slug", guard("org"), async (c) => {
    const org = c.req.param("org_slug");
    const body = await parseBody(c, backfillBody);
    const pipeline = (pipelines as Record<string, PipelineModule>)[body.pipeline];
    if (!pipeline || pipeline.kind !== "data") {
      throw new AppError("NOT_FOUND", `No data pipeline "${body.pipeline}" (GET /api/v1/pipelines lists them)`);
    }
    const now = deps.now();
    const span = parseDayRange(body.start_date, body.end_date, { start: "start_date", end: "end_date" }, {
      today: dayOf(now),
    });
    return c.json(await backfill(deps.scheduler, pipeline, org, span, now), 202);
  });

  app.get("/api/v1/pipelines/backfill/:org_slug", guard("org"), async (c) => {
    const org = c.req.param("org_slug");
    const path = c.req.query("pipeline");
    const status = c.req.query("status");
    if (status !== undefined && !STATES.includes(status)) {
      throw new AppError("VALIDATION_ERROR", `Query "status" must be one of ${STATES.join(", ")}`);
    }
    const limit = limitParam(c.req.query("limit"));
    const now = deps.now();
    const filter = { org, ...(path ? { path } : {}) };
    const [queue, items] = await Promise.all([
      deps.scheduler.queue.progress(filter, now),
      listQueueItems(deps.warehouse, { ...filter, ...(status ? { status } : {}), limit }, now),
    ]);
    return c.json({ org_slug: org, ...(path ? { pipeline: path } : {}), queue, items, limit });
  });
}
