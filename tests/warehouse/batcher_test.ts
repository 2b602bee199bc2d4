/** The write batcher: group commit of small writes, each settling on its own, in order, a bad write failing alone. */
import assert from "node:assert/strict";
import { openDuckDB } from "../../src/warehouse/duckdb.ts";
import { WriteBatcher } from "../../src/warehouse/batcher.ts";
import type { Warehouse } from "../../src/warehouse/warehouse.ts";
import { COST_SCHEMA } from "./contract.ts";

/** Counts the transactions a warehouse opens. */
function counting(wh: Warehouse): { wh: Warehouse; transactions: () => number } {
  let n = 0;
  const proxy = new Proxy(wh, {
    get(target, prop, receiver) {
      if (prop === "transaction") {
        return (fn: Parameters<Warehouse["transaction"]>[0]) => {
          n++;
          return target.transaction(fn);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { wh: proxy, transactions: () => n };
}

Deno.test("WriteBatcher commits 200 concurrent writes in a few transactions, each promise settling on its own", async () => {
  const base = await openDuckDB(":memory:");
  try {
    await base.ensureDataset("b");
    await base.ensureTable("b", COST_SCHEMA);
    const { wh, transactions } = counting(base);
    const batcher = new WriteBatcher(wh);
    const writes = Array.from(
      { length: 200 },
      (_, i) =>
        batcher.insert("b", COST_SCHEMA, [{
          usage_date: "2024-01-01",
          org_slug: "acme",
          model: `m${i}`,
          input_tokens: i,
        }]),
    );
    await Promise.all(writes);
    assert.ok(transactions() <= 2, `${transactions()} transactions for 200 writes`);
    const updated = await batcher.execute(
      "UPDATE b.cost_daily SET input_tokens = input_tokens + 1000 WHERE model = @m",
      {
        m: "m7",
      },
    );
    assert.equal(updated, 1);
    // A write queued the moment the previous one settled is not stranded.
    for (let i = 0; i < 20; i++) {
      await batcher.insert("b", COST_SCHEMA, [{ usage_date: "2024-01-02", org_slug: "acme", model: `seq${i}` }]);
    }
    const [n] = await base.query<{ n: number; t: number }>(
      "SELECT COUNT(*) AS n, SUM(input_tokens) AS t FROM b.cost_daily",
    );
    assert.deepEqual(n, { n: 220, t: (199 * 200) / 2 + 1000 });
  } finally {
    await base.close();
  }
});

Deno.test("WriteBatcher runs statements in the order queued, after the inserts, and a bad write fails alone", async () => {
  const wh = await openDuckDB(":memory:");
  try {
    await wh.ensureDataset("b");
    await wh.ensureTable("b", COST_SCHEMA);
    const batcher = WriteBatcher.for(wh);
    assert.equal(WriteBatcher.for(wh), batcher, "one batcher per warehouse");
    const row = (model: string) => ({ usage_date: "2024-01-01", org_slug: "acme", model, input_tokens: 1 });
    const results = await Promise.allSettled([
      batcher.insert("b", COST_SCHEMA, [row("a")]),
      batcher.execute("UPDATE b.cost_daily SET input_tokens = input_tokens * 10 WHERE model = 'a'"),
      batcher.execute("UPDATE b.cost_daily SET input_tokens = input_tokens + 5 WHERE model = 'a'"),
      batcher.insert("b", COST_SCHEMA, [{ ...row("bad"), usage_date: "not a day" }]),
      batcher.execute("UPDATE b.no_such_table SET x = 1"),
      batcher.insert("b", COST_SCHEMA, [row("c")]),
    ]);
    assert.deepEqual(results.map((r) => r.status), [
      "fulfilled",
      "fulfilled",
      "fulfilled",
      "rejected",
      "rejected",
      "fulfilled",
    ]);
    assert.match(String((results[3] as PromiseRejectedResult).reason), /row 0 column "usage_date" expects DATE/);
    const rows = await wh.query<{ model: string; input_tokens: number }>(
      "SELECT model, input_tokens FROM b.cost_daily ORDER BY model",
    );
    assert.deepEqual(rows, [{ model: "a", input_tokens: 15 }, { model: "c", input_tokens: 1 }]);
    await batcher.flushed();
  } finally {
    await wh.close();
  }
});

Deno.test("WriteBatcher merges keyed updates that set NULL and values, with each row's last write winning", async () => {
  const wh = await openDuckDB(":memory:");
  try {
    await wh.ensureDataset("b");
    await wh.ensureTable("b", COST_SCHEMA);
    const batcher = new WriteBatcher(wh);
    const base = { usage_date: "2024-01-01", org_slug: "acme", input_tokens: 1, ingested_at: "2024-01-01T00:00:00Z" };
    await batcher.insert("b", COST_SCHEMA, [{ ...base, model: "a" }, { ...base, model: "b" }, { ...base, model: "c" }]);
    const set = (model: string, input_tokens: number | null, ingested_at: string | null) =>
      batcher.update("b", COST_SCHEMA, ["model"], { model, input_tokens, ingested_at });
    const counts = await Promise.all([
      set("a", null, null),
      set("b", 7, "2024-02-01T10:00:00Z"),
      set("c", 5, null),
      set("c", null, "2024-03-01T00:00:00Z"),
    ]);
    assert.deepEqual(counts.map((n) => n > 0), [true, true, true, true]);
    const rows = await wh.query("SELECT model, input_tokens, ingested_at FROM b.cost_daily ORDER BY model");
    assert.deepEqual(rows, [
      { model: "a", input_tokens: null, ingested_at: null },
      { model: "b", input_tokens: 7, ingested_at: "2024-02-01T10:00:00.000Z" },
      { model: "c", input_tokens: null, ingested_at: "2024-03-01T00:00:00.000Z" },
    ]);
  } finally {
    await wh.close();
  }
});
