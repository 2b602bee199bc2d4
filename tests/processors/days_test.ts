/** The processors' day helpers (src/processors/_cost.ts) compare and walk Day values, never ISO strings. */
import { AppError } from "../../src/errors/mod.ts";
import { statusOf } from "../../runtime/error_status.ts";
import assert from "node:assert/strict";
import { dayRange, dayWindows, inRange, PriceBook } from "../../src/processors/_cost.ts";
import { monthDays, monthlyFee } from "../../src/processors/openai/subscriptions.ts";
import { dayFromIso } from "../../src/time/day.ts";

Deno.test("dayWindows() ends at 9999-12-31 instead of looping past year 9999", () => {
  const t0 = performance.now();
  const windows = dayWindows(dayRange("9999-12-01", "9999-12-31"), 7);
  assert.deepEqual(windows.map((w) => [w.from, w.to]), [
    ["9999-12-01", "9999-12-07"],
    ["9999-12-08", "9999-12-14"],
    ["9999-12-15", "9999-12-21"],
    ["9999-12-22", "9999-12-28"],
    ["9999-12-29", "9999-12-31"],
  ]);
  assert.ok(performance.now() - t0 < 1_000);
  assert.throws(() => dayWindows(dayRange("2025-01-01", "2025-01-02"), 0), RangeError);
});

Deno.test("dayRange() is a 400 for a malformed day, an end before the start or more than 366 days", () => {
  for (
    const [start, end, message] of [
      ["2025-02-30", "2025-03-01", /Field "start_date"/],
      ["2025-03-02", "2025-03-01", /Field "end_date" \(2025-03-01\) is before "start_date"/],
      ["2024-01-01", "2025-01-01", /at most 366 days, not 367/],
    ] as const
  ) {
    assert.throws(
      () => dayRange(start, end),
      (e) => e instanceof AppError && statusOf(e.code) === 400 && message.test(e.message),
    );
  }
  const range = dayRange("2025-03-01", "2025-03-03");
  assert.equal(inRange(dayFromIso("2025-03-03")!, range), true);
  assert.equal(inRange(dayFromIso("2025-03-04")!, range), false);
});

Deno.test("PriceBook.find() and monthlyFee() compare effective days as values", () => {
  const price = (from: string, to: string | null, input: string) => ({
    model_id: "m",
    input_per_1m: input,
    cached_input_per_1m: null,
    cache_write_5m_per_1m: null,
    cache_write_1h_per_1m: null,
    output_per_1m: "1",
    currency: "USD",
    effective_from: from,
    effective_to: to,
  });
  const book = new PriceBook([price("2025-01-01", "2025-02-01", "1"), price("2025-02-01", null, "2")]);
  assert.equal(book.find("m", "2025-01-31")?.input_per_1m, "1");
  assert.equal(book.find("m", "2025-02-01")?.input_per_1m, "2");
  assert.equal(book.find("m", "2024-12-31"), undefined);
  const month = monthDays("2024-02");
  assert.deepEqual(month, { first: "2024-02-01", last: "2024-02-29", next: "2024-03-01" });
  const plan = {
    plan_name: "p",
    quantity: 1,
    unit_price_usd: "29",
    billing_period: "monthly",
    rpm_limit: null,
    tpm_limit: null,
    monthly_spend_limit_usd: null,
    effective_from: "2024-02-15",
    effective_to: null,
  };
  assert.equal(monthlyFee(plan, month), "15.000000000"); // 15 of 29 days
});
