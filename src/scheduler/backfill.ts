/**
 * Backfills: the days of a range that no completed run or live queue item covers become one queue item per chunk
 * of up to 31 days (one run each; a monthly pipeline: one item per month), and the range's FAILED items are queued
 * again. A backfill that cannot fit the plan's runs left this month is refused before anything is queued; items
 * beyond today's runs are deferred by the scheduler to the next day.
 */
import type { PipelineModule } from "../pipeline/module.ts";
import { AppError } from "../errors/mod.ts";
import { addDays, type Day, dayOf, type DaySpan, isoDay, monthStart, startOfDay } from "../time/day.ts";
import { chunkDays, MAX_RELOAD_DAYS, paramsSpan, scheduledParams, unitsOf } from "./calendar.ts";
import type { Candidate, FailedItem } from "../central/queue.ts";
import { NOT_BACKFILLABLE, type Scheduler } from "./scheduler.ts";

/** How far before a range a run or item may start and still cover part of it (a run covers at most 366 days). */
const LOOKBACK_DAYS = 366;
/**
 * How far after a range a run's logical date may be and it still cover part of it: a scheduled run's logical date
 * is the last day of its reload window, which reaches MAX_RELOAD_DAYS - 1 days back.
 */
const LOOKAHEAD_DAYS = MAX_RELOAD_DAYS - 1;

export interface BackfillResult {
  readonly org_slug: string;
  readonly pipeline: string;
  readonly start_date: string;
  readonly end_date: string;
  /** Days of the range (months, for a monthly pipeline). */
  readonly days: number;
  /** Days (months) no completed run or live item covered. */
  readonly missing: number;
  /** Items queued for the missing days (one run each). */
  readonly enqueued: number;
  /** FAILED items of the range queued again. */
  readonly requeued: number;
  readonly runs_needed: number;
  readonly runs_left_this_month: number;
}

/** The plan numbers a backfill is measured against. */
async function planRoom(scheduler: Scheduler, org: string, now: Date) {
  const row = await scheduler.reads.planRoom(org, startOfDay(monthStart(dayOf(now))));
  if (row.plan === null) {
    throw new AppError("ORG_NOT_FOUND", `Organization "${org}" has no active subscription`);
  }
  const { perMonth, used, queued } = row;
  return { plan: row.plan, perMonth, used, queued, left: Math.max(0, perMonth - used - queued) };
}

/**
 * Spans of the org's completed runs and live (QUEUED, CLAIMED) items of `path` that may overlap `span`, scheduled
 * runs whose reload window reaches into it included.
 */
async function covered(scheduler: Scheduler, org: string, path: string, span: DaySpan): Promise<DaySpan[]> {
  const from = isoDay(addDays(span.start, -LOOKBACK_DAYS));
  const params = await scheduler.reads.coveringParams(org, path, from, isoDay(addDays(span.end, LOOKAHEAD_DAYS)));
  return params.map(paramsSpan).filter((s): s is DaySpan => s !== undefined);
}

const overlaps = (a: DaySpan, b: DaySpan) => a.start <= b.end && b.start <= a.end;
const inside = (d: Day, spans: readonly DaySpan[]) => spans.some((s) => s.start <= d && d <= s.end);

/**
 * Queues a backfill of `span` for `org`.
 * @throws AppError 422 BACKFILL_NOT_SUPPORTED (a pipeline that cannot load past days) or
 *   BACKFILL_EXCEEDS_PLAN (with the numbers in `details`), 404 without an active subscription
 */
export async function backfill(
  scheduler: Scheduler,
  pipeline: PipelineModule,
  org: string,
  span: DaySpan,
  now: Date,
): Promise<BackfillResult> {
  const why = NOT_BACKFILLABLE[pipeline.path];
  if (why) {
    throw new AppError("BACKFILL_NOT_SUPPORTED", `Pipeline "${pipeline.path}" cannot be backfilled: ${why}`);
  }
  const units = unitsOf(pipeline, span);
  const failed: FailedItem[] = (await scheduler.queue.failed({
    org,
    path: pipeline.path,
    from: addDays(span.start, -LOOKBACK_DAYS),
    to: addDays(span.end, LOOKAHEAD_DAYS),
  })).filter((f) => {
    const s = paramsSpan(f.params);
    return s !== undefined && overlaps(s, span);
  });
  const spans = [
    ...await covered(scheduler, org, pipeline.path, span),
    ...failed.map((f) => paramsSpan(f.params)!),
  ];
  const missing = units.filter((u) => !inside(u, spans));
  const chunks: DaySpan[] = pipeline.schedule === "monthly"
    ? missing.map((m) => ({ start: m, end: m }))
    : chunkDays(missing);
  const items: Candidate[] = chunks.map((c) => ({
    org_slug: org,
    pipeline_path: pipeline.path,
    pipeline_id: pipeline.id,
    schedule: pipeline.schedule ?? "adhoc",
    logical_date: isoDay(c.start),
    params: scheduledParams(pipeline, c.start, c.end),
  }));
  const needed = items.length + failed.length;
  const room = await planRoom(scheduler, org, now);
  if (needed > room.left) {
    throw new AppError(
      "BACKFILL_EXCEEDS_PLAN",
      `Backfill of "${pipeline.path}" needs ${needed} runs and plan ${room.plan} has ${room.left} left this month ` +
        `(${room.perMonth} a month, ${room.used} used, ${room.queued} queued); nothing was queued`,
      {
        details: {
          runs_needed: needed,
          runs_left_this_month: room.left,
          max_per_month: room.perMonth,
          runs_this_month: room.used,
          queued: room.queued,
          plan: room.plan,
        },
      },
    );
  }
  const requeued = await scheduler.queue.requeueFailed(failed, now);
  const enqueued = await scheduler.queue.enqueue(items, "backfill", scheduler.maxAttempts, now);
  scheduler.kick();
  return {
    org_slug: org,
    pipeline: pipeline.path,
    start_date: isoDay(span.start),
    end_date: isoDay(span.end),
    days: units.length,
    missing: missing.length,
    enqueued,
    requeued: requeued.length,
    runs_needed: needed,
    runs_left_this_month: room.left,
  };
}
