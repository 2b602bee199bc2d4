/** DuckDB group commit of small writes: concurrent writers share transactions, a failing write fails alone, and a
 * small write to a table a stream is writing waits for the stream (no lost or duplicated day). */
import assert from "node:assert/strict";
import { openDuckDB } from "../../src/warehouse/duckdb.ts";
import { COST_SCHEMA } from "./contract.ts";

const DAY = { from: "2024-05-01", to: "2024-05-01" };
const row = (org: string, model: string) => ({ usage_date: "2024-05-01", org_slug: org, model, input_tokens: 1 });

Deno.test("concurrent small replaces on 40 tables all land, and the one with a drifted schema fails alone", async () => {
  const wh = await openDuckDB(":memory:");
  try {
    for (let i = 0; i < 40; i++) {
      await wh.ensureDataset(`g${i}`);
      await wh.ensureTable(`g${i}`, COST_SCHEMA);
      await wh.insertRows(`g${i}`, COST_SCHEMA, [row("old", "old")]);
    }
    const drifted = { ...COST_SCHEMA, fields: COST_SCHEMA.fields.slice(0, 4) };
    const results = await Promise.allSettled(
      Array.from(
        { length: 40 },
        (_, i) =>
          wh.replacePartitions(`g${i}`, i === 13 ? drifted : COST_SCHEMA, DAY, [row(`o${i}`, "a"), row(`o${i}`, "b")]),
      ),
    );
    results.forEach((r, i) => assert.equal(r.status, i === 13 ? "rejected" : "fulfilled", `table g${i}`));
    assert.match(
      String((results[13] as PromiseRejectedResult).reason),
      /Cannot replace partitions of "g13.cost_daily": table has 10 columns but its schema has 4/,
    );
    for (let i = 0; i < 40; i++) {
      const models = (await wh.query<{ model: string }>(`SELECT model FROM g${i}.cost_daily ORDER BY model`))
        .map((r) => r.model);
      assert.deepEqual(models, i === 13 ? ["old"] : ["a", "b"], `table g${i}`);
    }
  } finally {
    await wh.close();
  }
});

Deno.test("a small replace of a table a stream is writing waits for the stream and then replaces the day", async () => {
  const wh = await openDuckDB(":memory:");
  try {
    await wh.ensureDataset("s");
    await wh.ensureTable("s", COST_SCHEMA);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let small: Promise<number> | undefined;
    async function* stream() {
      yield [row("stream", "s1")];
      // While the stream holds the table, a small write of the same day and one of another table arrive.
      small = wh.replacePartitions("s", COST_SCHEMA, DAY, [row("small", "x")]);
      await wh.ensureDataset("other");
      await wh.ensureTable("other", COST_SCHEMA);
      await wh.replacePartitions("other", COST_SCHEMA, DAY, [row("other", "y")]); // not held up by the stream
      await gate;
      yield [row("stream", "s2")];
    }
    const streamed = wh.replacePartitions("s", COST_SCHEMA, DAY, stream());
    await new Promise((r) => setTimeout(r, 50));
    release();
    assert.equal(await streamed, 2);
    assert.equal(await small!, 1);
    const models = (await wh.query<{ model: string }>("SELECT model FROM s.cost_daily ORDER BY model")).map((r) =>
      r.model
    );
    assert.deepEqual(models, ["x"], "the later small replace wins, nothing duplicated");
  } finally {
    await wh.close();
  }
});
