/** A BigQuery billing export table is read through the query job's result pages, each at most the size asked. */
import assert from "node:assert/strict";
import { exportTablePages } from "../../src/warehouse/billing_export_bigquery.ts";
import { startBigQueryStandIn } from "../standins/bigquery_rest.ts";

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
