/**
 * Child of bench/gcp.ts, the baseline: DuckDB alone reads the export file into a table (`CREATE TABLE AS SELECT *
 * FROM read_json(...)` with the same declared columns the product uses) in a fresh DuckDB file. Prints one JSON line.
 * Args: <export.jsonl>
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { fileReader } from "../src/warehouse/billing_export_file.ts";
import { peakRssMb } from "./_rss.ts";

const [path] = Deno.args;
if (!path) throw new Error("usage: _gcp_duckdb_read.ts <export.jsonl>");
const dir = await Deno.makeTempDir({ prefix: "conv-bench-gcp-baseline-" });
try {
  const instance = await DuckDBInstance.create(`${dir}/baseline.duckdb`);
  const c = await instance.connect();
  const t0 = performance.now();
  await c.run(`CREATE TABLE export AS SELECT * FROM ${fileReader(path)}`);
  const ms = performance.now() - t0;
  const rows = Number((await c.runAndReadAll("SELECT count(*) AS n FROM export")).getRowObjects()[0]!.n);
  c.closeSync();
  instance.closeSync();
  console.log(JSON.stringify({ rows, baseline_ms: Math.round(ms), peak_rss_mb: peakRssMb() }));
} finally {
  await Deno.remove(dir, { recursive: true });
}
