/** gcp/billing end to end on the embedded default: setup through the API, the export file under imports/, DuckDB. */
import assert from "node:assert/strict";
import { type Harness, startHarness } from "../runtime/_harness.ts";
import { generateTestServiceAccount, startGcpOAuthStandIn } from "../standins/gcp_oauth.ts";
import { parseTableId, readExportTable } from "../../src/warehouse/billing_export_bigquery.ts";
import { startBigQueryStandIn } from "../standins/bigquery_rest.ts";
import { fixed9, fixtureLines, fixtureRows, GCP_CSV_FIXTURE, sumBy } from "../fixtures/gcp_export.ts";

const ORG = "gcp_org";
const DATASET = `${ORG}_local`;

interface Expected {
  rows: number;
  cost: Map<string, bigint>;
  net: Map<string, bigint>;
}

/** Per-day cost and net cost of the fixture's rows in [from, to], computed exactly from the numbers as written. */
function expectedFrom(lines: string[], from: string, to: string): Expected {
  const rows = fixtureRows(lines, from, to);
  return {
    rows: rows.length,
    cost: sumBy(rows, (r) => r.day, (r) => r.cost),
    net: sumBy(rows, (r) => r.day, (r) => r.net),
  };
}

async function perDay(h: Harness) {
  const rows = await h.deps.warehouse.query<{ usage_date: string; n: number; cost: string; net: string }>(
    `SELECT usage_date, COUNT(*) AS n, SUM(cost) AS cost, SUM(net_cost) AS net FROM ${DATASET}.gcp_billing_daily_raw
     GROUP BY usage_date ORDER BY usage_date`,
  );
  return rows.map((r) => ({ ...r, n: Number(r.n) }));
}

function assertMatches(actual: Awaited<ReturnType<typeof perDay>>, expected: Expected) {
  assert.equal(actual.reduce((s, r) => s + r.n, 0), expected.rows);
  assert.deepEqual(
    actual.map((r) => [r.usage_date, r.cost, r.net]),
    [...expected.net.keys()].sort().map((d) => [
      d,
      fixed9(expected.cost.get(d)!),
      fixed9(expected.net.get(d)!),
    ]),
  );
}

