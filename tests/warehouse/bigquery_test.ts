/**
 * BigQuery adapter. With BIGQUERY_TEST_PROJECT set (and Application Default
 * Credentials), the shared contract runs against that project
 * (BIGQUERY_TEST_LOCATION, default "US"). Otherwise the official client is
 * pointed at a local REST stand-in and the request shapes are checked.
 */
import assert from "node:assert/strict";
import { BigQueryWarehouse } from "../../src/warehouse/bigquery.ts";
import type { TableSchema } from "../../src/schema/table_schema.ts";
import { type RecordedRequest, startBigQueryStandIn } from "../standins/bigquery_rest.ts";
import { COST_SCHEMA, warehouseContract } from "./contract.ts";
import { AppError } from "../../src/errors/mod.ts";

const project = Deno.env.get("BIGQUERY_TEST_PROJECT");

if (project) {
  Deno.test("BigQuery warehouse passes the warehouse contract", async (t) => {
    const location = Deno.env.get("BIGQUERY_TEST_LOCATION") ?? "US";
    await warehouseContract(t, () => Promise.resolve(new BigQueryWarehouse({ projectId: project, location })));
  });
}

const TOKEN = "stand-in-token";

Deno.test("BigQuery warehouse on the SQL-running stand-in passes the warehouse contract", async (t) => {
  const s = startBigQueryStandIn();
  try {
    await warehouseContract(t, () =>
      Promise.resolve(
        new BigQueryWarehouse({
          projectId: "test-project",
          location: "EU",
          apiEndpoint: s.url,
          authClient: { getRequestHeaders: () => Promise.resolve(new Headers({ authorization: `Bearer ${TOKEN}` })) },
        }),
      ));
  } finally {
    await s.close();
  }
});
// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

async function withStandIn(
  fn: (wh: BigQueryWarehouse, s: ReturnType<typeof startBigQueryStandIn>) => Promise<void>,
  options: Parameters<typeof startBigQueryStandIn>[0] = {},
) {
  const s = startBigQueryStandIn(options);
  const wh = new BigQueryWarehouse({
    projectId: "test-project",
    location: "EU",
    apiEndpoint: s.url,
    authClient: { getRequestHeaders: () => Promise.resolve(new Headers({ authorization: `Bearer ${TOKEN}` })) },
  });
  try {
    await fn(wh, s);
    for (const r of s.requests) {
      assert.equal(r.project, "test-project");
      assert.equal(r.authorization, `Bearer ${TOKEN}`);
    }
  } finally {
    await wh.close();
    await s.close();
  }
}

const jobInserts = (requests: RecordedRequest[]) =>
  requests.filter((r) => r.method === "POST" && r.path === "/jobs").map((r) => r.body as Json);
const queries = (requests: RecordedRequest[]) => jobInserts(requests).filter((b) => b.configuration?.query);

Deno.test("BigQuery ensureDataset() and ensureTable() send the dataset id and the full table resource once", async () => {
  await withStandIn(async (wh, s) => {
    await wh.ensureDataset("org_acme_local");
    await wh.ensureDataset("org_acme_local");
    await wh.ensureTable("org_acme_local", COST_SCHEMA);
    await wh.ensureTable("org_acme_local", COST_SCHEMA);
    assert.equal(await wh.tableExists("org_acme_local", COST_SCHEMA.table), true);
    assert.equal(await wh.tableExists("org_acme_local", "missing"), false);

    const datasetInserts = s.requests.filter((r) => r.method === "POST" && r.path === "/datasets");
    assert.deepEqual(datasetInserts.map((r) => r.body), [{
      location: "EU",
      projectId: "test-project",
      datasetReference: { datasetId: "org_acme_local" },
    }]);
    const tableInserts = s.requests.filter((r) => r.method === "POST" && r.path === "/datasets/org_acme_local/tables");
    assert.equal(tableInserts.length, 1);
    const table = tableInserts[0]!.body as Json;
    assert.deepEqual(table.tableReference, {
      datasetId: "org_acme_local",
      projectId: "test-project",
      tableId: "cost_daily",
    });
    assert.deepEqual(table.schema.fields, COST_SCHEMA.fields.map(({ name, type, mode }) => ({ name, type, mode })));
    assert.deepEqual(table.timePartitioning, { type: "DAY", field: "usage_date" });
    assert.deepEqual(table.clustering, { fields: ["org_slug", "model"] });
  });
});

