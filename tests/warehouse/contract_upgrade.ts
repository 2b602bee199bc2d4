/**
 * The schema-upgrade part of the warehouse contract: `ensureTable` on a table created from an older schema adds the
 * NULLABLE and REPEATED columns the new schema declares (old rows read them as null), every write path then writes
 * them, and a missing REQUIRED column or a changed type is a clear error naming table and column.
 */
import assert from "node:assert/strict";
import type { TableSchema } from "../../src/schema/table_schema.ts";
import { qualified, type Warehouse } from "../../src/warehouse/warehouse.ts";

/** The release before: no `attempt`, no `tags`. */
export const OLD_RUNS: TableSchema = {
  table: "upgrade_runs",
  description: "Contract test table, old release",
  fields: [
    { name: "run_id", type: "STRING", mode: "REQUIRED" },
    { name: "run_date", type: "DATE", mode: "REQUIRED" },
    { name: "status", type: "STRING", mode: "NULLABLE" },
  ],
  partitioning: { field: "run_date", type: "DAY" },
};

/** This release: `attempt` declared in the middle of the fields (as in org_meta_step_logs), `tags` at the end. */
export const NEW_RUNS: TableSchema = {
  ...OLD_RUNS,
  description: "Contract test table, new release",
  fields: [
    OLD_RUNS.fields[0]!,
    { name: "attempt", type: "INT64", mode: "NULLABLE" },
    OLD_RUNS.fields[1]!,
    OLD_RUNS.fields[2]!,
    { name: "tags", type: "STRING", mode: "REPEATED" },
  ],
};

/** Runs the upgrade steps in `ds` (an existing dataset) of `wh`. */
export async function schemaUpgradeContract(t: Deno.TestContext, wh: Warehouse, ds: string): Promise<void> {
  const table = qualified(ds, OLD_RUNS.table);
  const read = () =>
    wh.query<{ run_id: string; attempt: number | null; status: string | null }>(
      `SELECT run_id, attempt, status FROM ${table} ORDER BY run_id`,
    );

  await t.step(
    "ensureTable() adds the new NULLABLE column to a table of the older schema; old rows read null",
    async () => {
      await wh.ensureTable(ds, OLD_RUNS);
      await wh.insertRows(ds, OLD_RUNS, [{ run_id: "r1", run_date: "2024-06-01", status: "COMPLETED" }]);
      await assert.rejects(
        wh.query(`SELECT attempt FROM ${table}`),
        /attempt/,
        "the old table has no attempt column yet",
      );
      await wh.ensureTable(ds, NEW_RUNS);
      await wh.ensureTable(ds, NEW_RUNS); // idempotent
      assert.deepEqual(await read(), [{ run_id: "r1", attempt: null, status: "COMPLETED" }]);
    },
  );

  await t.step("after the upgrade every write path writes the new columns by name", async () => {
    await wh.insertRows(ds, NEW_RUNS, [
      { run_id: "r2", attempt: 2, run_date: "2024-06-01", status: "FAILED", tags: ["retry"] },
    ]);
    await wh.replacePartitions(ds, NEW_RUNS, { from: "2024-06-02", to: "2024-06-02" }, [
      { run_id: "r3", attempt: 1, run_date: "2024-06-02", status: "RUNNING" },
    ]);
    await wh.transaction(async (tx) => {
      await tx.insertRows(ds, NEW_RUNS, [{ run_id: "r4", attempt: 3, run_date: "2024-06-03", status: "QUEUED" }]);
    });
    assert.deepEqual(await read(), [
      { run_id: "r1", attempt: null, status: "COMPLETED" },
      { run_id: "r2", attempt: 2, status: "FAILED" },
      { run_id: "r3", attempt: 1, status: "RUNNING" },
      { run_id: "r4", attempt: 3, status: "QUEUED" },
    ]);
    const tagged = await wh.query<{ tags: string[] }>(`SELECT tags FROM ${table} WHERE run_id = 'r2'`);
    assert.deepEqual(tagged[0]!.tags, ["retry"]);
    const dated = await wh.query<{ run_date: string }>(`SELECT run_date FROM ${table} WHERE run_id = 'r3'`);
    assert.deepEqual(dated, [{ run_date: "2024-06-02" }], "the DATE column kept its values, not the added INT64");
  });

  await t.step("a REQUIRED column missing from an existing table is an error naming table and column", async () => {
    const withRequired: TableSchema = {
      ...NEW_RUNS,
      fields: [...NEW_RUNS.fields, { name: "region", type: "STRING", mode: "REQUIRED" }],
    };
    await assert.rejects(
      wh.ensureTable(ds, withRequired),
      (e: Error) => {
        assert.match(e.message, new RegExp(`table "${ds}\\.upgrade_runs": column "region" is REQUIRED`));
        assert.match(e.message, /declare it NULLABLE/);
        return true;
      },
    );
    await assert.rejects(wh.query(`SELECT region FROM ${table}`), /region/, "nothing was added");
  });

  await t.step("a column whose type changed is an error naming table, column and both types", async () => {
    const retyped: TableSchema = {
      ...NEW_RUNS,
      fields: NEW_RUNS.fields.map((f) => (f.name === "status" ? { ...f, type: "INT64" as const } : f)),
    };
    await assert.rejects(
      wh.ensureTable(ds, retyped),
      new RegExp(`table "${ds}\\.upgrade_runs": column "status" is \\S*(VARCHAR|STRING)\\S* in the table`),
    );
    // The table is untouched and still takes rows of its schema.
    await wh.insertRows(ds, NEW_RUNS, [{ run_id: "r5", run_date: "2024-06-04", status: "DONE" }]);
    assert.equal((await read()).length, 5);
  });
}
