/** src/time/day.ts: the one parser of request days, by example and by property (fast-check). */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  addDays,
  type Day,
  DayError,
  dayFromIso,
  dayOf,
  eachDay,
  EARLIEST_DAY,
  isoDay,
  parseDay,
  parseDayRange,
} from "../../src/time/day.ts";

const TODAY = dayFromIso("2025-11-26")!;
const bounds = { today: TODAY };

/** Every day the API accepts, 2015-01-01..today, written as the API takes it. */
const acceptedDay = fc.integer({ min: EARLIEST_DAY, max: TODAY }).map((n) => isoDay(n as Day));
/** Strings shaped like days, most of them not real or out of bounds: digits in every slot, any year. */
const dayShaped = fc.tuple(
  fc.oneof(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 2013, max: 2027 })),
  fc.integer({ min: 0, max: 99 }),
  fc.integer({ min: 0, max: 99 }),
).map(([y, m, d]) => `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`);

/** The calendar day of a `YYYY-MM-DD` string by the JavaScript Date, independently of day.ts. */
function dateOf(text: string): Date {
  const [y, m, d] = text.split("-").map(Number) as [number, number, number];
  const date = new Date(Date.UTC(2000, 0, 1));
  date.setUTCFullYear(y, m - 1, d);
  return date;
}

Deno.test("parseDay() accepts exactly the real days 2015-01-01..today and names the field otherwise", () => {
  assert.equal(isoDay(parseDay("2015-01-01", "start_date", bounds)), "2015-01-01");
  assert.equal(isoDay(parseDay("2024-02-29", "start_date", bounds)), "2024-02-29");
  assert.equal(isoDay(parseDay("2025-11-26", "start_date", bounds)), "2025-11-26");
  for (
    const [value, reason] of [
      ["2025-11-27", /after today \(2025-11-26, UTC\)/],
      ["9999-12-31", /after today/],
      ["2014-12-31", /before 2015-01-01/],
      ["1969-12-31", /before 2015-01-01/],
      ["0000-01-01", /not a calendar day/],
      ["0099-12-31", /before 2015-01-01/],
      ["2023-02-29", /not a calendar day/],
      ["2025-1-01", /not a calendar day/],
      ["+010000-01-01", /not a calendar day/],
      [20250101, /must be a date written YYYY-MM-DD/],
    ] as const
  ) {
    assert.throws(
      () => parseDay(value, "start_date", bounds),
      (e) =>
        e instanceof DayError && e.field === "start_date" && /^Field "start_date"/.test(e.message) &&
        reason.test(e.message),
      String(value),
    );
  }
});

Deno.test("parseDayRange() refuses an end before the start and more than 366 days, naming end_date", () => {
  const fields = { start: "start_date", end: "end_date" };
  const span = parseDayRange("2025-01-01", "2025-01-31", fields, bounds);
  assert.equal(span.end - span.start, 30);
  assert.throws(
    () => parseDayRange("2025-01-02", "2025-01-01", fields, bounds),
    (e) => e instanceof DayError && e.field === "end_date" && /is before "start_date"/.test(e.message),
  );
  assert.throws(
    () => parseDayRange("2024-01-01", "2025-01-01", fields, bounds),
    (e) => e instanceof DayError && e.field === "end_date" && /at most 366 days, not 367/.test(e.message),
  );
  assert.equal(eachDay(span.start, span.end).length, 31);
});

Deno.test("any day the API accepts round-trips: isoDay(parseDay(s)) === s", () => {
  fc.assert(fc.property(acceptedDay, (s) => isoDay(parseDay(s, "date", bounds)) === s));
  fc.assert(
    fc.property(dayShaped, (s) => {
      let day: Day;
      try {
        day = parseDay(s, "date", bounds);
      } catch (e) {
        return e instanceof DayError;
      }
      return isoDay(day) === s && dateOf(s).getUTCDate() === Number(s.slice(8));
    }),
    { numRuns: 2000 },
  );
});

Deno.test("accepted days order as days: comparing Days agrees with comparing their dates", () => {
  fc.assert(
    fc.property(acceptedDay, acceptedDay, (a, b) => {
      const x = parseDay(a, "start_date", bounds);
      const y = parseDay(b, "end_date", bounds);
      const ta = dateOf(a).getTime();
      const tb = dateOf(b).getTime();
      return (x < y) === (ta < tb) && (x === y) === (ta === tb) && (y - x) * 86_400_000 === tb - ta;
    }),
  );
  // Arithmetic stays on days across the year 10000 (where ISO strings stop sorting as days).
  const last = dayFromIso("9999-12-31")!;
  assert.ok(addDays(last, 1) > last);
  assert.deepEqual(eachDay(addDays(last, -1), addDays(last, 1)).length, 3);
});

Deno.test("arbitrary input never makes parseDay or parseDayRange throw anything but DayError", () => {
  const anything = fc.oneof(fc.string(), fc.string({ unit: "binary" }), dayShaped, fc.anything());
  fc.assert(
    fc.property(anything, anything, (a, b) => {
      for (
        const run of [() => parseDay(a, "date", bounds), () => parseDayRange(a, b, { start: "s", end: "e" }, bounds)]
      ) {
        try {
          run();
        } catch (e) {
          if (!(e instanceof DayError)) return false;
        }
      }
      return true;
    }),
    { numRuns: 1000 },
  );
});

Deno.test("dayOf() is the UTC day of an instant, whatever its time of day", () => {
  assert.equal(isoDay(dayOf(new Date("2025-11-26T00:00:00Z"))), "2025-11-26");
  assert.equal(isoDay(dayOf(new Date("2025-11-26T23:59:59.999Z"))), "2025-11-26");
  assert.equal(isoDay(dayOf(new Date("1969-12-31T12:00:00Z"))), "1969-12-31");
});
