/** The partition helpers walk days as values: no range can make them loop on ISO strings (year 9999 and past). */
import assert from "node:assert/strict";
import { cellDay, normalizeForReplace, rangeDays } from "../../src/warehouse/_partitions.ts";
import type { TableSchema } from "../../src/schema/table_schema.ts";

const schema: TableSchema = {
  table: "t",
  description: "test",
  fields: [{ name: "usage_date", type: "DATE", mode: "REQUIRED" }],
  partitioning: { type: "DAY", field: "usage_date" },
} as unknown as TableSchema;

Deno.test("rangeDays() returns 9999-12-31 once and refuses ranges that are not two ordered days", () => {
  const t0 = performance.now();
  assert.deepEqual(rangeDays("d", schema, { from: "9999-12-31", to: "9999-12-31" }), ["9999-12-31"]);
  assert.deepEqual(rangeDays("d", schema, { from: "2024-02-28", to: "2024-03-01" }), [
    "2024-02-28",
    "2024-02-29",
    "2024-03-01",
  ]);
  for (const range of [{ from: "9999-12-31", to: "+010000-01-01" }, { from: "2025-01-02", to: "2025-01-01" }]) {
    assert.throws(() => rangeDays("d", schema, range), /range must be two "YYYY-MM-DD" days with from <= to/);
  }
  assert.throws(() => rangeDays("d", schema, { from: "0001-01-01", to: "9999-12-31" }), /at most 397 days/);
  assert.ok(performance.now() - t0 < 1_000);
});

Deno.test("normalizeForReplace() refuses a row outside the range by its day, and cellDay() reads DATE and TIMESTAMP", () => {
  const range = { from: "2025-03-01", to: "2025-03-02" };
  assert.equal(normalizeForReplace("d", schema, range, [{ usage_date: "2025-03-02" }]).days.length, 2);
  assert.throws(
    () => normalizeForReplace("d", schema, range, [{ usage_date: "2025-03-03" }]),
    /row 0 has usage_date 2025-03-03 outside 2025-03-01..2025-03-02/,
  );
  assert.equal(cellDay("2025-03-01"), "2025-03-01");
  assert.equal(cellDay(BigInt(Date.parse("2025-03-01T23:59:59Z")) * 1000n), "2025-03-01");
  assert.equal(cellDay(-1n), "1969-12-31");
});
