/**
 * The schedule's calendar, on {@link Day} values: which logical day a tick covers (daily at 02:00 UTC covers the
 * day before; monthly at 03:00 UTC on the 1st covers that month, logical day = the 1st), which ticks a process
 * that was down missed, the days a scheduled run re-pulls (its reload window), the params of a scheduled or
 * backfill run, and the chunks a backfill is cut into.
 */
import type { PipelineModule } from "../pipeline/module.ts";
import {
  addDays,
  type Day,
  dayFromIso,
  dayOf,
  type DaySpan,
  eachDay,
  isoDay,
  monthStart,
  nextMonthStart,
  startOfDay,
} from "../time/day.ts";

/** UTC hour of the daily and monthly ticks (runtime/scheduler.ts builds the cron expressions from these). */
export const DAILY_TICK_HOUR = 2;
export const MONTHLY_TICK_HOUR = 3;

/** Bounds of a reload window: the DSL's `reload` block (compiler/dsl.ts) is checked against these. */
export const RELOAD_LIMITS = {
  trailingDays: { min: 1, max: 31 },
  previousMonthUntilDay: { min: 0, max: 28 },
} as const;

/**
 * The most days a reload window covers (a whole previous month of 31 days and 28 days of the month), well inside
 * MAX_RANGE_DAYS: a scheduled run's logical date is at most this many days - 1 after the first day it covers.
 */
export const MAX_RELOAD_DAYS = 31 + RELOAD_LIMITS.previousMonthUntilDay.max;

/** The most days one backfill item (one run) covers. */
export const MAX_CHUNK_DAYS = 31;

const HOUR_MS = 3_600_000;

/** Whether a pipeline is due for a logical day: daily (and cron) always; monthly on the first day of a month. */
export function isDue(p: PipelineModule, day: Day): boolean {
  if (p.schedule === "monthly") return monthStart(day) === day;
  return true;
}

/** The logical day of a tick at `at`: the day before for daily (and cron) schedules, the day itself for monthly. */
export function tickLogicalDay(schedule: string, at: Date): Day {
  return schedule === "monthly" ? dayOf(at) : addDays(dayOf(at), -1);
}

/**
 * The logical days of the ticks of `schedule` in the window `(now - windowDays, now]`, oldest first. Daily ticks
 * at 02:00 UTC, monthly at 03:00 UTC on the 1st; a custom cron expression has no catch-up (empty).
 */
export function missedLogicalDays(schedule: string, now: Date, windowDays: number): Day[] {
  if (windowDays <= 0 || (schedule !== "daily" && schedule !== "monthly")) return [];
  const from = now.getTime() - windowDays * 24 * HOUR_MS;
  const today = dayOf(now);
  const out: Day[] = [];
  for (const d of eachDay(addDays(today, -windowDays - 1), today)) {
    if (schedule === "monthly" && monthStart(d) !== d) continue;
    const tick = startOfDay(d).getTime() + (schedule === "monthly" ? MONTHLY_TICK_HOUR : DAILY_TICK_HOUR) * HOUR_MS;
    if (tick > from && tick <= now.getTime()) out.push(tickLogicalDay(schedule, new Date(tick)));
  }
  return out;
}

/**
 * The days the scheduled run for logical day `day` covers: the pipeline's reload window ending at `day`, i.e. the
 * `trailingDays` days up to `day` and, on days 1..`previousMonthUntilDay` of a month, from the first day of the
 * previous month (absent `reload`, or a monthly pipeline: `day` alone). Never more than MAX_RELOAD_DAYS days.
 */
export function reloadSpan(p: PipelineModule, day: Day): DaySpan {
  const r = p.reload;
  if (!r || p.schedule === "monthly") return { start: day, end: day };
  let start = addDays(day, 1 - r.trailingDays);
  const dayOfMonth = day - monthStart(day) + 1;
  if (dayOfMonth <= r.previousMonthUntilDay) {
    const previousMonth = monthStart(addDays(monthStart(day), -1));
    if (previousMonth < start) start = previousMonth;
  }
  const earliest = addDays(day, 1 - MAX_RELOAD_DAYS);
  return { start: start < earliest ? earliest : start, end: day };
}

/**
 * The params of a run for `span` (a scheduled run: one day), from the params the pipeline declares: start_date and
 * end_date, date (the span's first day) or month (`YYYY-MM` of the span's first day).
 */
export function scheduledParams(p: PipelineModule, start: Day, end: Day = start): Record<string, unknown> {
  // A shorthand (`alias_of`) stands for params set here already: giving both would be refused.
  const names = new Set(p.params.filter((x) => !x.aliasOf).map((x) => x.name));
  const out: Record<string, unknown> = {};
  if (names.has("start_date")) out.start_date = isoDay(start);
  if (names.has("end_date")) out.end_date = isoDay(end);
  if (names.has("date")) out.date = isoDay(start);
  if (names.has("month")) out.month = isoDay(start).slice(0, 7);
  return out;
}

/** The days a run's params cover (start_date..end_date, date, or the month), or undefined when they name none. */
export function paramsSpan(params: unknown): DaySpan | undefined {
  let p = params;
  if (typeof p === "string") {
    try {
      p = JSON.parse(p);
    } catch {
      return undefined;
    }
  }
  if (!p || typeof p !== "object") return undefined;
  const r = p as Record<string, unknown>;
  const day = (v: unknown) => (typeof v === "string" ? dayFromIso(v) : undefined);
  const start = day(r.start_date);
  if (start !== undefined) {
    const end = day(r.end_date) ?? start;
    return { start, end };
  }
  const d = day(r.date);
  if (d !== undefined) return { start: d, end: d };
  const m = typeof r.month === "string" ? day(`${r.month}-01`) : undefined;
  if (m !== undefined) return { start: m, end: addDays(nextMonthStart(m), -1) };
  return undefined;
}

/** The units of work of `span` for a pipeline: each day, or each month start of the months it touches (monthly). */
export function unitsOf(p: PipelineModule, span: DaySpan): Day[] {
  if (p.schedule !== "monthly") return eachDay(span.start, span.end);
  const out: Day[] = [];
  for (let m = monthStart(span.start); m <= span.end; m = nextMonthStart(m)) out.push(m);
  return out;
}

/** Sorted days cut into contiguous chunks of at most `max` days. */
export function chunkDays(days: readonly Day[], max = MAX_CHUNK_DAYS): DaySpan[] {
  const out: DaySpan[] = [];
  for (const d of [...days].sort((a, b) => a - b)) {
    const last = out.at(-1);
    if (last && d === addDays(last.end, 1) && d - last.start < max) out[out.length - 1] = { start: last.start, end: d };
    else out.push({ start: d, end: d });
  }
  return out;
}