Deno.test("gcp/billing loads the billing export net of credits, end to end", async (t) => {
  const oauth = startGcpOAuthStandIn();
  const sa = await generateTestServiceAccount();
  oauth.addAccount(sa.clientEmail, sa.publicKey);
  const h = await startHarness({ GCP_TOKEN_URI: oauth.tokenUri, RATE_LIMIT_ENABLED: "false" });
  const imports = `${h.dataDir}/imports/${ORG}`; // each org has its own folder
  await Deno.mkdir(imports, { recursive: true });
  const lines = await fixtureLines();
  const text = lines.join("\n") + "\n";
  await Deno.writeTextFile(`${imports}/billing_export.jsonl`, text);
  const setup = (key: string, table: string) =>
    h.request("POST", `/api/v1/integrations/${ORG}/gcp/setup`, {
      key,
      body: { credential: sa.json, billing_export_table: table },
    });
  const run = async (key: string, body: Record<string, string>) => {
    const r = await h.request("POST", `/api/v1/pipelines/run/${ORG}/gcp/billing?wait=true`, { key, body });
    assert.equal(r.status, 200, r.text);
    return r.json;
  };
  try {
    await h.bootstrap();
    const key = await h.onboard(ORG, "SCALE");

    await t.step("a billing export path outside DATA_DIR/imports/ is refused with 400 at setup", async () => {
      await Deno.writeTextFile(`${h.dataDir}/outside.jsonl`, lines[0]!);
      for (const bad of ["../outside.jsonl", "/etc/passwd.jsonl", "sub/../../outside.jsonl", "billing_export.txt"]) {
        const r = await setup(key, bad);
        assert.equal(r.status, 400, `${bad}: ${r.text}`);
        assert.match(r.json.error.message, /billing_export_table/, bad);
      }
      const status = await h.request("GET", `/api/v1/integrations/${ORG}/gcp`, { key });
      assert.notEqual(status.json?.status, "VALID");
    });

    await t.step("setup with the JSONL export under imports/ succeeds", async () => {
      const r = await setup(key, "billing_export.jsonl");
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.validation_status, "VALID");
    });

    const expected = expectedFrom(lines, "2025-03-01", "2025-03-03");
    await t.step("a run loads the range's rows (UTC day of usage_start_time) with exact net cost", async () => {
      const r = await run(key, { start_date: "2025-03-01", end_date: "2025-03-03" });
      assert.equal(r.status, "COMPLETED", JSON.stringify(r));
      assert.equal(r.steps[0].rows_written, expected.rows);
      assert.equal(expected.rows, 8);
      assertMatches(await perDay(h), expected);
    });

    await t.step("each row keeps its credits, labels and export fields", async () => {
      const [row] = await h.deps.warehouse.query<Record<string, unknown>>(
        `SELECT * FROM ${DATASET}.gcp_billing_daily_raw WHERE list_cost IS NOT NULL`,
      );
      assert.ok(row);
      assert.equal(row.usage_date, "2025-03-01");
      assert.equal(row.service_id, "6F81-5844-456A");
      assert.equal(row.service_description, "Compute Engine");
      assert.equal(row.project_id, "acme-prod-4711");
      assert.equal(row.location_region, "us-central1");
      assert.equal(row.cost, "12.345678000");
      assert.equal(row.credits_total, "-2.469136000");
      assert.equal(row.net_cost, "9.876542000");
      assert.equal(row.list_cost, "13.500000000");
      assert.equal(row.usage_amount, "3600.000000000");
      assert.equal(row.usage_unit, "seconds");
      assert.equal(row.invoice_month, "202503");
      assert.equal(row.cost_type, "regular");
      assert.equal(row.currency, "USD");
      assert.deepEqual(row.labels, { env: "prod", app: "api" });
      assert.deepEqual(row.project_labels, { team: "platform" });
      assert.equal((row.credits as unknown[]).length, 2);
      assert.equal(row.usage_start_time, "2025-03-01T00:00:00.000Z");
      assert.equal(row.export_time, "2025-03-05T04:12:55.123Z");
      const [shifted] = await h.deps.warehouse.query<{ usage_date: string }>(
        `SELECT usage_date FROM ${DATASET}.gcp_billing_daily_raw WHERE usage_start_time = CAST(@t AS TIMESTAMP)`,
        { t: "2025-03-02T01:30:00Z" },
      );
      assert.equal(shifted?.usage_date, "2025-03-02");
    });

    await t.step("the FOCUS export shows credits netted, or as Credit rows that add up to the same", async () => {
      const q = `start=2025-03-01&end=2025-03-03&provider=gcp&format=focus`;
      const netted = await h.request("GET", `/api/v1/costs/${ORG}?${q}`, { key });
      const lines = await h.request("GET", `/api/v1/costs/${ORG}?${q}&credits=lines`, { key });
      assert.equal(lines.status, 200, lines.text);
      assert.equal(netted.json.credits, "netted");
      assert.equal(lines.json.credits, "lines");
      type Focus = Record<string, string | null>;
      const sum = (rows: Focus[], col: string) => rows.reduce((a, r) => a + BigInt(fixed9Of(r[col]!)), 0n);
      const fixed9Of = (v: string) => {
        const [w, f = ""] = v.replace("-", "").split(".");
        return (v.startsWith("-") ? "-" : "") + w + f.padEnd(9, "0");
      };
      const credits = (lines.json.rows as Focus[]).filter((r) => r.ChargeCategory === "Credit");
      const charges = (lines.json.rows as Focus[]).filter((r) => r.ChargeCategory !== "Credit");
      assert.equal(netted.json.rows.length, expected.rows);
      assert.equal(charges.length, expected.rows);
      assert.ok(credits.length >= 2, "the fixture's credits are rows of their own");
      const net = [...expected.net.values()].reduce((a, b) => a + b, 0n);
      const gross = [...expected.cost.values()].reduce((a, b) => a + b, 0n);
      assert.equal(sum(netted.json.rows, "BilledCost"), net);
      assert.equal(sum(lines.json.rows, "BilledCost"), net, "charges and credits add up to the netted total");
      assert.equal(sum(charges, "BilledCost"), gross, "charges are at their gross cost");
      assert.equal(sum(credits, "BilledCost"), net - gross);
      for (const c of credits) {
        assert.ok(c.BilledCost!.startsWith("-"), "a credit is negative");
        assert.equal(c.ListCost, c.BilledCost);
        assert.equal(c.EffectiveCost, c.BilledCost);
        assert.ok(c.x_CreditType, "the credit's type is kept");
      }
      const compute = lines.json.rows.findIndex((r: Focus) => r.BilledCost === "12.345678");
      assert.ok(compute >= 0, "the Compute Engine charge at its gross cost");
      const own = (lines.json.rows as Focus[]).slice(compute + 1, compute + 3);
      assert.deepEqual(own.map((r) => r.ChargeCategory), ["Credit", "Credit"], "its credits follow it");
      assert.equal(sum(own, "BilledCost"), -2_469_136_000n);
      const summary = await h.request("GET", `/api/v1/costs/${ORG}?start=2025-03-01&end=2025-03-03&provider=gcp`, {
        key,
      });
      assert.equal(BigInt(fixed9Of(summary.json.total_cost)), net, "totals stay netted");
      const bad = await h.request("GET", `/api/v1/costs/${ORG}?start=2025-03-01&end=2025-03-03&credits=lines`, { key });
      assert.equal(bad.status, 400);
      assert.match(bad.json.error.message, /"credits" only applies to format=focus/);
    });

    await t.step("re-running the same range replaces it: no duplicates", async () => {
      const r = await run(key, { start_date: "2025-03-01", end_date: "2025-03-03" });
      assert.equal(r.status, "COMPLETED");
      assertMatches(await perDay(h), expected);
    });

    await t.step("late export rows are picked up by re-running their day, other days untouched", async () => {
      const late = JSON.parse(lines[5]!);
      late.cost = 0.5;
      late.credits = [{ name: "Late", amount: -0.25, type: "PROMOTION" }];
      const withLate = [...lines, JSON.stringify(late)];
      await Deno.writeTextFile(`${imports}/billing_export.jsonl`, withLate.join("\n") + "\n");
      const r = await run(key, { start_date: "2025-03-02", end_date: "2025-03-02" });
      assert.equal(r.status, "COMPLETED");
      assertMatches(await perDay(h), expectedFrom(withLate, "2025-03-01", "2025-03-03"));
      await Deno.writeTextFile(`${imports}/billing_export.jsonl`, text);
      await run(key, { start_date: "2025-03-02", end_date: "2025-03-02" });
      assertMatches(await perDay(h), expected);
    });

    await t.step("the same export as Parquet loads the same amounts", async () => {
      const parquet = `${imports}/billing_export.parquet`;
      await h.deps.warehouse.query(
        `COPY (SELECT * FROM read_json_auto('${imports}/billing_export.jsonl')) TO '${parquet}' (FORMAT parquet)`,
      );
      assert.equal((await setup(key, "billing_export.parquet")).status, 200);
      const r = await run(key, { start_date: "2025-03-01", end_date: "2025-03-03" });
      assert.equal(r.status, "COMPLETED", JSON.stringify(r));
      assertMatches(await perDay(h), expected);
    });

    await t.step("a CSV export with flattened columns and JSON credits loads too", async () => {
      await Deno.copyFile(GCP_CSV_FIXTURE, `${imports}/billing_export.csv`);
      assert.equal((await setup(key, "billing_export.csv")).status, 200);
      const r = await run(key, { start_date: "2025-03-01", end_date: "2025-03-02" });
      assert.equal(r.status, "COMPLETED", JSON.stringify(r));
      const rows = await h.deps.warehouse.query<Record<string, unknown>>(
        `SELECT usage_date, service_description, project_id, cost, credits_total, net_cost, usage_amount, labels
         FROM ${DATASET}.gcp_billing_daily_raw WHERE usage_date <= CAST('2025-03-02' AS DATE) ORDER BY usage_start_time`,
      );
      assert.deepEqual(rows, [
        {
          usage_date: "2025-03-01",
          service_description: "Compute Engine",
          project_id: "acme-prod-4711",
          cost: "10.000000001",
          credits_total: "-1.000000001",
          net_cost: "9.000000000",
          usage_amount: "3600.000000000",
          labels: { env: "prod" },
        },
        {
          usage_date: "2025-03-01",
          service_description: "BigQuery",
          project_id: null,
          cost: "0.500000000",
          credits_total: "0.000000000",
          net_cost: "0.500000000",
          usage_amount: "1024.000000000",
          labels: null,
        },
        {
          usage_date: "2025-03-02",
          service_description: "Cloud Storage",
          project_id: "acme-prod-4711",
          cost: "0.250000000",
          credits_total: "0.000000000",
          net_cost: "0.250000000",
          usage_amount: null,
          labels: null,
        },
      ]);
    });

    await t.step("a missing export file fails the run with a clear error and keeps the loaded data", async () => {
      const before = await perDay(h);
      await Deno.remove(`${imports}/billing_export.csv`);
      const r = await run(key, { start_date: "2025-03-01", end_date: "2025-03-01" });
      assert.equal(r.status, "FAILED");
      assert.match(r.error, /billing_export\.csv.*no longer exists/);
      assert.deepEqual(await perDay(h), before);
    });

    await t.step("a symlink under imports/ that leads outside it is refused at run time", async () => {
      await Deno.symlink(h.dataDir, `${imports}/escape`);
      assert.equal((await setup(key, "escape/outside.jsonl")).status, 400, "setup refuses it too");
      // A file that was fine at setup and became a symlink out of the folder later.
      await Deno.writeTextFile(`${imports}/swapped.jsonl`, lines[0]!);
      assert.equal((await setup(key, "swapped.jsonl")).status, 200);
      await Deno.remove(`${imports}/swapped.jsonl`);
      await Deno.symlink(`${h.dataDir}/outside.jsonl`, `${imports}/swapped.jsonl`);
      const r = await run(key, { start_date: "2025-03-01", end_date: "2025-03-01" });
      assert.equal(r.status, "FAILED");
      assert.match(r.error, /leads outside it/);
    });

    await t.step("no private key material reaches the logs", () => {
      const pem = JSON.parse(sa.json).private_key.split("\n")[1];
      assert.ok(!h.logs.some((l) => l.includes(pem)));
    });
  } finally {
    await h.close();
    await oauth.close();
  }
});