Deno.test("BigQuery query() sends NAMED queryParameters and keeps tenant values out of the SQL", async () => {
  await withStandIn(async (wh, s) => {
    s.setQueryHandler(() => ({
      fields: [
        { name: "n", type: "INTEGER", mode: "NULLABLE" },
        { name: "big", type: "INTEGER", mode: "NULLABLE" },
        { name: "cost", type: "NUMERIC", mode: "NULLABLE" },
        { name: "at", type: "TIMESTAMP", mode: "NULLABLE" },
        { name: "day", type: "DATE", mode: "NULLABLE" },
        { name: "ok", type: "BOOLEAN", mode: "NULLABLE" },
        { name: "labels", type: "STRING", mode: "REPEATED" },
        { name: "meta", type: "JSON", mode: "NULLABLE" },
        { name: "nothing", type: "FLOAT", mode: "NULLABLE" },
      ],
      rows: [{
        f: [
          { v: "42" },
          { v: "9007199254740993" },
          { v: "3E-9" },
          { v: "1714557600123456" },
          { v: "2024-05-01" },
          { v: "true" },
          { v: [{ v: "a" }, { v: "b" }] },
          { v: '{"k":1}' },
          { v: null },
        ],
      }],
    }));
    const tenant = "acme'; DROP TABLE organizations.org_profiles; --";
    const sql = "SELECT * FROM organizations.org_profiles WHERE org_slug = @org_slug AND created_at > @since " +
      "AND plan IN UNNEST(@plans) AND seats > @seats AND ratio < @ratio AND active = @active AND note IS @note";
    const rows = await wh.query(sql, {
      org_slug: tenant,
      since: new Date("2024-01-01T00:00:00Z"),
      plans: ["free", "pro"],
      seats: 5,
      ratio: 0.5,
      active: true,
      note: null,
      unused: "not sent",
    });
    assert.deepEqual(rows, [{
      n: 42,
      big: "9007199254740993",
      cost: "0.000000003",
      at: "2024-05-01T10:00:00.123456Z",
      day: "2024-05-01",
      ok: true,
      labels: ["a", "b"],
      meta: { k: 1 },
      nothing: null,
    }]);
    const [job] = queries(s.requests);
    assert.equal(job!.jobReference.location, "EU");
    const q = job!.configuration.query;
    assert.equal(q.query, sql);
    assert.ok(!q.query.includes("acme"));
    assert.equal(q.useLegacySql, false);
    assert.equal(q.parameterMode, "NAMED");
    assert.deepEqual(q.queryParameters, [
      { name: "org_slug", parameterType: { type: "STRING" }, parameterValue: { value: tenant } },
      { name: "since", parameterType: { type: "TIMESTAMP" }, parameterValue: { value: "2024-01-01T00:00:00.000Z" } },
      {
        name: "plans",
        parameterType: { type: "ARRAY", arrayType: { type: "STRING" } },
        parameterValue: { arrayValues: [{ value: "free" }, { value: "pro" }] },
      },
      { name: "seats", parameterType: { type: "INT64" }, parameterValue: { value: "5" } },
      { name: "ratio", parameterType: { type: "FLOAT64" }, parameterValue: { value: "0.5" } },
      { name: "active", parameterType: { type: "BOOL" }, parameterValue: { value: "true" } },
      { name: "note", parameterType: { type: "STRING" }, parameterValue: { value: null } },
    ]);
    await assert.rejects(wh.query("SELECT @a AS a", {}), /Query parameter "@a" is used in the SQL but not given/);
    assert.equal(queries(s.requests).length, 1);
  });
});

Deno.test("BigQuery execute() returns numDmlAffectedRows", async () => {
  await withStandIn(async (wh, s) => {
    s.setQueryHandler(() => ({ numDmlAffectedRows: 3 }));
    assert.equal(await wh.execute("DELETE FROM acme.t WHERE org_slug = @o", { o: "acme" }), 3);
  });
});

