/**
 * The behaviour every Warehouse adapter must show. Each adapter's test file
 * calls {@link warehouseContract} with a factory for a fresh warehouse.
 */
import assert from "node:assert/strict";
import type { TableSchema } from "../../src/schema/table_schema.ts";
import { AppError } from "../../src/errors/mod.ts";
import { WRITE_CONFLICT_MESSAGE } from "../../src/warehouse/errors.ts";
import { qualified, type Row, type Warehouse } from "../../src/warehouse/warehouse.ts";
import { schemaUpgradeContract } from "./contract_upgrade.ts";

/** A partitioned cost table using every column type. */
export const COST_SCHEMA: TableSchema = {
  table: "cost_daily",
  description: "Contract test cost table",
  fields: [
    { name: "usage_date", type: "DATE", mode: "REQUIRED" },
    { name: "org_slug", type: "STRING", mode: "REQUIRED" },
    { name: "model", type: "STRING", mode: "NULLABLE" },
    { name: "input_tokens", type: "INT64", mode: "NULLABLE" },
    { name: "cost", type: "NUMERIC", mode: "NULLABLE" },
    { name: "ratio", type: "FLOAT64", mode: "NULLABLE" },
    { name: "billed", type: "BOOLEAN", mode: "NULLABLE" },
    { name: "ingested_at", type: "TIMESTAMP", mode: "NULLABLE" },
    { name: "labels", type: "STRING", mode: "REPEATED" },
    { name: "meta", type: "JSON", mode: "NULLABLE" },
  ],
  partitioning: { field: "usage_date", type: "DAY" },
  clustering: ["org_slug", "model"],
  primary_key: ["usage_date", "org_slug", "model"],
};

/** Batches as a row stream, one batch per turn of the event loop (as pages would arrive). */
async function* stream(batches: Row[][]): AsyncGenerator<Row[]> {
  for (const batch of batches) {
    await new Promise((r) => setTimeout(r, 0));
    yield batch;
  }
}

function row(day: string, model: string, cost: string | number, extra: Partial<Row> = {}): Row {
  return { usage_date: day, org_slug: "acme", model, input_tokens: 10, cost, ...extra };
}