Deno.test("on BigQuery the export table is read with the org's token in one parameterised query", async (t) => {
  // deno-lint-ignore no-explicit-any
  const seen: { sql: string; params: any[] }[] = [];
  const s = startBigQueryStandIn({
    onQuery: (sql, params) => {
      seen.push({ sql, params: params as unknown[] });
      return {
        fields: [
          { name: "usage_date", type: "DATE" },
          { name: "cost", type: "NUMERIC" },
          { name: "credits_total", type: "NUMERIC" },
          { name: "net_cost", type: "NUMERIC" },
          { name: "credits", type: "JSON" },
        ],
        rows: [{ f: [{ v: "2025-03-01" }, { v: "12.345678" }, { v: "-2.469136" }, { v: "9.876542" }, { v: "[]" }] }],
      };
    },
  });
  const TABLE = "gcp_billing_export_v1_0A1B2C_3D4E5F_6A7B8C";
  s.datasets.set("billing", { datasetReference: { projectId: "acme-billing", datasetId: "billing" } });
  s.tables.set(`billing.${TABLE}`, {
    location: "EU",
    schema: { fields: [{ name: "cost" }, { name: "cost_at_list" }] },
  });
  const read = (tableId: string) =>
    readExportTable({
      tableId,
      jobProject: "acme-sa-project",
      accessToken: "ya29.org-token",
      start: "2025-03-01",
      end: "2025-03-03",
      apiEndpoint: s.url,
    });
  try {
    await t.step("dates travel as @start/@end parameters, the job runs in the service account's project", async () => {
      const rows = await read(`acme-billing.billing.${TABLE}`);
      assert.deepEqual(rows, [
        {
          usage_date: "2025-03-01",
          cost: "12.345678000",
          credits_total: "-2.469136000",
          net_cost: "9.876542000",
          credits: [],
        },
      ]);
      assert.equal(seen.length, 1);
      assert.ok(seen[0]!.sql.includes(`\`acme-billing.billing.${TABLE}\``));
      assert.match(seen[0]!.sql, /BETWEEN CAST\(@start AS DATE\) AND CAST\(@end AS DATE\)/);
      assert.match(seen[0]!.sql, /CAST\(cost_at_list AS NUMERIC\(38, 9\)\)/);
      assert.ok(!seen[0]!.sql.includes("2025-03-0"));
      assert.deepEqual(
        seen[0]!.params.map((p) => [p.name, p.parameterValue.value]).sort(),
        [["end", "2025-03-03"], ["start", "2025-03-01"]],
      );
      const job = s.requests.find((r) => r.method === "POST" && r.path === "/jobs");
      assert.equal(job?.project, "acme-sa-project");
      // deno-lint-ignore no-explicit-any
      assert.equal((job?.body as any).jobReference.location, "EU");
      for (const r of s.requests) assert.equal(r.authorization, "Bearer ya29.org-token");
    });

    await t.step("anything but a plain project.dataset.table id is refused before any request", async () => {
      const before = s.requests.length;
      for (const bad of ["acme-billing.billing", "acme-billing.billing.t` WHERE 1=1 --", "a.b.c.d", "../x.jsonl"]) {
        await assert.rejects(read(bad), /not a project\.dataset\.table id/, bad);
      }
      assert.equal(s.requests.length, before);
      assert.deepEqual(parseTableId("example.com:acme-billing.billing.t1"), {
        project: "example.com:acme-billing",
        dataset: "billing",
        table: "t1",
      });
    });
  } finally {
    await s.close();
  }
});
