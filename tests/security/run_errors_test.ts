/**
 * Run errors shown to tenants (run row, step logs, `?wait=true`) name what failed, never raw engine text or
 * server paths; the detail is in the server log under the run id.
 */
import assert from "node:assert/strict";
import { startHarness } from "../runtime/_harness.ts";
import { OPENAI_STANDIN_KEY, startOpenAIStandIn } from "../standins/openai.ts";

const ORG = "run_err_org";
const RAW = /DuckDB|Catalog Error|Binder Error|Error:|\/tmp\/|\/work\//;

Deno.test("a run whose warehouse write fails tells the tenant which table failed, and logs the engine detail", async () => {
  const standIn = startOpenAIStandIn();
  const h = await startHarness({ OPENAI_BASE_URL: standIn.baseUrl, RATE_LIMIT_ENABLED: "false" });
  try {
    await h.bootstrap();
    const key = await h.onboard(ORG, "SCALE");
    await h.setup(ORG, "openai", key, { credential: OPENAI_STANDIN_KEY });
    // Sabotage: the raw table's name is taken by a view, so the engine refuses the write.
    await h.deps.warehouse.execute(`CREATE VIEW ${ORG}_local.openai_usage_daily_raw AS SELECT 1 AS x`);

    const r = await h.request("POST", `/api/v1/pipelines/run/${ORG}/openai/usage_cost?wait=true`, {
      key,
      body: { start_date: "2025-03-01", end_date: "2025-03-02" },
    });
    assert.ok(r.json?.status === "FAILED" || r.status >= 400, r.text);
    const runId: string = r.json.run_id ?? r.json.error?.run_id;
    assert.ok(runId, r.text);
    const shown = await h.request("GET", `/api/v1/pipelines/runs/${ORG}/${runId}`, { key });
    assert.equal(shown.status, 200, shown.text);
    const messages = [
      r.text,
      shown.json.error_message ?? shown.json.error,
      ...shown.json.steps.map((s: { error_message?: string; error?: string }) => s.error_message ?? s.error ?? ""),
    ].map(String);
    for (const m of messages) assert.doesNotMatch(m, RAW, m);
    const failed = String(shown.json.error_message ?? shown.json.error);
    assert.match(failed, /openai_usage_daily_raw failed \(warehouse error\)/);
    assert.match(failed, new RegExp(`run id ${runId}`));
    const logged = h.logs.filter((l) => l.includes(runId) && l.includes('"step failed"'));
    assert.ok(logged.some((l) => /DuckDB|Error/.test(l)), `the engine detail is logged under the run id: ${logged}`);
  } finally {
    await h.close();
    await standIn.close();
  }
});
