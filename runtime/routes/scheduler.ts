/**
 * The schedule's HTTP side: trigger a day (root; for Cloud Scheduler, re-queues the day's FAILED items when the
 * date is given), queue status per org (root), and an org's backfills: queue a range, list its items.
 */
import { z } from "zod";
import type { PipelineModule } from "../../src/pipeline/module.ts";
import { pipelines } from "../../generated/manifest.ts";
import { backfill } from "../../src/scheduler/backfill.ts";
import { listQueueItems, MAX_LIST_ITEMS } from "../../src/central/queue_view.ts";
import { dayOf, parseDay, parseDayRange } from "../../src/time/day.ts";
import { AppError } from "../../src/errors/mod.ts";
import { defineRoute, type Route } from "../route.ts";
import { count, dayOut, instant, orgParams, queueCounts } from "./_schemas.ts";

const dayIn = (description: string) => z.string().max(40).meta({ format: "date", description });
const triggerBody = z.strictObject({
  date: dayIn("Logical date, a UTC day (default: yesterday, UTC); re-queues the day's FAILED items").optional(),
  wait: z.boolean().optional().meta({ description: "Answer once the queue is drained" }),
});
const backfillBody = z.strictObject({
  pipeline: z.string().max(100).meta({ description: "A data pipeline's path, e.g. openai/usage_cost" }),
  start_date: dayIn("First UTC day (inclusive)"),
  end_date: dayIn("Last UTC day (inclusive)"),
});
const STATES = ["QUEUED", "CLAIMED", "DEFERRED", "DONE", "FAILED"] as const;
const SLUG = /^[a-z0-9_]{3,50}$/;
const limitError = `Query "limit" must be an integer from 1 to ${MAX_LIST_ITEMS}`;

const statusQuery = z.object({
  org: z.string().regex(SLUG, { error: `Query "org" must be an org slug (3-50 of a-z, 0-9, _)` }).optional()
    .meta({ description: "Only this org" }),
});
const backfillQuery = z.object({
  pipeline: z.string().optional().meta({ description: "Only items of this pipeline" }),
  status: z.enum(STATES, { error: `Query "status" must be one of ${STATES.join(", ")}` }).optional(),
  limit: z.coerce.number({ error: limitError }).int({ error: limitError }).min(1, { error: limitError })
    .max(MAX_LIST_ITEMS, { error: limitError }).default(50),
});

const queueItem = z.object({
  queue_id: z.string(),
  pipeline: z.string(),
  logical_date: dayOut,
  start_date: dayOut.nullable(),
  end_date: dayOut.nullable(),
  status: z.enum(STATES).meta({
    description: "DEFERRED: waiting for a daily or monthly plan limit to reset (see last_error)",
  }),
  attempts: count("Claims; a wait for a free slot or a deferral does not count"),
  last_error: z.string().nullable().meta({
    description: 'The run\'s error, "waiting: ..." (no free run slot) or "deferred: ... until <instant>"',
  }),
  run_id: z.string().nullable(),
  not_before: instant.nullable(),
  created_at: instant.nullable(),
  updated_at: instant.nullable(),
});