Deno.test("BigQuery insertRows() sends one NDJSON load job with WRITE_APPEND", async () => {
  await withStandIn(async (wh, s) => {
    await wh.ensureDataset("acme");
    await wh.ensureTable("acme", COST_SCHEMA);
    const n = await wh.insertRows("acme", COST_SCHEMA, [
      {
        usage_date: "2024-05-01",
        org_slug: "acme",
        input_tokens: 7,
        cost: 0.1,
        ingested_at: new Date(0),
        meta: { a: 1 },
      },
      { usage_date: "2024-05-02", org_slug: "acme", labels: ["x"], billed: false, input_tokens: 2n ** 60n },
    ]);
    assert.equal(n, 2);
    const uploads = s.requests.filter((r) => r.upload);
    assert.equal(uploads.length, 1);
    assert.equal(uploads[0]!.query.uploadType, "multipart");
    assert.deepEqual((uploads[0]!.body as Json).configuration.load, {
      destinationTable: { projectId: "test-project", datasetId: "acme", tableId: "cost_daily" },
      sourceFormat: "NEWLINE_DELIMITED_JSON",
      writeDisposition: "WRITE_APPEND",
      createDisposition: "CREATE_NEVER",
    });
    assert.deepEqual(uploads[0]!.data!.trim().split("\n").map((l) => JSON.parse(l)), [
      {
        usage_date: "2024-05-01",
        org_slug: "acme",
        input_tokens: 7,
        cost: "0.100000000",
        ingested_at: "1970-01-01T00:00:00.000Z",
        labels: [],
        meta: { a: 1 },
      },
      { usage_date: "2024-05-02", org_slug: "acme", labels: ["x"], billed: false, input_tokens: "1152921504606846976" },
    ]);
  });
});

Deno.test("BigQuery replacePartitions() truncates each day's partition and clears empty days", async () => {
  await withStandIn(async (wh, s) => {
    await wh.ensureDataset("acme");
    await wh.ensureTable("acme", COST_SCHEMA);
    const rows = [
      { usage_date: "2024-06-01", org_slug: "acme", cost: "1" },
      { usage_date: "2024-06-02", org_slug: "acme", cost: "2" },
      { usage_date: "2024-06-02", org_slug: "acme", cost: "3" },
    ];
    for (let round = 0; round < 2; round++) {
      const before = s.requests.length;
      assert.equal(await wh.replacePartitions("acme", COST_SCHEMA, { from: "2024-06-01", to: "2024-06-03" }, rows), 3);
      const sent = s.requests.slice(before);
      const uploads = sent.filter((r) => r.upload).map((r) => r.body as Json);
      assert.deepEqual(
        uploads.map((b) => [b.configuration.load.destinationTable.tableId, b.configuration.load.writeDisposition])
          .sort(),
        [["cost_daily$20240601", "WRITE_TRUNCATE"], ["cost_daily$20240602", "WRITE_TRUNCATE"]],
      );
      const day2 = sent.find((r) => (r.body as Json)?.configuration?.load?.destinationTable?.tableId.endsWith("02"));
      assert.equal(day2!.data!.trim().split("\n").length, 2);
      const deletes = queries(sent);
      assert.equal(deletes.length, 1);
      assert.equal(
        deletes[0]!.configuration.query.query,
        "DELETE FROM `acme.cost_daily` WHERE `usage_date` IN UNNEST(@days)",
      );
      assert.deepEqual(deletes[0]!.configuration.query.queryParameters, [{
        name: "days",
        parameterType: { type: "ARRAY", arrayType: { type: "DATE" } },
        parameterValue: { arrayValues: [{ value: "2024-06-03" }] },
      }]);
    }
  });
});

