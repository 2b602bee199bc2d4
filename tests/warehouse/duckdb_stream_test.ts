/**
 * DuckDB partition replaces fed by a row stream: batches are pulled one at a time and never retained, the write
 * stays invisible (old rows only) until its last batch, the producer may use the warehouse while it streams even
 * with a one-connection pool, and a process killed mid-stream leaves the old rows.
 */
import assert from "node:assert/strict";
import { openDuckDB } from "../../src/warehouse/duckdb.ts";
import type { Row } from "../../src/warehouse/warehouse.ts";
import { COST_SCHEMA } from "./contract.ts";

const DAY = { from: "2024-03-01", to: "2024-03-01" };
const models = (rows: { model: string }[]) => rows.map((r) => r.model);

/** Fails the test instead of hanging when `p` does not settle in time (a deadlock). */
function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms (deadlock?)`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

Deno.test("a streamed replacePartitions() pulls one batch at a time and holds on to none of them", async () => {
  const wh = await openDuckDB(":memory:");
  try {
    await wh.ensureDataset("s");
    await wh.ensureTable("s", COST_SCHEMA);
    // One buffer of rows, rewritten for every batch: a writer that kept a batch, or pulled the next one before it
    // had taken in the current one, would write the last batch's rows several times over.
    const buffer: Row[] = Array.from({ length: 500 }, () => ({}));
    let pulls = 0;
    let outstanding = 0;
    let maxOutstanding = 0;
    const source: AsyncIterable<Row[]> = {
      [Symbol.asyncIterator]: () => ({
        async next() {
          outstanding++;
          maxOutstanding = Math.max(maxOutstanding, outstanding);
          await new Promise((r) => setTimeout(r, 0));
          outstanding--;
          if (pulls === 40) return { done: true, value: undefined };
          const batch = pulls++;
          buffer.forEach((r, i) => {
            for (const k of Object.keys(r)) delete r[k];
            Object.assign(r, { usage_date: "2024-03-01", org_slug: "acme", model: `b${batch}-r${i}`, input_tokens: i });
          });
          return { done: false, value: buffer };
        },
      }),
    };
    assert.equal(await wh.replacePartitions("s", COST_SCHEMA, DAY, source), 20_000);
    assert.equal(maxOutstanding, 1, "never asks for a batch before the previous one arrived");
    const [stats] = await wh.query<{ n: number; distinct_models: number }>(
      "SELECT COUNT(*) AS n, COUNT(DISTINCT model) AS distinct_models FROM s.cost_daily",
    );
    assert.deepEqual(stats, { n: 20_000, distinct_models: 20_000 });
    const sample = await wh.query<{ model: string; input_tokens: number }>(
      "SELECT model, input_tokens FROM s.cost_daily WHERE model IN ('b0-r0', 'b17-r42', 'b39-r499') ORDER BY model",
    );
    assert.deepEqual(sample, [
      { model: "b0-r0", input_tokens: 0 },
      { model: "b17-r42", input_tokens: 42 },
      { model: "b39-r499", input_tokens: 499 },
    ]);
  } finally {
    await wh.close();
  }
});

Deno.test("while a stream is written, other connections see only the old rows, and the producer may query", async () => {
  // A single pooled connection: a write that held it while waiting on its producer would deadlock here.
  const wh = await openDuckDB(":memory:", { connections: 1 });
  try {
    await wh.ensureDataset("s");
    await wh.ensureTable("s", COST_SCHEMA);
    await wh.insertRows("s", COST_SCHEMA, [
      { usage_date: "2024-03-01", org_slug: "acme", model: "old" },
      { usage_date: "2024-03-02", org_slug: "acme", model: "other day" },
    ]);
    const seen: string[][] = [];
    const producer = async function* () {
      for (let b = 0; b < 3; b++) {
        seen.push(models(await wh.query<{ model: string }>("SELECT model FROM s.cost_daily ORDER BY model")));
        yield [{ usage_date: "2024-03-01", org_slug: "acme", model: `new${b}` }];
      }
      seen.push(models(await wh.query<{ model: string }>("SELECT model FROM s.cost_daily ORDER BY model")));
    };
    assert.equal(await within(10_000, wh.replacePartitions("s", COST_SCHEMA, DAY, producer())), 3);
    assert.deepEqual(seen, Array(4).fill(["old", "other day"]), "no deleted or half-written day is ever visible");
    assert.deepEqual(
      models(await wh.query<{ model: string }>("SELECT model FROM s.cost_daily ORDER BY model")),
      ["new0", "new1", "new2", "other day"],
    );
  } finally {
    await wh.close();
  }
});

Deno.test("a stream rejected by its consumer is told to stop (its finally runs), and the pool stays usable", async () => {
  const wh = await openDuckDB(":memory:", { connections: 1 });
  try {
    await wh.ensureDataset("s");
    await wh.ensureTable("s", COST_SCHEMA);
    let stopped = false;
    let produced = 0;
    const producer = async function* () {
      try {
        for (let b = 0;; b++) {
          produced++;
          yield [{ usage_date: b < 2 ? "2024-03-01" : "not a day", org_slug: "acme" }];
        }
      } finally {
        stopped = true;
      }
    };
    await assert.rejects(wh.replacePartitions("s", COST_SCHEMA, DAY, producer()), /row 2 column "usage_date"/);
    assert.equal(stopped, true);
    assert.equal(produced, 3, "nothing is pulled after the bad batch");
    assert.deepEqual(await within(5_000, wh.query("SELECT COUNT(*) AS n FROM s.cost_daily")), [{ n: 0 }]);
  } finally {
    await wh.close();
  }
});

Deno.test("a process killed in the middle of a streamed replace leaves the old rows of the day", async () => {
  const dir = await Deno.makeTempDir({ prefix: "duckdb_stream_kill_" });
  const path = `${dir}/warehouse.duckdb`;
  try {
    const before = await openDuckDB(path);
    await before.ensureDataset("k");
    await before.ensureTable("k", COST_SCHEMA);
    await before.insertRows("k", COST_SCHEMA, [{ usage_date: "2024-03-01", org_slug: "old", model: "old" }]);
    await before.close();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./_stream_child.ts", import.meta.url).pathname, path, "k"],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("streaming")) {
      const { value, done } = await within(30_000, reader.read());
      if (done) throw new Error(`child ended early: ${out}`);
      out += value;
    }
    child.kill("SIGKILL");
    await child.status;
    await reader.cancel();
    const after = await openDuckDB(path);
    try {
      assert.deepEqual(await after.query("SELECT org_slug, model FROM k.cost_daily"), [{
        org_slug: "old",
        model: "old",
      }]);
    } finally {
      await after.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
