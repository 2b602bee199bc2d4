/**
 * A step whose rows the warehouse computes (`StepResult.load`): the executor's output writer counts the step's
 * checks in SQL over the new rows, books their outcomes, and a failed blocking check rolls the write back.
 */
import assert from "node:assert/strict";
import { writeOutput } from "../../src/pipeline/_outputs.ts";
import type { RunScope } from "../../src/pipeline/_scope.ts";
import type { StepDef } from "../../src/pipeline/module.ts";
import type { RunsStore } from "../../src/central/runs.ts";
import type { TableSchema } from "../../src/schema/table_schema.ts";
import { openDuckDB } from "../../src/warehouse/duckdb.ts";

const SCHEMA: TableSchema = {
  table: "loaded_daily",
  description: "Rows a SELECT computes",
  fields: [
    { name: "day", type: "DATE", mode: "REQUIRED" },
    { name: "k", type: "STRING", mode: "NULLABLE" },
    { name: "n", type: "NUMERIC", mode: "NULLABLE" },
  ],
  partitioning: { field: "day", type: "DAY" },
};

Deno.test("checks of a warehouse-computed load are counted in SQL, and a failed blocking one writes nothing", async () => {
  const wh = await openDuckDB(":memory:");
  const logged: { check_name: string; passed: boolean; observed_value: string }[] = [];
  const pending: Promise<unknown>[] = [];
  const deps = {
    warehouse: wh,
    runs: { logDq: (rows: typeof logged) => Promise.resolve(void logged.push(...rows)) } as unknown as RunsStore,
    now: () => new Date("2025-01-05T00:00:00Z"),
  };
  const scope = {
    pipeline: { path: "test/load", tables: { loaded_daily: SCHEMA } },
    org: { slug: "acme", dataset: "acme_local" },
    run: { id: "run-1", trigger: "api" },
    ledger: { book: (p: Promise<unknown>) => void pending.push(p), settled: () => Promise.all(pending) },
  } as unknown as RunScope;
  const step = (min: number) =>
    ({
      id: "load",
      output: { table: "loaded_daily", dataset: "org" },
      checks: [
        { name: "enough_rows", check: "min_rows", value: min, severity: "error" },
        { name: "one_per_key", check: "unique", columns: ["day", "k"], severity: "warn" },
        { name: "n_non_negative", check: "non_negative", columns: ["n"], severity: "warn" },
        { name: "k_not_null", check: "not_null", columns: ["k"], severity: "warn" },
      ],
    }) as unknown as StepDef;
  const range = { from: "2025-01-02", to: "2025-01-03" };
  const load = {
    sql: `SELECT CAST(@d AS DATE) AS day, 'a' AS k, CAST(-1 AS DECIMAL(38, 9)) AS n
          UNION ALL SELECT CAST(@d AS DATE), 'a', CAST(2 AS DECIMAL(38, 9))
          UNION ALL SELECT CAST('2025-01-03' AS DATE), NULL, CAST(3 AS DECIMAL(38, 9))`,
    params: { d: "2025-01-02" },
  };
  const outcomes = () => logged.splice(0).map((d) => [d.check_name, d.passed, Number(d.observed_value)]);
  const table = () =>
    wh.query<{ day: string; n: string }>(`SELECT day, n FROM acme_local.loaded_daily ORDER BY day, n`);
  try {
    await wh.ensureDataset("acme_local");
    await wh.ensureTable("acme_local", SCHEMA);
    await wh.insertRows("acme_local", SCHEMA, [{ day: "2025-01-02", k: "old", n: "7" }]);

    await assert.rejects(
      writeOutput(deps, scope, step(4), { load, range }),
      /Data-quality check "enough_rows" failed: 3 rows \(minimum 4\); nothing was written/,
    );
    await Promise.all(pending);
    assert.deepEqual(await table(), [{ day: "2025-01-02", n: "7.000000000" }]);
    assert.deepEqual(outcomes(), [
      ["enough_rows", false, 3],
      ["one_per_key", false, 1],
      ["n_non_negative", false, 1],
      ["k_not_null", false, 1],
    ]);

    assert.equal(await writeOutput(deps, scope, step(3), { load, range }), 3);
    await Promise.all(pending);
    assert.deepEqual(await table(), [
      { day: "2025-01-02", n: "-1.000000000" },
      { day: "2025-01-02", n: "2.000000000" },
      { day: "2025-01-03", n: "3.000000000" },
    ]);
    assert.deepEqual(outcomes().map((o) => o[0] === "enough_rows" ? o : o[0]), [
      ["enough_rows", true, 3],
      "one_per_key",
      "n_non_negative",
      "k_not_null",
    ]);
  } finally {
    await wh.close();
  }
});
