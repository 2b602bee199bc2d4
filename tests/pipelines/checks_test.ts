/** Data-quality checks fed in batches give the outcome of the same rows at once; unique keys are exact. */
import assert from "node:assert/strict";
import { CheckRun, runChecks, UniqueKeys } from "../../src/pipeline/checks.ts";
import type { CheckDef } from "../../src/pipeline/module.ts";

const CHECKS: CheckDef[] = [
  { name: "enough", check: "min_rows", value: 5, severity: "error" },
  { name: "keys", check: "not_null", columns: ["day", "model"], severity: "error" },
  { name: "tokens", check: "non_negative", columns: ["tokens", "cost"], severity: "warn" },
  { name: "one_per_group", check: "unique", columns: ["day", "model", "batch"], severity: "error" },
] as CheckDef[];

Deno.test("CheckRun over batches equals runChecks over all the rows, duplicates across batches included", () => {
  let seed = 7;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const rows = Array.from({ length: 3000 }, () => ({
    day: rand(50) === 0 ? null : `2025-01-${String(1 + rand(28)).padStart(2, "0")}`,
    model: ["a", "b", "c", undefined][rand(4)],
    batch: [true, false, null][rand(3)],
    tokens: rand(100) - 3,
    cost: rand(10) === 0 ? "-0.5" : "1.25",
  }));
  const whole = runChecks(CHECKS, rows);
  for (const size of [1, 7, 1000, 3000]) {
    const run = new CheckRun(CHECKS);
    for (let i = 0; i < rows.length; i += size) run.add(rows.slice(i, i + size));
    assert.deepEqual(run.finish(), whole, `batches of ${size}`);
  }
  assert.ok(whole.every((o) => o.observed > 0), "every check found something to count");
  assert.equal(whole[3]!.message, `${whole[3]!.observed} duplicate rows on day, model, batch`);
});

Deno.test("UniqueKeys tells values apart as JSON does and stays exact past its compact number form", () => {
  const keys = new UniqueKeys(2);
  assert.equal(keys.add([1, "x"]), true);
  assert.equal(keys.add(["1", "x"]), true, "a number and its text differ");
  assert.equal(keys.add([true, "x"]), true);
  assert.equal(keys.add(["true", "x"]), true);
  assert.equal(keys.add([null, "x"]), true);
  assert.equal(keys.add([undefined, "x"]), false, "undefined is null");
  assert.equal(keys.add([Number.NaN, "x"]), false, "NaN is null, as in JSON");
  assert.equal(keys.add([{ a: 1 }, "x"]), true);
  assert.equal(keys.add([{ a: 1 }, "x"]), false, "objects compare by their JSON");
  assert.equal(keys.add([1, "x"]), false);

  // Five columns leave 10 bits per id in the number form; 70,000 distinct values also need the escaped 0xffff ids.
  const wide = new UniqueKeys(5);
  for (let i = 0; i < 70_000; i++) assert.equal(wide.add([`v${i}`, i % 3, null, "k", i % 2 === 0]), true);
  for (let i = 0; i < 70_000; i += 997) assert.equal(wide.add([`v${i}`, i % 3, null, "k", i % 2 === 0]), false);
  assert.equal(wide.add(["v5", 2, null, "k", true]), true, "one column differs");
  assert.equal(wide.add(["v69999", 0, null, "k", true]), true, "one column differs, ids past 0xffff");
  wide.clear();
  assert.equal(wide.add(["v5", 2, null, "k", false]), true, "clear() forgets every tuple");
});

Deno.test("a not_null check with report_by names the distinct failing values, sorted, at most ten", () => {
  const check = {
    name: "priced",
    check: "not_null",
    columns: ["list_cost"],
    reportBy: ["model"],
    severity: "warn",
  } as CheckDef;
  const rows = [
    { model: "gpt-4o", list_cost: "1.5" },
    { model: "gpt-4o-audio-preview", list_cost: null },
    { model: "dall-e-3", list_cost: null },
    { model: "gpt-4o-audio-preview", list_cost: null },
  ];
  const [o] = runChecks([check], rows);
  assert.equal(o!.observed, 3);
  assert.equal(o!.message, '3 rows with a null in list_cost (model: "dall-e-3", "gpt-4o-audio-preview")');
  const many = Array.from({ length: 12 }, (_, i) => ({ model: `m${String(i).padStart(2, "0")}`, list_cost: null }));
  const [capped] = runChecks([check], many);
  assert.equal(
    capped!.message,
    `12 rows with a null in list_cost (model: ${
      Array.from({ length: 10 }, (_, i) => `"m${String(i).padStart(2, "0")}"`).join(", ")
    }, ...)`,
  );
  const [clean] = runChecks([check], [{ model: "gpt-4o", list_cost: "1" }]);
  assert.equal(clean!.message, "0 rows with a null in list_cost", "nothing named when nothing fails");
});
