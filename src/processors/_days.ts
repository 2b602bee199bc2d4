/** UTC day ranges of the cost processors: the step's checked `start_date`/`end_date`, windows, charge periods. */
import { AppError } from "../errors/mod.ts";
import { addDays, type Day, dayOf, daysInRange, isoDay, MAX_RANGE_DAYS, parseIsoDay, startOfDay } from "../time/day.ts";

/** Inclusive UTC days `YYYY-MM-DD`, the form steps return, log and bind in SQL. */
export interface DayRange {
  readonly from: string;
  readonly to: string;
}

/** A range checked by {@link dayRange}: the days also as values, for every comparison and loop. */
export interface CheckedRange extends DayRange {
  readonly first: Day;
  readonly last: Day;
}

/** The UTC day of an instant in milliseconds, `YYYY-MM-DD`. */
export const utcDayOf = (ms: number): string => isoDay(dayOf(new Date(ms)));

/** `day` parsed; a malformed day is a `VALIDATION_ERROR` (DayError) naming `field`. */
function dayValue(value: string, field: string): Day {
  return parseIsoDay(value, field);
}

/**
 * Checks the step's `start_date`/`end_date` and returns them as a range.
 * @throws {AppError} VALIDATION_ERROR for a malformed day, an end before the start or more than 366 days
 */
export function dayRange(start: string, end: string): CheckedRange {
  const first = dayValue(start, "start_date");
  const last = dayValue(end, "end_date");
  if (last < first) {
    throw new AppError("VALIDATION_ERROR", `Field "end_date" (${end}) is before "start_date" (${start})`);
  }
  const days = daysInRange(first, last);
  if (days > MAX_RANGE_DAYS) {
    throw new AppError(
      "VALIDATION_ERROR",
      `Field "end_date": a run covers at most ${MAX_RANGE_DAYS} days, not ${days}`,
    );
  }
  return { from: isoDay(first), to: isoDay(last), first, last };
}

/** Whether `day` lies inside `range`. */
export function inRange(day: Day, range: CheckedRange): boolean {
  return day >= range.first && day <= range.last;
}

/** `range` cut into consecutive windows of at most `days` days, in order. */
export function dayWindows(range: CheckedRange, days: number): CheckedRange[] {
  if (!(Number.isInteger(days) && days > 0)) {
    throw new RangeError(`A window covers a whole number of days, not ${days}`);
  }
  const out: CheckedRange[] = [];
  for (let first = range.first; first <= range.last; first = addDays(first, days)) {
    const last = addDays(first, days - 1) < range.last ? addDays(first, days - 1) : range.last;
    out.push({ from: isoDay(first), to: isoDay(last), first, last });
  }
  return out;
}

/** The FOCUS charge period of a UTC day: `[day 00:00, next day 00:00)`. */
export function chargePeriod(day: string): { charge_period_start: string; charge_period_end: string } {
  if (lastPeriod?.day !== day) {
    const value = dayValue(day, "usage_date");
    lastPeriod = {
      day,
      period: {
        charge_period_start: startOfDay(value).toISOString(),
        charge_period_end: startOfDay(addDays(value, 1)).toISOString(),
      },
    };
  }
  return { ...lastPeriod.period };
}

/** The last day asked for (rows come grouped by day). */
let lastPeriod: { day: string; period: { charge_period_start: string; charge_period_end: string } } | undefined;
