/**
 * How the BigQuery adapter upgrades a table on the stand-in: one tables.get per table and schema per process, one
 * tables.patch carrying the full field list (existing fields, then the added ones), and the stand-in refusing the
 * patches BigQuery refuses.
 */
import assert from "node:assert/strict";
import { BigQueryWarehouse } from "../../src/warehouse/bigquery.ts";
import { startBigQueryStandIn } from "../standins/bigquery_rest.ts";
import { NEW_RUNS, OLD_RUNS } from "./contract_upgrade.ts";

const TOKEN = "stand-in-token";

function warehouse(url: string): BigQueryWarehouse {
  return new BigQueryWarehouse({
    projectId: "test-project",
    location: "EU",
    apiEndpoint: url,
    authClient: { getRequestHeaders: () => Promise.resolve(new Headers({ authorization: `Bearer ${TOKEN}` })) },
  });
}

Deno.test("BigQuery ensureTable() adds columns with one tables.patch of the full field list, then reads no catalog", async () => {
  const s = startBigQueryStandIn();
  try {
    const old = warehouse(s.url);
    await old.ensureDataset("up");
    await old.ensureTable("up", OLD_RUNS);
    await old.insertRows("up", OLD_RUNS, [{ run_id: "r1", run_date: "2024-06-01", status: "DONE" }]);

    const wh = warehouse(s.url); // the upgraded release, a new process
    const start = s.requests.length;
    await wh.ensureTable("up", NEW_RUNS);
    await wh.ensureTable("up", NEW_RUNS);
    await wh.ensureTable("up", NEW_RUNS);
    const calls = s.requests.slice(start).map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(calls, ["GET /datasets/up/tables/upgrade_runs", "PATCH /datasets/up/tables/upgrade_runs"]);
    // deno-lint-ignore no-explicit-any
    const patch = s.requests.at(-1)!.body as any;
    assert.deepEqual(
      patch.schema.fields.map((f: { name: string; mode: string }) => `${f.name}:${f.mode}`),
      ["run_id:REQUIRED", "run_date:REQUIRED", "status:NULLABLE", "attempt:NULLABLE", "tags:REPEATED"],
    );
    await wh.insertRows("up", NEW_RUNS, [{ run_id: "r2", attempt: 2, run_date: "2024-06-01", tags: ["a"] }]);
    assert.deepEqual(
      await wh.query("SELECT run_id, attempt FROM up.upgrade_runs ORDER BY run_id"),
      [{ run_id: "r1", attempt: null }, { run_id: "r2", attempt: 2 }],
    );
  } finally {
    await s.close();
  }
});

Deno.test("BigQuery stand-in refuses a patch that adds a REQUIRED field or changes a type, as BigQuery does", async () => {
  const s = startBigQueryStandIn();
  try {
    const wh = warehouse(s.url);
    await wh.ensureDataset("up");
    await wh.ensureTable("up", OLD_RUNS);
    const patch = (fields: unknown[]) =>
      fetch(`${s.url}/bigquery/v2/projects/test-project/datasets/up/tables/upgrade_runs`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ schema: { fields } }),
      }).then(async (r) => ({ status: r.status, body: await r.json() }));
    const base = OLD_RUNS.fields.map((f) => ({ name: f.name, type: f.type, mode: f.mode }));
    const required = await patch([...base, { name: "region", type: "STRING", mode: "REQUIRED" }]);
    assert.equal(required.status, 400);
    assert.match(required.body.error.message, /Cannot add required fields.*region/);
    const retyped = await patch(base.map((f) => (f.name === "status" ? { ...f, type: "INTEGER" } : f)));
    assert.equal(retyped.status, 400);
    assert.match(retyped.body.error.message, /Field status has changed type from STRING to INT64/);
    const dropped = await patch(base.slice(0, 2));
    assert.match(dropped.body.error.message, /Field status is missing in new schema/);
  } finally {
    await s.close();
  }
});
