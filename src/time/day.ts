/**
 * A UTC calendar day as a value, and the one place that parses and checks the days the API, the scheduler and
 * backfills accept. A {@link Day} is the number of days since 1970-01-01 (an integer), so ordering and
 * arithmetic are on numbers, never on strings; it becomes `"YYYY-MM-DD"` only at the edges ({@link isoDay}).
 *
 * @example
 * const today = dayOf(new Date());
 * const start = parseDay("2025-11-25", "start_date", { today }); // throws DayError naming "start_date"
 * isoDay(addDays(start, 1)); // "2025-11-26"
 */
import { AppError } from "../errors/mod.ts";

/** Days since 1970-01-01 (UTC). Make one with {@link dayOf}, {@link parseDay} or {@link addDays}. */
export type Day = number & { readonly __brand: "Day" };

const MS_PER_DAY = 86_400_000;
const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The earliest day accepted: earlier than any provider's usage API. */
export const EARLIEST_DAY: Day = fromParts(2015, 1, 1)!;
/** The most days one run or one request range may cover. */
export const MAX_RANGE_DAYS = 366;

/** A day that failed a check: a `VALIDATION_ERROR` whose `field` names the request field, the message says why. */
export class DayError extends AppError {
  override readonly name = "DayError";
  declare readonly field: string;

  constructor(message: string, init: { readonly field: string }) {
    super("VALIDATION_ERROR", message, init);
  }
}

function fromParts(y: number, m: number, d: number): Day | undefined {
  if (y < 1 || m < 1 || m > 12 || d < 1) return undefined;
  const ms = Date.UTC(y, m - 1, d);
  const back = new Date(ms);
  // Date.UTC maps years 0-99 to 1900-1999: set the full year explicitly.
  back.setUTCFullYear(y, m - 1, d);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== m - 1 || back.getUTCDate() !== d) return undefined;
  return Math.floor(back.getTime() / MS_PER_DAY) as Day;
}

/** The UTC day of an instant. */
export function dayOf(instant: Date): Day {
  return Math.floor(instant.getTime() / MS_PER_DAY) as Day;
}

/** `text` as a day when it is a real calendar day written `YYYY-MM-DD` (years 0001-9999), else undefined. */
export function dayFromIso(text: string): Day | undefined {
  const m = ISO_DAY.exec(text);
  if (!m) return undefined;
  return fromParts(Number(m[1]), Number(m[2]), Number(m[3]));
}

/** `"YYYY-MM-DD"` of a day. */
export function isoDay(day: Day): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

/** The day `n` days after (negative: before) `day`. */
export function addDays(day: Day, n: number): Day {
  return (day + n) as Day;
}

/** How many days `from..to` covers, both ends included (0 when `to` is before `from`). */
export function daysInRange(from: Day, to: Day): number {
  return Math.max(0, to - from + 1);
}

/** Every day of `from..to`, both included, in order. */
export function eachDay(from: Day, to: Day): Day[] {
  const out: Day[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) out.push(d);
  return out;
}

/** 00:00 UTC of a day, as an instant. */
export function startOfDay(day: Day): Date {
  return new Date(day * MS_PER_DAY);
}

/** The first day of the day's month. */
export function monthStart(day: Day): Day {
  const d = startOfDay(day);
  return dayOf(new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)));
}

/** The first day of the month after the day's month. */
export function nextMonthStart(day: Day): Day {
  const d = startOfDay(day);
  return dayOf(new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)));
}

/** Options of {@link parseDay}: `today` is the latest day accepted; `earliest` defaults to {@link EARLIEST_DAY}. */
export interface DayBounds {
  readonly today: Day;
  readonly earliest?: Day;
}

/**
 * Parses a day stored or configured as text (a step's config, a warehouse cell): a string, a real calendar day
 * `YYYY-MM-DD`, with no bounds. Request days go through {@link parseDay}.
 * @throws DayError naming `field`
 */
export function parseIsoDay(value: unknown, field: string): Day {
  if (typeof value !== "string") throw new DayError(`Field "${field}" must be a date written YYYY-MM-DD`, { field });
  const day = dayFromIso(value);
  if (day === undefined) {
    throw new DayError(
      `Field "${field}": ${JSON.stringify(value.slice(0, 40))} is not a calendar day written YYYY-MM-DD`,
      { field },
    );
  }
  return day;
}

/**
 * Parses and checks one request day: a string, a real calendar day `YYYY-MM-DD`, not before `earliest`
 * (2015-01-01) and not after `today` (UTC).
 * @throws DayError naming `field`
 */
export function parseDay(value: unknown, field: string, bounds: DayBounds): Day {
  const day = parseIsoDay(value, field);
  const earliest = bounds.earliest ?? EARLIEST_DAY;
  if (day < earliest) {
    throw new DayError(`Field "${field}": ${value} is before ${isoDay(earliest)}, the earliest day accepted`, {
      field,
    });
  }
  if (day > bounds.today) {
    throw new DayError(`Field "${field}": ${value} is after today (${isoDay(bounds.today)}, UTC)`, { field });
  }
  return day;
}

/** An inclusive range of days. */
export interface DaySpan {
  readonly start: Day;
  readonly end: Day;
}

/**
 * Parses and checks a request range: both days as {@link parseDay} checks them, `end >= start`, and at most
 * `maxDays` (default {@link MAX_RANGE_DAYS}) days.
 * @throws DayError naming the field at fault
 */
export function parseDayRange(
  start: unknown,
  end: unknown,
  fields: { readonly start: string; readonly end: string },
  bounds: DayBounds & { readonly maxDays?: number },
): DaySpan {
  const from = parseDay(start, fields.start, bounds);
  const to = parseDay(end, fields.end, bounds);
  if (to < from) {
    throw new DayError(`Field "${fields.end}" (${isoDay(to)}) is before "${fields.start}" (${isoDay(from)})`, {
      field: fields.end,
    });
  }
  const max = bounds.maxDays ?? MAX_RANGE_DAYS;
  const days = daysInRange(from, to);
  if (days > max) {
    throw new DayError(`Field "${fields.end}": a range covers at most ${max} days, not ${days}`, { field: fields.end });
  }
  return { start: from, end: to };
}