export const schedulerRoutes: readonly Route[] = [
  defineRoute({
    method: "POST",
    path: "/api/v1/scheduler/trigger",
    auth: "root",
    tag: "scheduler",
    summary: "Enqueue the daily schedule now",
    description: "Enqueues the daily schedule now (idempotent per day); with a date, that day's FAILED items are " +
      "queued again. For Cloud Scheduler.",
    body: triggerBody,
    responses: {
      200: {
        description: "What was queued, and the queue's counts",
        schema: z.object({
          logical_date: dayOut,
          enqueued: count(),
          already_queued: count(),
          requeued: count("FAILED items of the day queued again"),
          eligible: count(),
          queue: queueCounts,
        }),
      },
    },
    handler: (deps) => async (c, { body }) => {
      const day = body.date === undefined ? undefined : parseDay(body.date, "date", { today: dayOf(deps.now()) });
      const result = await deps.scheduler.enqueueDay(day ?? deps.scheduler.defaultLogicalDate(), {
        trigger: day === undefined ? "api" : "backfill",
        requeueFailed: day !== undefined,
      });
      if (body.wait) await deps.scheduler.idle();
      return c.json({ ...result, queue: await deps.scheduler.queue.progress({}, deps.now()) });
    },
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/scheduler/status",
    auth: "root",
    tag: "scheduler",
    summary: "Queue counts by status",
    description: "Execution queue counts by status, in total and per org.",
    query: statusQuery,
    responses: {
      200: {
        description: "The queue's counts",
        schema: z.object({
          org_slug: z.string().optional(),
          queue: queueCounts,
          orgs: z.array(z.object({
            org_slug: z.string(),
            queue: queueCounts,
            running_here: count("Items of the org running in this instance"),
          })),
        }),
      },
    },
    handler: (deps) => async (c, { query }) => {
      const org = query.org;
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
    },
  }),
  defineRoute({
    method: "POST",
    path: "/api/v1/pipelines/backfill/{org_slug}",
    auth: "org",
    tag: "runs",
    summary: "Queue a backfill of a date range",
    description: "Queues the range's days that no completed run or live item covers (one run per chunk of up to " +
      "31 days; a monthly pipeline: one per month) and re-queues its FAILED items. 422 BACKFILL_EXCEEDS_PLAN when " +
      "the runs needed exceed the runs left this month, 422 BACKFILL_NOT_SUPPORTED for deepseek/usage_cost.",
    params: orgParams,
    body: backfillBody,
    bodyRequired: true,
    errors: [422],
    responses: {
      202: {
        description: "Queued",
        schema: z.object({
          org_slug: z.string(),
          pipeline: z.string(),
          start_date: dayOut,
          end_date: dayOut,
          days: count("Days of the range (months for a monthly pipeline)"),
          missing: count("Days (months) not covered"),
          enqueued: count("Items queued (one run each)"),
          requeued: count("FAILED items queued again"),
          runs_needed: count(),
          runs_left_this_month: count(),
        }),
      },
    },
    handler: (deps) => async (c, { params, body }) => {
      const org = params.org_slug;
      const pipeline = (pipelines as Record<string, PipelineModule>)[body.pipeline];
      if (!pipeline || pipeline.kind !== "data") {
        throw new AppError("NOT_FOUND", `No data pipeline "${body.pipeline}" (GET /api/v1/pipelines lists them)`);
      }
      const now = deps.now();
      const span = parseDayRange(body.start_date, body.end_date, { start: "start_date", end: "end_date" }, {
        today: dayOf(now),
      });
      return c.json(await backfill(deps.scheduler, pipeline, org, span, now), 202);
    },
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/pipelines/backfill/{org_slug}",
    auth: "org",
    tag: "runs",
    summary: "The org's queue items",
    description: "The org's queue items (scheduled and backfill), newest first, with counts by status.",
    params: orgParams,
    query: backfillQuery,
    responses: {
      200: {
        description: "The items and the counts",
        schema: z.object({
          org_slug: z.string(),
          pipeline: z.string().optional(),
          queue: queueCounts,
          items: z.array(queueItem),
          limit: count(),
        }),
      },
    },
    handler: (deps) => async (c, { params, query }) => {
      const org = params.org_slug;
      const path = query.pipeline;
      const status = query.status;
      const limit = query.limit;
      const now = deps.now();
      const filter = { org, ...(path ? { path } : {}) };
      const [queue, items] = await Promise.all([
        deps.scheduler.queue.progress(filter, now),
        listQueueItems(deps.warehouse, { ...filter, ...(status ? { status } : {}), limit }, now),
      ]);
      return c.json({ org_slug: org, ...(path ? { pipeline: path } : {}), queue, items, limit });
    },
  }),
];
