/**
 * Child of duckdb_stream_test.ts: replaces a day of `<dataset>.cost_daily` in the DuckDB file `<path>` from a
 * stream that writes 5 batches of 1,000 rows, prints "streaming" and then never ends, so the parent can kill the
 * process in the middle of the write. Args: <path> <dataset>
 */
import { openDuckDB } from "../../src/warehouse/duckdb.ts";
import { COST_SCHEMA } from "./contract.ts";

const [path, dataset] = Deno.args;
const wh = await openDuckDB(path!);
async function* batches() {
  for (let b = 0; b < 5; b++) {
    yield Array.from({ length: 1000 }, (_, i) => ({ usage_date: "2024-03-01", org_slug: "new", model: `m${b}-${i}` }));
  }
  console.log("streaming");
  await new Promise(() => {}); // the provider hangs: only SIGKILL ends this
}
await wh.replacePartitions(dataset!, COST_SCHEMA, { from: "2024-03-01", to: "2024-03-01" }, batches());
