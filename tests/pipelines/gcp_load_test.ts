/**
 * gcp/billing on the embedded default loads the export inside DuckDB (`INSERT ... SELECT`, no row through
 * JavaScript): a generated export of 12,500 rows to the cent, the step's checks counted in SQL and booked on the
 * run, and a load that fails part-way leaves the loaded days as they were.
 */
import assert from "node:assert/strict";
import { startHarness } from "../runtime/_harness.ts";
import { generateTestServiceAccount, startGcpOAuthStandIn } from "../standins/gcp_oauth.ts";
import { exportDay, exportDays, exportLine } from "../fixtures/gcp_export_gen.ts";
import { fixed9, fixtureRows, sumBy } from "../fixtures/gcp_export.ts";

const ORG = "gcp_load";
const ROWS = 12_500;

Deno.test("gcp/billing loads a generated export inside the warehouse to the cent, its checks counted in SQL", async (t) => {
  const oauth = startGcpOAuthStandIn();
  const sa = await generateTestServiceAccount();
  oauth.addAccount(sa.clientEmail, sa.publicKey);
  const h = await startHarness({ GCP_TOKEN_URI: oauth.tokenUri, RATE_LIMIT_ENABLED: "false" });
  const file = `${h.dataDir}/imports/${ORG}/billing_export.jsonl`;
  const days = exportDays("2025-03-01", 5);
  const lines = Array.from({ length: ROWS }, (_, i) => exportLine(i, exportDay(i, ROWS, days)).trim());
  const write = (extra: string[] = []) => Deno.writeTextFile(file, [...lines, ...extra].join("\n") + "\n");
  const perDay = () =>
    h.deps.warehouse.query<{ usage_date: string; n: number; cost: string; net: string }>(
      `SELECT usage_date, COUNT(*) AS n, SUM(cost) AS cost, SUM(net_cost) AS net FROM ${ORG}_local.gcp_billing_daily_raw
       GROUP BY usage_date ORDER BY usage_date`,
    );
  const dq = (runId: string) =>
    h.deps.warehouse.query<{ check_name: string; passed: boolean; observed_value: string }>(
      `SELECT check_name, passed, observed_value FROM organizations.org_meta_dq_results
       WHERE run_id = @id ORDER BY check_name`,
      { id: runId },
    );
  try {
    await Deno.mkdir(`${h.dataDir}/imports/${ORG}`, { recursive: true });
    await write();
    await h.bootstrap();
    const key = await h.onboard(ORG, "SCALE");
    await h.setup(ORG, "gcp", key, { credential: sa.json, billing_export_table: "billing_export.jsonl" });
    const run = async () => {
      const r = await h.request("POST", `/api/v1/pipelines/run/${ORG}/gcp/billing?wait=true`, {
        key,
        body: { start_date: "2025-03-02", end_date: "2025-03-04" },
      });
      assert.equal(r.status, 200, r.text);
      return r.json;
    };

    const expected = fixtureRows(lines, "2025-03-02", "2025-03-04");
    const expectedDays = () => {
      const cost = sumBy(expected, (r) => r.day, (r) => r.cost);
      const net = sumBy(expected, (r) => r.day, (r) => r.net);
      const n = sumBy(expected, (r) => r.day, () => 1n);
      return [...cost.keys()].map((d) => [d, Number(n.get(d)), fixed9(cost.get(d)!), fixed9(net.get(d)!)]);
    };

    await t.step("the range's 7,500 rows load with exact cost and net cost per day", async () => {
      const r = await run();
      assert.equal(r.status, "COMPLETED", JSON.stringify(r));
      assert.equal(r.steps[0].rows_written, 7_500);
      assert.equal(expected.length, 7_500); // 2,500 rows a day
      const got = await perDay();
      assert.deepEqual(got.map((d) => [d.usage_date, Number(d.n), d.cost, d.net]), expectedDays());
      assert.deepEqual((await dq(r.run_id)).map((d) => [d.check_name, d.passed, Number(d.observed_value)]), [
        ["billing_cost_non_negative", true, 0],
        ["billing_keys_not_null", true, 0],
        ["billing_usage_non_negative", true, 0],
      ]);
    });

    await t.step("labels become objects and credits stay an array, as the row-by-row path wrote them", async () => {
      // Row 2,502 of the export: the second day (2,500 rows a day), a credit (every third row), its own cost.
      const cost = ((2502 % 9973) * 0.001237 + 0.01).toFixed(6);
      const rows = await h.deps.warehouse.query<{ labels: unknown; project_labels: unknown; credits: unknown }>(
        `SELECT labels, project_labels, credits FROM ${ORG}_local.gcp_billing_daily_raw
         WHERE usage_date = CAST('2025-03-02' AS DATE) AND cost = CAST(@c AS NUMERIC(38, 9))`,
        { c: cost },
      );
      assert.equal(rows.length, 1);
      assert.deepEqual(rows[0], {
        labels: { env: "prod", app: `api-${2502 % 17}` },
        project_labels: { team: "platform" },
        credits: [{
          name: "Sustained Usage Discount",
          amount: -Number((Number(cost) / 5).toFixed(6)),
          full_name: "",
          id: "",
          type: "SUSTAINED_USAGE_DISCOUNT",
        }],
      });
    });

    await t.step("negative costs and usage are counted by the warning checks, and the rows still load", async () => {
      const adjustment = (cost: string, amount: string) =>
        lines[2_600]!.replace(/"cost": [0-9.]+/, `"cost": ${cost}`).replace(/"amount": \d+,/, `"amount": ${amount},`);
      await write([adjustment("-1.5", "3600"), adjustment("-0.25", "-2")]);
      const r = await run();
      assert.equal(r.status, "COMPLETED", JSON.stringify(r));
      assert.equal(r.steps[0].rows_written, 7_502);
      assert.deepEqual((await dq(r.run_id)).map((d) => [d.check_name, d.passed, Number(d.observed_value)]), [
        ["billing_cost_non_negative", false, 2],
        ["billing_keys_not_null", true, 0],
        ["billing_usage_non_negative", false, 1],
      ]);
    });

    await t.step("a row that cannot load fails the run and leaves the loaded days as they were", async () => {
      const before = await perDay();
      await write([lines[2_600]!.replace(/"billing_account_id": "[^"]+"/, `"billing_account_id": null`)]);
      const r = await run();
      assert.equal(r.status, "FAILED", JSON.stringify(r));
      assert.match(r.error, /warehouse error/);
      assert.ok(h.logs.some((l) => l.includes(r.run_id) && /NOT NULL.*billing_account_id/.test(l)), "logged why");
      assert.deepEqual(await perDay(), before);
    });
  } finally {
    await h.close();
    await oauth.close();
  }
});