Deno.test("BigQuery replacePartitions() uses $YYYYMM on MONTH tables and checks rows before sending", async () => {
  await withStandIn(async (wh, s) => {
    const monthly: TableSchema = {
      table: "subscriptions_monthly",
      description: "monthly",
      fields: [{ name: "month_start", type: "DATE", mode: "REQUIRED" }, {
        name: "plan",
        type: "STRING",
        mode: "NULLABLE",
      }],
      partitioning: { field: "month_start", type: "MONTH" },
    };
    await wh.ensureDataset("acme");
    await wh.ensureTable("acme", monthly);
    const before = s.requests.length;
    await assert.rejects(
      wh.replacePartitions("acme", monthly, { from: "2024-06-01", to: "2024-06-30" }, [{ month_start: "2024-07-01" }]),
      /outside 2024-06-01\.\.2024-06-30/,
    );
    await assert.rejects(
      wh.replacePartitions("acme", monthly, { from: "2024-06-01", to: "2024-06-15" }, []),
      /whole months/,
    );
    await assert.rejects(
      wh.insertRows("acme", monthly, [{ month_start: "2024-06-01", extra: 1 }]),
      /unknown column "extra"/,
    );
    assert.equal(s.requests.length, before);
    await wh.replacePartitions("acme", monthly, { from: "2024-06-01", to: "2024-07-31" }, [
      { month_start: "2024-06-01", plan: "pro" },
      { month_start: "2024-07-01", plan: "free" },
    ]);
    const tableIds = s.requests.slice(before).filter((r) => r.upload).map((r) =>
      (r.body as Json).configuration.load.destinationTable.tableId
    );
    assert.deepEqual(tableIds.sort(), ["subscriptions_monthly$202406", "subscriptions_monthly$202407"]);
  });
});

Deno.test("BigQuery replacePartitions() of a stream stages its rows, replaces the range in one transaction", async () => {
  await withStandIn(async (wh, s) => {
    await wh.ensureDataset("acme");
    await wh.ensureTable("acme", COST_SCHEMA);
    const range = { from: "2024-06-01", to: "2024-06-03" };
    await wh.insertRows("acme", COST_SCHEMA, [{ usage_date: "2024-06-03", org_slug: "acme", cost: "9" }]);
    const rows = [
      { usage_date: "2024-06-02", org_slug: "acme", cost: "2" },
      { usage_date: "2024-06-01", org_slug: "acme", cost: "1" },
      { usage_date: "2024-06-02", org_slug: "acme", cost: "3" },
    ];
    async function* pages(fail: boolean) {
      yield rows.slice(0, 1);
      await new Promise((r) => setTimeout(r, 0));
      yield rows.slice(1);
      if (fail) throw new Error("page 3 failed");
    }
    const before = s.requests.length;
    await assert.rejects(wh.replacePartitions("acme", COST_SCHEMA, range, pages(true)), /page 3 failed/);
    assert.equal(s.requests.length, before, "a stream that fails inside its first chunk sends nothing");

    assert.equal(await wh.replacePartitions("acme", COST_SCHEMA, range, pages(false)), 3);
    const sent = s.requests.slice(before);
    const loads = sent.filter((r) => r.upload).map((r) => ({
      table: (r.body as Json).configuration.load.destinationTable.tableId as string,
      disposition: (r.body as Json).configuration.load.writeDisposition,
      rows: r.data!.trim().split("\n").map((l) => JSON.parse(l).cost),
    }));
    assert.equal(loads.length, 1, "one load job for a stream within one chunk");
    assert.match(loads[0]!.table, /^cost_daily__stage_[0-9a-f]{32}$/);
    assert.equal(loads[0]!.disposition, "WRITE_APPEND");
    assert.deepEqual(loads[0]!.rows, ["2.000000000", "1.000000000", "3.000000000"]);
    const stage = loads[0]!.table;
    assert.ok(
      sent.some((r) => r.method === "DELETE" && r.path === `/datasets/acme/tables/${stage}`),
      "the staging table is dropped",
    );
    assert.equal(await wh.tableExists("acme", stage), false);
    const stored = await wh.query<{ usage_date: string; cost: string }>(
      "SELECT usage_date, cost FROM acme.cost_daily ORDER BY usage_date, cost",
    );
    assert.deepEqual(stored.map((r) => [r.usage_date, r.cost]), [
      ["2024-06-01", "1.000000000"],
      ["2024-06-02", "2.000000000"],
      ["2024-06-02", "3.000000000"],
    ], "the range is replaced: 06-03 had no rows in the stream and is cleared");
  });
});

