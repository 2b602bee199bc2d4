/**
 * The billing export readers page their rows: a file through DuckDB's streaming result, a BigQuery export table
 * through the query job's result pages, each page at most the size asked, with every row and cent of the range.
 */
import assert from "node:assert/strict";
import { openDuckDB } from "../../src/warehouse/duckdb.ts";
import { exportFilePages } from "../../src/warehouse/billing_export_file.ts";
import { exportTablePages } from "../../src/warehouse/billing_export_bigquery.ts";
import { exportDay, exportDays, exportLine } from "../fixtures/gcp_export_gen.ts";
import { fixed9, fixtureRows, nano } from "../fixtures/gcp_export.ts";
import { startBigQueryStandIn } from "../standins/bigquery_rest.ts";

Deno.test("a 12,500-row export file is read in pages of at most 5,000 rows with every cent of the range", async () => {
  const dir = await Deno.makeTempDir({ prefix: "conv-export-pages-" });
  const wh = await openDuckDB(`${dir}/w.duckdb`);
  try {
    const rows = 12_500;
    const days = exportDays("2025-03-01", 5);
    const lines = Array.from({ length: rows }, (_, i) => exportLine(i, exportDay(i, rows, days)));
    await Deno.writeTextFile(`${dir}/export.jsonl`, lines.join(""));
    const expected = fixtureRows(lines.map((l) => l.trim()), "2025-03-02", "2025-03-04");
    assert.equal(expected.length, 7_500); // 2,500 rows a day, three days
    const sizes: number[] = [];
    let cost = 0n;
    let net = 0n;
    for await (
      const page of exportFilePages<{ cost: string; net_cost: string }>(
        wh,
        `${dir}/export.jsonl`,
        "2025-03-02",
        "2025-03-04",
        5_000,
      )
    ) {
      sizes.push(page.length);
      for (const r of page) {
        cost += nano(r.cost);
        net += nano(r.net_cost);
      }
    }
    assert.deepEqual(sizes, [5_000, 2_500]);
    assert.equal(fixed9(cost), fixed9(expected.reduce((s, r) => s + r.cost, 0n)));
    assert.equal(fixed9(net), fixed9(expected.reduce((s, r) => s + r.net, 0n)));
  } finally {
    await wh.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a BigQuery export table is read page by page with maxResults and pageToken", async () => {
  const rows = Array.from({ length: 25 }, (_, i) => ({ f: [{ v: "2025-03-01" }, { v: `${i}.5` }] }));
  const s = startBigQueryStandIn({
    onQuery: () => ({
      fields: [{ name: "usage_date", type: "DATE" }, { name: "cost", type: "NUMERIC" }],
      rows,
    }),
  });
  const TABLE = "gcp_billing_export_v1_0A1B2C_3D4E5F_6A7B8C";
  s.datasets.set("billing", { datasetReference: { projectId: "acme-billing", datasetId: "billing" } });
  s.tables.set(`billing.${TABLE}`, { location: "EU", schema: { fields: [{ name: "cost" }] } });
  try {
    const pages: { usage_date: string; cost: string }[][] = [];
    const options = {
      tableId: `acme-billing.billing.${TABLE}`,
      jobProject: "acme-sa-project",
      accessToken: "ya29.org-token",
      start: "2025-03-01",
      end: "2025-03-01",
      apiEndpoint: s.url,
    };
    for await (const page of exportTablePages<{ usage_date: string; cost: string }>(options, 10)) pages.push(page);
    assert.deepEqual(pages.map((p) => p.length), [10, 10, 5]);
    assert.deepEqual(pages[2]![4], { usage_date: "2025-03-01", cost: "24.500000000" });
    const reads = s.requests.filter((r) => r.method === "GET" && r.path.startsWith("/queries/"));
    assert.deepEqual(reads.map((r) => [r.query.maxResults, r.query.pageToken]), [
      ["10", undefined],
      ["10", "10"],
      ["10", "20"],
    ]);
  } finally {
    await s.close();
  }
});