/** Runs the shared contract as steps of `t`; `makeWarehouse` returns a ready warehouse. */
export async function warehouseContract(
  t: Deno.TestContext,
  makeWarehouse: () => Promise<Warehouse>,
): Promise<void> {
  const wh = await makeWarehouse();
  const ds = `contract_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const table = qualified(ds, COST_SCHEMA.table);
  const count = async (where = "TRUE", params = {}) =>
    (await wh.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`, params))[0]!.n;

  try {
    await t.step("ping() answers", async () => {
      await wh.ping();
    });

    await t.step("ensureDataset() creates once and is idempotent", async () => {
      assert.equal(await wh.datasetExists(ds), false);
      await wh.ensureDataset(ds);
      await wh.ensureDataset(ds);
      assert.equal(await wh.datasetExists(ds), true);
    });

    await t.step("ensureTable() creates once and is idempotent", async () => {
      assert.equal(await wh.tableExists(ds, COST_SCHEMA.table), false);
      await wh.ensureTable(ds, COST_SCHEMA);
      await wh.ensureTable(ds, COST_SCHEMA);
      assert.equal(await wh.tableExists(ds, COST_SCHEMA.table), true);
    });

    await t.step("insertRows() writes typed values that query() reads back with params", async () => {
      const n = await wh.insertRows(ds, COST_SCHEMA, [
        row("2024-05-01", "gpt-4o", "1.5", {
          ratio: 0.25,
          billed: true,
          ingested_at: "2024-05-02T03:04:05.123Z",
          labels: ["a", "b"],
          meta: { source: "api", pages: 2 },
        }),
        { ...row("2024-05-01", "gpt-4o-mini", "2"), org_slug: "other", ingested_at: new Date("2024-05-02T00:00:00Z") },
      ]);
      assert.equal(n, 2);
      const rows = await wh.query(
        `SELECT usage_date, org_slug, model, input_tokens, cost, ratio, billed, ingested_at, labels, meta
         FROM ${table} WHERE org_slug = @org_slug AND usage_date = CAST(@day AS DATE)`,
        { org_slug: "acme", day: "2024-05-01" },
      );
      assert.deepEqual(rows, [{
        usage_date: "2024-05-01",
        org_slug: "acme",
        model: "gpt-4o",
        input_tokens: 10,
        cost: "1.500000000",
        ratio: 0.25,
        billed: true,
        ingested_at: "2024-05-02T03:04:05.123Z",
        labels: ["a", "b"],
        meta: { source: "api", pages: 2 },
      }]);
      assert.equal(await count("ingested_at < @t", { t: new Date("2024-05-02T01:00:00Z") }), 1);
      assert.equal(await count("model IN (SELECT * FROM UNNEST(@models))", { models: ["gpt-4o", "nope"] }), 1);
    });

    await t.step("parameter values with quotes and SQL are data, never code", async () => {
      const evil = `x' OR '1'='1'; DROP TABLE ${table}; -- @org_slug "q" \\`;
      assert.equal(await count("org_slug = @v", { v: evil }), 0);
      await wh.insertRows(ds, COST_SCHEMA, [{ ...row("2024-05-01", evil, "0"), org_slug: "evil" }]);
      const got = await wh.query<{ model: string }>(`SELECT model FROM ${table} WHERE org_slug = @v`, { v: "evil" });
      assert.deepEqual(got, [{ model: evil }]);
      assert.equal(await wh.tableExists(ds, COST_SCHEMA.table), true);
      await assert.rejects(wh.query(`SELECT 1 AS x FROM ${table} WHERE org_slug = @missing`, {}), /missing/);
    });

    await t.step("execute() runs DML with params and returns affected rows", async () => {
      const changed = await wh.execute(`DELETE FROM ${table} WHERE org_slug = @org`, { org: "evil" });
      assert.equal(changed, 1);
      assert.equal(await count("org_slug = @org", { org: "evil" }), 0);
    });

    await t.step("invalid identifiers and rows are refused, naming table and column", async () => {
      assert.throws(() => qualified("Bad-Name", "t"), /Invalid dataset name/);
      assert.throws(() => qualified("ok", "t; DROP TABLE x"), /Invalid table name/);
      await assert.rejects(wh.ensureDataset('x"; DROP SCHEMA main; --'), /Invalid dataset name/);
      await assert.rejects(wh.ensureTable(ds, { ...COST_SCHEMA, table: "Bad Table" }), /Invalid table name/);
      await assert.rejects(wh.tableExists(ds, "a.b"), /Invalid table name/);
      await assert.rejects(
        wh.insertRows(ds, COST_SCHEMA, [{ ...row("2024-05-01", "m", "1"), nope: 1 }]),
        new RegExp(`"${ds}\\.cost_daily".*unknown column "nope"`),
      );
      await assert.rejects(
        wh.insertRows(ds, COST_SCHEMA, [{ usage_date: "2024-05-01", model: "m" }]),
        /cost_daily.*column "org_slug" is REQUIRED/,
      );
      await assert.rejects(
        wh.insertRows(ds, COST_SCHEMA, [row("2024-05-01", "m", "abc")]),
        /column "cost" expects NUMERIC/,
      );
      await assert.rejects(
        wh.insertRows(ds, COST_SCHEMA, [row("2024-05-01", "m", "1", { input_tokens: 1.5 })]),
        /column "input_tokens" expects INT64/,
      );
      await assert.rejects(
        wh.insertRows(ds, COST_SCHEMA, [row("2024-02-30", "m", "1")]),
        /column "usage_date" expects DATE/,
      );
      assert.equal(await count("model = @m", { m: "m" }), 0);
    });

    await t.step("replacePartitions() replaces only the given days and never duplicates", async () => {
      await wh.execute(`DELETE FROM ${table} WHERE usage_date >= CAST(@d AS DATE)`, { d: "2000-01-01" });
      await wh.insertRows(ds, COST_SCHEMA, [
        row("2024-06-01", "a", "1"),
        row("2024-06-02", "a", "2"),
        row("2024-06-02", "b", "2"),
        row("2024-06-03", "a", "3"),
      ]);
      const fresh = [row("2024-06-02", "c", "20"), row("2024-06-02", "d", "21"), row("2024-06-02", "e", "22")];
      for (let i = 0; i < 2; i++) {
        assert.equal(await wh.replacePartitions(ds, COST_SCHEMA, { from: "2024-06-02", to: "2024-06-02" }, fresh), 3);
      }
      const rows = await wh.query<{ usage_date: string; model: string; cost: string }>(
        `SELECT usage_date, model, cost FROM ${table} ORDER BY usage_date, model`,
      );
      assert.deepEqual(rows.map((r) => `${r.usage_date} ${r.model} ${r.cost}`), [
        "2024-06-01 a 1.000000000",
        "2024-06-02 c 20.000000000",
        "2024-06-02 d 21.000000000",
        "2024-06-02 e 22.000000000",
        "2024-06-03 a 3.000000000",
      ]);
      assert.equal(await wh.replacePartitions(ds, COST_SCHEMA, { from: "2024-06-03", to: "2024-06-03" }, []), 0);
      assert.equal(await count("usage_date = CAST(@d AS DATE)", { d: "2024-06-03" }), 0);
      assert.equal(await count(), 4);
    });

    await t.step("replacePartitions() refuses rows outside the range and writes nothing", async () => {
      await assert.rejects(
        wh.replacePartitions(ds, COST_SCHEMA, { from: "2024-06-01", to: "2024-06-01" }, [
          row("2024-06-01", "x", "9"),
          row("2024-06-02", "y", "9"),
        ]),
        /row 1 has usage_date 2024-06-02 outside 2024-06-01\.\.2024-06-01/,
      );
      await assert.rejects(
        wh.replacePartitions(ds, COST_SCHEMA, { from: "2024-06-05", to: "2024-06-01" }, []),
        /from <= to/,
      );
      assert.equal(await count(), 4);
    });

    await t.step("replacePartitions() that fails part-way keeps the old rows", async () => {
      const before = await wh.query(`SELECT usage_date, model, cost FROM ${table} ORDER BY usage_date, model`);
      await assert.rejects(
        wh.replacePartitions(ds, COST_SCHEMA, { from: "2024-06-01", to: "2024-06-02" }, [
          row("2024-06-01", "good", "1"),
          row("2024-06-02", "good", "2"),
          row("2024-06-02", "bad", "not a number"),
        ]),
        /row 2 column "cost" expects NUMERIC/,
      );
      assert.deepEqual(
        await wh.query(`SELECT usage_date, model, cost FROM ${table} ORDER BY usage_date, model`),
        before,
      );
    });

    await t.step("replacePartitions() of a row stream writes every batch, replacing only the range", async () => {
      const before = await wh.query<{ usage_date: string; model: string }>(
        `SELECT usage_date, model FROM ${table} WHERE usage_date <> CAST(@d AS DATE) ORDER BY usage_date, model`,
        { d: "2024-06-02" },
      );
      const batches = [[row("2024-06-02", "s1", "1")], [], [
        row("2024-06-02", "s2", "2"),
        row("2024-06-02", "s3", "3"),
      ]];
      const written = await wh.replacePartitions(
        ds,
        COST_SCHEMA,
        { from: "2024-06-02", to: "2024-06-02" },
        stream(batches),
      );
      assert.equal(written, 3);
      const day = await wh.query<{ model: string }>(
        `SELECT model FROM ${table} WHERE usage_date = CAST(@d AS DATE) ORDER BY model`,
        { d: "2024-06-02" },
      );
      assert.deepEqual(day.map((r) => r.model), ["s1", "s2", "s3"]);
      assert.deepEqual(
        await wh.query(
          `SELECT usage_date, model FROM ${table} WHERE usage_date <> CAST(@d AS DATE) ORDER BY usage_date, model`,
          { d: "2024-06-02" },
        ),
        before,
      );
    });

    await t.step(
      "replacePartitions() of a stream that throws or holds a bad row part-way keeps the old rows",
      async () => {
        const snapshot = () => wh.query(`SELECT usage_date, model, cost FROM ${table} ORDER BY usage_date, model`);
        const before = await snapshot();
        const range = { from: "2024-06-01", to: "2024-06-02" };
        const boom = new Error("provider went away on page 3");
        async function* failing() {
          yield [row("2024-06-01", "p1", "1")];
          yield [row("2024-06-02", "p2", "2")];
          throw boom;
        }
        await assert.rejects(wh.replacePartitions(ds, COST_SCHEMA, range, failing()), (e) => e === boom);
        assert.deepEqual(await snapshot(), before, "the producer's failure rolls everything back");
        const bad = stream([[row("2024-06-01", "ok", "1"), row("2024-06-01", "ok2", "1")], [
          row("2024-06-02", "bad", "x"),
        ]]);
        await assert.rejects(
          wh.replacePartitions(ds, COST_SCHEMA, range, bad),
          /row 2 column "cost" expects NUMERIC/,
          "rows are numbered across batches",
        );
        const outside = stream([[row("2024-06-01", "ok", "1")], [row("2024-06-09", "late", "1")]]);
        await assert.rejects(wh.replacePartitions(ds, COST_SCHEMA, range, outside), /row 1 has usage_date 2024-06-09/);
        assert.deepEqual(await snapshot(), before);
      },
    );

    await t.step("NUMERIC keeps 9 decimals exactly, and sums in SQL", async () => {
      const day = "2024-07-01";
      await wh.replacePartitions(ds, COST_SCHEMA, { from: day, to: day }, [
        row(day, "tiny", "0.000000001"),
        row(day, "tiny", "0.000000001"),
        row(day, "tiny", 1e-9),
        row(day, "huge", "12345678901234567890.123456789"),
        row(day, "neg", "-0.1"),
      ]);
      const sums = await wh.query<{ model: string; total: string }>(
        `SELECT model, SUM(cost) AS total FROM ${table} WHERE usage_date = CAST(@d AS DATE) GROUP BY model ORDER BY model`,
        { d: day },
      );
      assert.deepEqual(sums, [
        { model: "huge", total: "12345678901234567890.123456789" },
        { model: "neg", total: "-0.100000000" },
        { model: "tiny", total: "0.000000003" },
      ]);
      const [mult] = await wh.query<{ v: string }>(
        `SELECT SUM(cost) * 1000000000 AS v FROM ${table} WHERE model = @m`,
        { m: "tiny" },
      );
      assert.match(mult!.v, /^3(\.0+)?$/);
    });

    await t.step("transaction() commits what its callback wrote", async () => {
      const day = "2024-08-01";
      const result = await wh.transaction(async (tx) => {
        await tx.insertRows(ds, COST_SCHEMA, [row(day, "tx", "1")]);
        await tx.execute(`UPDATE ${table} SET cost = CAST(@c AS NUMERIC(38, 9)) WHERE model = @m`, {
          c: "2.5",
          m: "tx",
        });
        return (await tx.query<{ cost: string }>(`SELECT cost FROM ${table} WHERE model = @m`, { m: "tx" }))[0]!.cost;
      });
      assert.equal(result, "2.500000000");
      assert.equal(await count("model = @m", { m: "tx" }), 1);
    });

    await t.step("transaction() that throws midway leaves nothing of what it wrote", async () => {
      const before = await wh.query(`SELECT model, cost FROM ${table} ORDER BY model, cost`);
      const boom = new Error("callback failed after two writes");
      await assert.rejects(
        wh.transaction(async (tx) => {
          await tx.insertRows(ds, COST_SCHEMA, [row("2024-08-02", "half", "1"), row("2024-08-02", "half", "2")]);
          await tx.execute(`UPDATE ${table} SET cost = CAST(@c AS NUMERIC(38, 9)) WHERE model = @m`, {
            c: "9",
            m: "tx",
          });
          assert.equal(
            await tx.query(`SELECT model FROM ${table} WHERE model = @m`, { m: "half" }).then((r) => r.length),
            2,
          );
          throw boom;
        }),
        (e) => e === boom,
      );
      assert.deepEqual(await wh.query(`SELECT model, cost FROM ${table} ORDER BY model, cost`), before);
    });

    await t.step(
      "two concurrent transactions updating one row: one commits, the loser's error is an AppError WRITE_CONFLICT",
      async () => {
        let arrived = 0;
        let release!: () => void;
        const bothTried = new Promise<void>((r) => (release = r));
        const arrive = () => ++arrived === 2 && release();
        const attempt = (name: string, cost: string) =>
          wh.transaction(async (tx) => {
            try {
              await tx.execute(`UPDATE ${table} SET cost = CAST(@c AS NUMERIC(38, 9)) WHERE model = @m`, {
                c: cost,
                m: "tx",
              });
            } finally {
              arrive();
            }
            await bothTried;
            await tx.insertRows(ds, COST_SCHEMA, [row("2024-08-03", name, cost)]);
            return name;
          });
        const outcomes = await Promise.allSettled([attempt("first", "10"), attempt("second", "20")]);
        const won = outcomes.filter((o) => o.status === "fulfilled") as PromiseFulfilledResult<string>[];
        const lost = outcomes.filter((o) => o.status === "rejected") as PromiseRejectedResult[];
        assert.equal(won.length, 1, "exactly one transaction commits");
        assert.equal(lost.length, 1);
        const reason = lost[0]!.reason;
        assert.ok(reason instanceof AppError, `an AppError, got: ${reason}`);
        assert.equal(reason.code, "WRITE_CONFLICT", `a write conflict, got: ${reason}`);
        assert.equal(reason.message, WRITE_CONFLICT_MESSAGE);
        assert.equal(reason.retryAfterS, 1);
        assert.ok(reason.cause instanceof Error, "the engine's error is kept as the cause");
        const winner = won[0]!.value;
        const [tx] = await wh.query<{ cost: string }>(`SELECT cost FROM ${table} WHERE model = @m`, { m: "tx" });
        assert.equal(tx!.cost, winner === "first" ? "10.000000000" : "20.000000000");
        const markers = await wh.query<{ model: string }>(
          `SELECT model FROM ${table} WHERE usage_date = CAST(@d AS DATE)`,
          { d: "2024-08-03" },
        );
        assert.deepEqual(markers.map((m) => m.model), [winner], "nothing of the losing transaction is visible");
      },
    );

    await schemaUpgradeContract(t, wh, ds);

    await t.step("queryPages() yields a result in pages of the size asked, converted as query() does", async () => {
      const many = Array.from({ length: 25 }, (_, i) => ({ ...row("2024-07-01", `m${i}`, i / 4), org_slug: "paged" }));
      await wh.insertRows(ds, COST_SCHEMA, many.map((r, i) => ({ ...r, input_tokens: i })));
      const pages: Row[][] = [];
      const sql = `SELECT input_tokens, cost, usage_date FROM ${table} WHERE org_slug = @org ORDER BY input_tokens`;
      for await (const page of wh.queryPages(sql, { org: "paged" }, 10)) pages.push(page);
      assert.deepEqual(pages.map((p) => p.length), [10, 10, 5]);
      assert.deepEqual(pages[2]![4], { input_tokens: 24, cost: "6.000000000", usage_date: "2024-07-01" });
      assert.deepEqual(pages.flat().map((r) => r.input_tokens), Array.from({ length: 25 }, (_, i) => i));
      for await (const page of wh.queryPages(sql, { org: "paged" }, 10)) {
        assert.equal(page[0]!.cost, "0.000000000");
        break; // the rest is never read, and the warehouse keeps answering
      }
      assert.equal(await count("org_slug = @org", { org: "paged" }), 25);
      const none = [];
      for await (const page of wh.queryPages(`SELECT cost FROM ${table} WHERE org_slug = @org`, { org: "none" }, 10)) {
        none.push(page);
      }
      assert.deepEqual(none, []);
      await assert.rejects(async () => {
        for await (const _ of wh.queryPages(`SELECT nope FROM ${table}`, {}, 10)) { /* never reached */ }
      }, /nope/);
    });

    await t.step("replacePartitionsWith() replaces the range by a SELECT's rows, counted before commit", async () => {
      const SRC: TableSchema = { ...COST_SCHEMA, table: "cost_source", partitioning: undefined };
      await wh.ensureTable(ds, SRC);
      await wh.insertRows(ds, COST_SCHEMA, [
        { ...row("2024-08-01", "keep", "1"), org_slug: "load" },
        { ...row("2024-08-02", "old", "2"), org_slug: "load" },
        { ...row("2024-08-03", "old", "3"), org_slug: "load" },
      ]);
      await wh.insertRows(ds, SRC, [
        { ...row("2024-08-02", "a", "1.25"), org_slug: "load", labels: ["x"], meta: { k: 1 } },
        { ...row("2024-08-02", "a", "-0.5"), org_slug: "load" },
        { ...row("2024-08-03", null as unknown as string, "2"), org_slug: "load" },
        { ...row("2024-08-09", "late", "9"), org_slug: "other" },
      ]);
      const source = qualified(ds, SRC.table);
      const select = (org: string) => ({ sql: `SELECT * FROM ${source} WHERE org_slug = @org`, params: { org } });
      const range = { from: "2024-08-02", to: "2024-08-03" };
      const loaded = () =>
        wh.query<{ usage_date: string; model: string | null; cost: string }>(
          `SELECT usage_date, model, cost FROM ${table} WHERE org_slug = @org ORDER BY usage_date, cost`,
          { org: "load" },
        );
      const before = await loaded();
      const counts = [
        { kind: "rows" },
        { kind: "any_null", columns: ["model"] },
        { kind: "any_negative", columns: ["cost", "input_tokens"], reportBy: ["usage_date", "model"] },
        { kind: "duplicates", columns: ["usage_date", "model"] },
      ] as const;
      await assert.rejects(
        wh.replacePartitionsWith(ds, COST_SCHEMA, range, select("load"), {
          counts,
          accept: () => Promise.reject(new Error("refused by the caller")),
        }),
        /refused by the caller/,
      );
      assert.deepEqual(await loaded(), before);
      await assert.rejects(wh.replacePartitionsWith(ds, COST_SCHEMA, range, select("other")), /outside/);
      assert.deepEqual(await loaded(), before);
      let seen: number[] = [];
      let named: string[][] = [];
      const n = await wh.replacePartitionsWith(ds, COST_SCHEMA, range, select("load"), {
        counts,
        accept: (c, r) => void (seen = c, named = r),
      });
      assert.equal(n, 3);
      assert.deepEqual(seen, [3, 1, 1, 1]);
      assert.deepEqual(named, [[], [], ['"2024-08-02"/"a"'], []], "the negative row's day and model, as JSON");
      assert.deepEqual(await loaded(), [
        { usage_date: "2024-08-01", model: "keep", cost: "1.000000000" },
        { usage_date: "2024-08-02", model: "a", cost: "-0.500000000" },
        { usage_date: "2024-08-02", model: "a", cost: "1.250000000" },
        { usage_date: "2024-08-03", model: null, cost: "2.000000000" },
      ]);
      const [copied] = await wh.query(
        `SELECT labels, meta FROM ${table} WHERE org_slug = @org AND cost = CAST(1.25 AS NUMERIC(38, 9))`,
        { org: "load" },
      );
      assert.deepEqual(copied, { labels: ["x"], meta: { k: 1 } });
    });

    await t.step("dropDataset() removes the dataset and its tables, and tolerates a missing one", async () => {
      await wh.dropDataset(ds);
      assert.equal(await wh.datasetExists(ds), false);
      assert.equal(await wh.tableExists(ds, COST_SCHEMA.table), false);
      await wh.dropDataset(ds);
    });
  } finally {
    await wh.dropDataset(ds).catch(() => {});
    await wh.close();
  }
}