Deno.test("BigQuery streamed replaces load chunk by chunk, and a failure part-way keeps every old day", async () => {
  const s = startBigQueryStandIn();
  const wh = new BigQueryWarehouse({
    projectId: "test-project",
    location: "EU",
    apiEndpoint: s.url,
    authClient: { getRequestHeaders: () => Promise.resolve(new Headers({ authorization: `Bearer ${TOKEN}` })) },
    streamChunkBytes: 1_000,
  });
  try {
    await wh.ensureDataset("acme");
    await wh.ensureTable("acme", COST_SCHEMA);
    const range = { from: "2024-06-01", to: "2024-06-02" };
    const old = [{ usage_date: "2024-06-01", org_slug: "old", cost: "7" }];
    await wh.insertRows("acme", COST_SCHEMA, old);
    const batch = (i: number) =>
      Array.from({ length: 10 }, (_, k) => ({
        usage_date: k % 2 ? "2024-06-01" : "2024-06-02",
        org_slug: `o${i}_${k}`,
        cost: `${i}.${k}`,
      }));
    const pages = async function* (n: number, failAt?: number) {
      for (let i = 0; i < n; i++) {
        if (i === failAt) throw new Error(`page ${i} failed`);
        yield batch(i);
      }
    };
    const uploads = () => s.requests.filter((r) => r.upload);
    const oneBatch = JSON.stringify(batch(0)).length; // the NDJSON of a batch is about as long
    const before = uploads().length;
    await assert.rejects(wh.replacePartitions("acme", COST_SCHEMA, range, pages(30, 25)), /page 25 failed/);
    const failed = uploads().slice(before);
    assert.ok(failed.length >= 5, `chunks were loaded before the failure (${failed.length})`);
    const rowsNow = await wh.query<{ org_slug: string }>("SELECT org_slug FROM acme.cost_daily");
    assert.deepEqual(rowsNow.map((r) => r.org_slug), ["old"], "nothing of the failed stream reached the table");
    const stage = (failed[0]!.body as Json).configuration.load.destinationTable.tableId as string;
    assert.equal(await wh.tableExists("acme", stage), false, "the failed stream's staging table is dropped too");

    const start = uploads().length;
    assert.equal(await wh.replacePartitions("acme", COST_SCHEMA, range, pages(30)), 300);
    const chunks = uploads().slice(start);
    assert.ok(chunks.length >= 10, `300 rows in chunks of about 1,000 bytes: ${chunks.length} load jobs`);
    for (const c of chunks) {
      assert.ok(c.data!.length <= 1_000 + oneBatch * 1.5, `a chunk holds at most its limit and one batch`);
    }
    const [n] = await wh.query<{ n: number; old: number }>(
      "SELECT COUNT(*) AS n, SUM(CASE WHEN org_slug = 'old' THEN 1 ELSE 0 END) AS old FROM acme.cost_daily",
    );
    assert.equal(Number(n!.n), 300);
    assert.equal(Number(n!.old), 0, "the old day was replaced");
  } finally {
    await wh.close();
    await s.close();
  }
});

Deno.test("BigQuery errors become clear messages without credentials, and bad identifiers send nothing", async () => {
  await withStandIn(async (wh, s) => {
    s.setQueryHandler(() => ({ error: "Syntax error: Unexpected keyword FROM at [1:8]" }));
    const err = await wh.query("SELECT FROM x.y").catch((e) => e as Error);
    assert.ok(err instanceof Error);
    assert.match(err.message, /^BigQuery query failed: Syntax error: Unexpected keyword FROM at \[1:8\] \(HTTP 400\)$/);
    assert.equal(err.cause, undefined);
    assert.ok(!JSON.stringify(err).includes(TOKEN) && !String(err.stack).includes(TOKEN));

    const load = await wh.insertRows("missing_ds", COST_SCHEMA, [{ usage_date: "2024-01-01", org_slug: "a" }])
      .catch((e) => e as Error);
    assert.match(String(load), /Cannot load rows into "missing_ds\.cost_daily": .*Not found/);

    const before = s.requests.length;
    await assert.rejects(wh.ensureDataset("Acme-Prod"), /Invalid dataset name/);
    await assert.rejects(wh.ensureTable("acme", { ...COST_SCHEMA, table: "t`; DROP" }), /Invalid table name/);
    await assert.rejects(wh.query("SELECT 1", { "bad-name": 1 }), /Invalid query parameter name/);
    assert.equal(s.requests.length, before);

    await wh.dropDataset("never_created");
    const drop = s.requests.at(-1)!;
    assert.equal(drop.method, "DELETE");
    assert.equal(drop.path, "/datasets/never_created");
    assert.equal(drop.query.deleteContents, "true");
  });
});

