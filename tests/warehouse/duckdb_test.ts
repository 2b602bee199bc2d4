import assert from "node:assert/strict";
import { openDuckDB } from "../../src/warehouse/duckdb.ts";
import { qualified, type Row } from "../../src/warehouse/warehouse.ts";
import { COST_SCHEMA, warehouseContract } from "./contract.ts";
import { NEW_RUNS, OLD_RUNS } from "./contract_upgrade.ts";
import type { TableSchema } from "../../src/schema/table_schema.ts";

async function tempPath(): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "warehouse_duckdb_" });
  return { path: `${dir}/warehouse.duckdb`, cleanup: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test("DuckDB warehouse passes the warehouse contract", async (t) => {
  const { path, cleanup } = await tempPath();
  try {
    await warehouseContract(t, () => openDuckDB(path));
  } finally {
    await cleanup();
  }
});

Deno.test("DuckDB warehouse answers 50 concurrent queries", async () => {
  const wh = await openDuckDB(":memory:");
  try {
    await wh.ensureDataset("conc");
    await wh.ensureTable("conc", COST_SCHEMA);
    const rows = Array.from(
      { length: 50 },
      (_, i) => ({ usage_date: "2024-01-01", org_slug: `org_${i}`, cost: `${i}` }),
    );
    await wh.insertRows("conc", COST_SCHEMA, rows);
    const results = await Promise.all(
      rows.map((r) =>
        wh.query<{ cost: string }>(`SELECT cost FROM ${qualified("conc", "cost_daily")} WHERE org_slug = @o`, {
          o: r.org_slug,
        })
      ),
    );
    assert.deepEqual(results.map((r) => r[0]?.cost), rows.map((r) => `${r.cost}.000000000`));
    // Concurrent writers and DDL do not conflict either.
    await Promise.all([
      ...Array.from({ length: 5 }, () => wh.ensureTable("conc", COST_SCHEMA)),
      ...Array.from(
        { length: 5 },
        (_, i) =>
          wh.replacePartitions("conc", COST_SCHEMA, { from: "2024-02-01", to: "2024-02-01" }, [
            { usage_date: "2024-02-01", org_slug: `w${i}` },
          ]),
      ),
    ]);
    const [{ n } = { n: -1 }] = await wh.query<{ n: number }>(
      "SELECT COUNT(*) AS n FROM conc.cost_daily WHERE usage_date = CAST(@d AS DATE)",
      { d: "2024-02-01" },
    );
    assert.equal(n, 1);
  } finally {
    await wh.close();
  }
});

Deno.test("DuckDB replacePartitions() writes 100k rows within a few seconds", async () => {
  const { path, cleanup } = await tempPath();
  const wh = await openDuckDB(path);
  try {
    await wh.ensureDataset("bulk");
    await wh.ensureTable("bulk", COST_SCHEMA);
    const rows: Row[] = Array.from({ length: 100_000 }, (_, i) => ({
      usage_date: `2024-03-${String(1 + (i % 28)).padStart(2, "0")}`,
      org_slug: "acme",
      model: `model-${i % 50}`,
      input_tokens: i,
      cost: `${i}.000000001`,
      ratio: i / 7,
      billed: i % 2 === 0,
      ingested_at: "2024-04-01T00:00:00Z",
      labels: ["x"],
      meta: { i },
    }));
    const range = { from: "2024-03-01", to: "2024-03-31" };
    for (let round = 0; round < 2; round++) {
      const started = performance.now();
      assert.equal(await wh.replacePartitions("bulk", COST_SCHEMA, range, rows), 100_000);
      const ms = performance.now() - started;
      console.log(`replacePartitions of 100k rows, round ${round + 1}: ${ms.toFixed(0)} ms`);
      assert.ok(ms < 5000, `took ${ms} ms`);
    }
    const [totals] = await wh.query<{ n: number; total: string }>(
      "SELECT COUNT(*) AS n, SUM(cost) AS total FROM bulk.cost_daily",
    );
    assert.deepEqual(totals, { n: 100_000, total: "4999950000.000100000" });
  } finally {
    await wh.close();
    await cleanup();
  }
});

Deno.test("DuckDB transaction() rolls back everything when its callback throws", async () => {
  const wh = await openDuckDB(":memory:");
  try {
    await wh.ensureDataset("tx");
    await wh.ensureTable("tx", COST_SCHEMA);
    await wh.insertRows("tx", COST_SCHEMA, [{ usage_date: "2024-01-01", org_slug: "keep" }]);
    await assert.rejects(
      wh.transaction(async (tx) => {
        await tx.execute("DELETE FROM tx.cost_daily WHERE org_slug = @o", { o: "keep" });
        await tx.insertRows("tx", COST_SCHEMA, [{ usage_date: "2024-01-02", org_slug: "new" }]);
        throw new Error("boom");
      }),
      /boom/,
    );
    const rows = await wh.query("SELECT org_slug FROM tx.cost_daily");
    assert.deepEqual(rows, [{ org_slug: "keep" }]);
  } finally {
    await wh.close();
  }
});

Deno.test("DuckDB replacePartitions() failing after its DELETE rolls back to the old rows", async () => {
  const wh = await openDuckDB(":memory:");
  try {
    await wh.ensureDataset("rb");
    await wh.ensureTable("rb", COST_SCHEMA);
    await wh.insertRows("rb", COST_SCHEMA, [{ usage_date: "2024-01-01", org_slug: "old" }]);
    // A schema that no longer matches the table: the DELETE runs, then the append fails.
    const drifted = { ...COST_SCHEMA, fields: COST_SCHEMA.fields.slice(0, 3) };
    await assert.rejects(
      wh.replacePartitions("rb", drifted, { from: "2024-01-01", to: "2024-01-01" }, [
        { usage_date: "2024-01-01", org_slug: "new" },
      ]),
      /Cannot replace partitions of "rb.cost_daily": table has 10 columns but its schema has 3/,
    );
    assert.deepEqual(await wh.query("SELECT org_slug FROM rb.cost_daily"), [{ org_slug: "old" }]);
  } finally {
    await wh.close();
  }
});

Deno.test("DuckDB replacePartitions() on a TIMESTAMP partition uses UTC days", async () => {
  const schema: TableSchema = {
    table: "events",
    description: "events",
    fields: [{ name: "event_at", type: "TIMESTAMP", mode: "REQUIRED" }, { name: "n", type: "INT64", mode: "NULLABLE" }],
    partitioning: { field: "event_at", type: "DAY" },
  };
  const wh = await openDuckDB(":memory:");
  try {
    await wh.ensureDataset("ts");
    await wh.ensureTable("ts", schema);
    await wh.insertRows("ts", schema, [
      { event_at: "2024-01-01T23:59:59.999999Z", n: 1 },
      { event_at: "2024-01-02T00:00:00Z", n: 2 },
      { event_at: "2024-01-03T00:30:00+01:00", n: 3 }, // 2024-01-02T23:30Z
    ]);
    await wh.replacePartitions("ts", schema, { from: "2024-01-02", to: "2024-01-02" }, [{
      event_at: "2024-01-02T12:00:00Z",
      n: 4,
    }]);
    const rows = await wh.query("SELECT event_at, n FROM ts.events ORDER BY event_at");
    assert.deepEqual(rows, [{ event_at: "2024-01-01T23:59:59.999999Z", n: 1 }, {
      event_at: "2024-01-02T12:00:00.000Z",
      n: 4,
    }]);
  } finally {
    await wh.close();
  }
});

Deno.test("DuckDB refuses a partial month on a MONTH-partitioned table", async () => {
  const wh = await openDuckDB(":memory:");
  try {
    const schema = { ...COST_SCHEMA, partitioning: { field: "usage_date", type: "MONTH" as const } };
    await assert.rejects(
      wh.replacePartitions("x", schema, { from: "2024-01-01", to: "2024-01-15" }, []),
      /partitioned by MONTH, so the range must cover whole months/,
    );
  } finally {
    await wh.close();
  }
});

Deno.test("DuckDB writes by name to a table an earlier process upgraded, without ensureTable first", async () => {
  const { path, cleanup } = await tempPath();
  try {
    const first = await openDuckDB(path);
    await first.ensureDataset("up");
    await first.ensureTable("up", OLD_RUNS);
    await first.ensureTable("up", NEW_RUNS); // "attempt" goes last in the table, second in the schema
    await first.close();
    const second = await openDuckDB(path);
    try {
      await second.insertRows("up", NEW_RUNS, [
        { run_id: "r1", attempt: 4, run_date: "2024-06-01", status: "DONE", tags: ["x"] },
      ]);
      assert.deepEqual(
        await second.query(`SELECT run_id, attempt, run_date, status, tags FROM ${qualified("up", "upgrade_runs")}`),
        [{ run_id: "r1", attempt: 4, run_date: "2024-06-01", status: "DONE", tags: ["x"] }],
      );
    } finally {
      await second.close();
    }
  } finally {
    await cleanup();
  }
});
