/**
 * Issue 13, point 8: the seed's own call `{"date": D}` runs every daily pipeline for the one day D, as
 * `start_date = end_date = D` (the DSL's `alias_of`), end to end against the stand-ins.
 */
import assert from "node:assert/strict";
import { type Harness, startHarness } from "../runtime/_harness.ts";
import { generateTestServiceAccount, startGcpOAuthStandIn } from "../standins/gcp_oauth.ts";
import { OPENAI_STANDIN_KEY, startOpenAIStandIn } from "../standins/openai.ts";
import { fixtureLines } from "../fixtures/gcp_export.ts";
import { pipeline as deepseek } from "../../generated/pipelines/deepseek/usage_cost.ts";
import { pipeline as anthropic } from "../../generated/pipelines/anthropic/usage_cost.ts";
import { resolveParams } from "../../src/pipeline/run_sync.ts";

const ORG = "seed_org";
const DATASET = `${ORG}_local`;
const D = "2025-11-25";

async function days(h: Harness, table: string): Promise<string[]> {
  const rows = await h.deps.warehouse.query<{ d: string }>(
    `SELECT DISTINCT CAST(usage_date AS VARCHAR) AS d FROM ${DATASET}.${table} ORDER BY d`,
  );
  return rows.map((r) => r.d);
}

/** The params the run row stored. */
function storedParams(run: { params: unknown }): unknown {
  return typeof run.params === "string" ? JSON.parse(run.params) : run.params;
}

Deno.test('gcp/billing with the seed\'s {"date": "2025-11-25"} loads that one day as start_date = end_date', async () => {
  const oauth = startGcpOAuthStandIn();
  const sa = await generateTestServiceAccount();
  oauth.addAccount(sa.clientEmail, sa.publicKey);
  const h = await startHarness({
    GCP_TOKEN_URI: oauth.tokenUri,
    RATE_LIMIT_ENABLED: "false",
    SCHEDULER_ENABLED: "false",
  });
  try {
    // The fixture's five days moved to 2025-11-24..28: rows exist on both sides of D.
    const lines = await fixtureLines(["2025-11-24", "2025-11-25", "2025-11-26", "2025-11-27", "2025-11-28"]);
    await Deno.mkdir(`${h.dataDir}/imports/${ORG}`, { recursive: true });
    await Deno.writeTextFile(`${h.dataDir}/imports/${ORG}/billing_export.jsonl`, lines.join("\n") + "\n");
    await h.bootstrap();
    const key = await h.onboard(ORG, "SCALE");
    await h.setup(ORG, "gcp", key, { credential: sa.json, billing_export_table: "billing_export.jsonl" });

    const r = await h.request("POST", `/api/v1/pipelines/run/${ORG}/gcp/billing?wait=true`, { key, body: { date: D } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, "COMPLETED", r.text);
    assert.deepEqual(storedParams(r.json), { start_date: D, end_date: D });
    assert.deepEqual(await days(h, "gcp_billing_daily_raw"), [D]);
    assert.ok(r.json.steps[0].rows_written > 0, "the day has rows");
  } finally {
    await h.close();
    await oauth.close();
  }
});

Deno.test('openai/usage_cost with {"date": D} asks OpenAI for that one day and writes only its partition', async () => {
  const standIn = startOpenAIStandIn();
  const h = await startHarness({
    OPENAI_BASE_URL: standIn.baseUrl,
    RATE_LIMIT_ENABLED: "false",
    SCHEDULER_ENABLED: "false",
  });
  try {
    await h.bootstrap();
    const key = await h.onboard(ORG, "SCALE");
    await h.setup(ORG, "openai", key, { credential: OPENAI_STANDIN_KEY });
    const r = await h.request("POST", `/api/v1/pipelines/run/${ORG}/openai/usage_cost?wait=true`, {
      key,
      body: { date: D },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, "COMPLETED", r.text);
    assert.deepEqual(storedParams(r.json), { start_date: D, end_date: D });
    for (const table of ["openai_usage_daily_raw", "openai_cost_daily"]) {
      assert.deepEqual(await days(h, table), [D], table);
    }
    const usage = standIn.requests.filter((q) => q.path.endsWith("/usage/completions")).at(-1)!;
    const query = new URLSearchParams(usage.query);
    assert.equal(Number(query.get("start_time")), Date.parse(`${D}T00:00:00Z`) / 1000);
    assert.equal(Number(query.get("end_time")), Date.parse(`${D}T00:00:00Z`) / 1000 + 86_400);
  } finally {
    await h.close();
    await standIn.close();
  }
});

Deno.test('every daily pipeline resolves {"date": D} to one day, and DeepSeek resolves start_date = end_date to date', () => {
  const now = new Date("2025-11-26T08:00:00Z");
  assert.deepEqual(resolveParams(anthropic, { date: D }, now), { start_date: D, end_date: D });
  assert.deepEqual(resolveParams(deepseek, { start_date: D, end_date: D }, now), { date: D });
  assert.deepEqual(resolveParams(deepseek, { end_date: D }, now), { date: D });
  assert.deepEqual(resolveParams(deepseek, {}, now), { date: "2025-11-25" }, "the default is still yesterday");
});