Deno.test("BigQuery stand-in: overlapping UPDATEs outside transactions fail with BigQuery's serialize error once re-runs run out", async () => {
  await withStandIn(async (wh) => {
    await wh.ensureDataset("acme");
    await wh.ensureTable("acme", COST_SCHEMA);
    await wh.insertRows("acme", COST_SCHEMA, [{ usage_date: "2024-05-01", org_slug: "acme", model: "m", cost: "1" }]);
    const update = (c: string) =>
      wh.execute("UPDATE acme.cost_daily SET cost = CAST(@c AS NUMERIC(38, 9)) WHERE TRUE", { c });
    const outcomes = await Promise.allSettled([update("2"), update("3")]);
    const lost = outcomes.filter((o) => o.status === "rejected") as PromiseRejectedResult[];
    assert.equal(lost.length, 1, JSON.stringify(outcomes));
    const reason = lost[0]!.reason;
    assert.ok(reason instanceof AppError && reason.code === "WRITE_CONFLICT", String(reason));
    assert.match(
      String(reason.cause),
      /Could not serialize access to table test-project:acme\.cost_daily due to concurrent update \(HTTP 400\)/,
    );
    // INSERTs never conflict.
    const inserts = await Promise.all(
      [1, 2].map((i) =>
        wh.execute("INSERT INTO acme.cost_daily (usage_date, org_slug) VALUES (CAST(@d AS DATE), @o)", {
          d: "2024-05-02",
          o: `o${i}`,
        })
      ),
    );
    assert.deepEqual(inserts, [1, 1]);
  }, { dmlRunMillis: 40, dmlRetries: 0 });
});

Deno.test("BigQuery stand-in: an UPDATE outside a transaction waits for the transaction that mutates its table", async () => {
  await withStandIn(async (wh) => {
    await wh.ensureDataset("acme");
    await wh.ensureTable("acme", COST_SCHEMA);
    await wh.insertRows("acme", COST_SCHEMA, [{ usage_date: "2024-05-01", org_slug: "acme", model: "m", cost: "1" }]);
    const order: string[] = [];
    let plain: Promise<number> | undefined;
    await wh.transaction(async (tx) => {
      await tx.execute("UPDATE acme.cost_daily SET cost = cost + 1 WHERE TRUE");
      plain = wh.execute("UPDATE acme.cost_daily SET cost = cost * 10 WHERE TRUE").then((n) => {
        order.push("plain");
        return n;
      });
      await new Promise((r) => setTimeout(r, 100));
      order.push("commit");
    });
    assert.equal(await plain, 1);
    assert.deepEqual(order, ["commit", "plain"]);
    const [row] = await wh.query<{ cost: string }>("SELECT cost FROM acme.cost_daily");
    assert.equal(row!.cost, "20.000000000", "the queued UPDATE ran on the committed row");
  });
});

Deno.test("BigQuery transaction() is one session: BEGIN creates it, every statement and COMMIT carry its id", async () => {
  await withStandIn(async (wh, s) => {
    await wh.ensureDataset("acme");
    await wh.ensureTable("acme", COST_SCHEMA);
    const before = s.requests.length;
    await wh.transaction(async (tx) => {
      await tx.insertRows("acme", COST_SCHEMA, [{
        usage_date: "2024-05-01",
        org_slug: "acme",
        input_tokens: 2n ** 60n,
      }]);
      await tx.query("SELECT COUNT(*) AS n FROM acme.cost_daily");
    });
    const sent = queries(s.requests.slice(before)).map((b) => b.configuration.query);
    assert.equal(sent[0].query, "BEGIN TRANSACTION");
    assert.equal(sent[0].createSession, true);
    assert.equal(sent.at(-1).query, "COMMIT TRANSACTION");
    const ids = new Set(sent.slice(1).map((q) => q.connectionProperties?.[0]?.value));
    assert.equal(ids.size, 1);
    assert.match([...ids][0], /^session_/);
    assert.ok(s.requests.slice(before).every((r) => !r.upload), "no load job inside a transaction");
    const insert = sent.find((q) => q.query.startsWith("INSERT"));
    assert.ok(insert.queryParameters.some((p: Json) =>
      p.parameterType.type === "INT64" &&
      p.parameterValue.value === "1152921504606846976"
    ));
    const [n] = await wh.query<{ n: number }>("SELECT COUNT(*) AS n FROM acme.cost_daily");
    assert.equal(n!.n, 1);
  });
});
