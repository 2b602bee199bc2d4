/**
 * DuckDB storage behaviour under the adapter: bursts of commits do not checkpoint (the WAL grows past DuckDB's
 * default 16 MB threshold), a quiet warehouse checkpoints itself, and reused prepared statements bind each call's
 * values afresh and follow tables that are dropped and re-created.
 */
import assert from "node:assert/strict";
import { openDuckDB } from "../../src/warehouse/duckdb.ts";

const MB = 1024 * 1024;

async function walSize(path: string): Promise<number> {
  return await Deno.stat(`${path}.wal`).then((s) => s.size, () => 0);
}

Deno.test("commits leave the WAL to grow; the warehouse checkpoints once it is quiet, and nothing is lost", async () => {
  const dir = await Deno.makeTempDir({ prefix: "conv-ckpt-" });
  const path = `${dir}/wh.duckdb`;
  try {
    const wh = await openDuckDB(path);
    try {
      await wh.execute("CREATE TABLE big (id BIGINT, payload VARCHAR)");
      // ~24 MB in four commits: with DuckDB's default threshold the last commits would checkpoint.
      for (let i = 0; i < 4; i++) {
        await wh.execute(`INSERT INTO big SELECT range + ${i * 6}, repeat(md5(range::VARCHAR), 32768) FROM range(6)`);
      }
      assert.ok(await walSize(path) >= 16 * MB, `WAL ${await walSize(path)} bytes: a commit checkpointed`);
      assert.equal(await wh.checkpointWhenQuiet(), false, "checkpointed right after a call");
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal(await wh.checkpointWhenQuiet(), true, "a quiet warehouse with a large WAL did not checkpoint");
      assert.ok(await walSize(path) < MB, `WAL still ${await walSize(path)} bytes after the checkpoint`);
      assert.equal(await wh.checkpointWhenQuiet(), false, "checkpointed again with an empty WAL");
    } finally {
      await wh.close();
    }
    const again = await openDuckDB(path);
    try {
      const [row] = await again.query<{ n: number; len: number }>(
        "SELECT COUNT(*) AS n, MIN(length(payload)) AS len FROM big",
      );
      assert.deepEqual(row, { n: 24, len: 32 * 32768 });
    } finally {
      await again.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a reused statement binds each call's values and follows a table dropped and re-created", async () => {
  const wh = await openDuckDB(":memory:", { connections: 1 });
  try {
    await wh.execute("CREATE TABLE t (k VARCHAR, v BIGINT)");
    await wh.execute("INSERT INTO t VALUES ('a', 1), ('b', 2)");
    const read = (k: string | null) =>
      wh.query<{ v: number }>("SELECT v FROM t WHERE k = @k OR @k IS NULL ORDER BY v", { k });
    assert.deepEqual(await read("a"), [{ v: 1 }]);
    assert.deepEqual(await read("b"), [{ v: 2 }]);
    assert.deepEqual(await read(null), [{ v: 1 }, { v: 2 }], "a null after a string kept the old binding");
    await assert.rejects(wh.query("SELECT v FROM missing WHERE k = @k", { k: "a" }), /missing/);
    await wh.execute("DROP TABLE t");
    await wh.execute("CREATE TABLE t (k VARCHAR, v VARCHAR, extra BIGINT)");
    await wh.execute("INSERT INTO t VALUES ('a', 'one', 7)");
    assert.deepEqual(await read("a"), [{ v: "one" }], "the cached statement read the dropped table's shape");
    await wh.execute("DROP TABLE t");
    await assert.rejects(read("a"), /t/);
    // 100 distinct statements: the cache keeps a bounded number and drops the oldest without breaking them.
    for (let i = 0; i < 100; i++) {
      const [row] = await wh.query<{ x: number }>(`SELECT @n + ${i} AS x`, { n: 1 });
      assert.equal(row?.x, 1 + i);
    }
  } finally {
    await wh.close();
  }
});
