/** The DuckDB warehouse makes its own file and WAL 0600 even when the process umask would leave them 0644. */
import assert from "node:assert/strict";
import process from "node:process";
import { openDuckDB } from "../../src/warehouse/duckdb.ts";

Deno.test("openDuckDB() leaves the database file and its WAL 0600 under a 022 umask", async () => {
  const previous = process.umask(0o022);
  const dir = await Deno.makeTempDir({ prefix: "conv-wh-modes-" });
  const path = `${dir}/warehouse.duckdb`;
  try {
    const wh = await openDuckDB(path);
    try {
      await wh.execute("CREATE TABLE t (a INTEGER)");
      await wh.execute("INSERT INTO t VALUES (1)");
      assert.ok(await Deno.stat(`${path}.wal`).then(() => true, () => false), "the write left a WAL");
      await wh.tightenFileModes();
      for (const p of [path, `${path}.wal`]) {
        assert.equal(((await Deno.stat(p)).mode! & 0o777).toString(8), "600", p);
      }
    } finally {
      await wh.close();
    }
  } finally {
    process.umask(previous);
    await Deno.remove(dir, { recursive: true });
  }
});
