/**
 * The cost reads on BigQuery: the same OpenAI and Anthropic usage (one stand-in each, billed at list price) run
 * through openai/usage_cost and anthropic/usage_cost on the BigQuery stand-in (SQL run by the official client
 * against the REST stand-in) and on the embedded DuckDB default, then `GET /costs`, the FOCUS export and the
 * reconciliation answer the same on both, to the 9th decimal, and the reconciliation is MATCHED on BigQuery.
 */
import assert from "node:assert/strict";
import { startHarness } from "./_harness.ts";
import { startTwins } from "../_bigquery_twins.ts";
import { OPENAI_STANDIN_KEY, startOpenAIStandIn } from "../standins/openai.ts";
import { ANTHROPIC_STANDIN_KEY, startAnthropicStandIn } from "../standins/anthropic.ts";

const ORG = "bq_costs";
const dayOffset = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
const RANGE = { start_date: dayOffset(-12), end_date: dayOffset(-10) };
const PIPELINES = ["openai/usage_cost", "anthropic/usage_cost"];
const READS = [
  `?start=${RANGE.start_date}&end=${RANGE.end_date}&group_by=provider,service,model,day`,
  `?start=${RANGE.start_date}&end=${RANGE.end_date}&format=focus`,
  `/reconciliation?start=${RANGE.start_date}&end=${RANGE.end_date}`,
];

type Answer = { status: number; json: Record<string, unknown> };

/** FOCUS rows in a stable order (both engines sort by the same keys; ties may come back in either order). */
function canonical(body: Record<string, unknown>): Record<string, unknown> {
  const rows = body.rows as Record<string, unknown>[] | undefined;
  if (body.format !== "focus" || !rows) return body;
  return { ...body, rows: rows.map((r) => JSON.stringify(r)).sort() };
}

Deno.test("costs, the FOCUS export and the reconciliation answer the same on BigQuery as on DuckDB", async () => {
  const openai = startOpenAIStandIn({ models: ["gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18"] });
  const anthropic = startAnthropicStandIn();
  const env = { OPENAI_BASE_URL: openai.baseUrl, ANTHROPIC_BASE_URL: anthropic.baseUrl };
  const twins = await startTwins(env);
  const h = await startHarness({ ...env, RATE_LIMIT_ENABLED: "false" });
  try {
    await twins.bootstrap();
    const bqKey = await twins.onboard(ORG, "SCALE");
    await twins.setup(ORG, bqKey, "openai", OPENAI_STANDIN_KEY);
    await twins.setup(ORG, bqKey, "anthropic", ANTHROPIC_STANDIN_KEY);
    await h.bootstrap();
    const duckKey = await h.onboard(ORG, "SCALE");
    for (const [provider, credential] of [["openai", OPENAI_STANDIN_KEY], ["anthropic", ANTHROPIC_STANDIN_KEY]]) {
      const r = await h.request("POST", `/api/v1/integrations/${ORG}/${provider}/setup`, {
        key: duckKey,
        body: { credential },
      });
      assert.equal(r.status, 200, r.text);
    }
    for (const p of PIPELINES) {
      const bq = await twins.call(0, "POST", `/api/v1/pipelines/run/${ORG}/${p}?wait=true`, RANGE, {
        "X-API-Key": bqKey,
      });
      assert.equal(bq.json?.status, "COMPLETED", `${p} on BigQuery: ${JSON.stringify(bq.json)}`);
      const duck = await h.request("POST", `/api/v1/pipelines/run/${ORG}/${p}?wait=true`, {
        key: duckKey,
        body: RANGE,
      });
      assert.equal(duck.json?.status, "COMPLETED", `${p} on DuckDB: ${duck.text}`);
    }
    for (const read of READS) {
      const bq: Answer = await twins.call(0, "GET", `/api/v1/costs/${ORG}${read}`, undefined, { "X-API-Key": bqKey });
      const duck = await h.request("GET", `/api/v1/costs/${ORG}${read}`, { key: duckKey });
      assert.equal(bq.status, 200, `${read} on BigQuery: ${JSON.stringify(bq.json)}`);
      assert.equal(duck.status, 200, duck.text);
      assert.deepEqual(canonical(bq.json), canonical(duck.json), `${read}: the two engines agree`);
    }
    const rec = await twins.call(0, "GET", `/api/v1/costs/${ORG}${READS[2]}`, undefined, { "X-API-Key": bqKey });
    const totals = rec.json.totals as { provider: string; status: string; list_cost: string }[];
    assert.deepEqual(totals.map((t) => [t.provider, t.status]).sort(), [["anthropic", "MATCHED"], [
      "openai",
      "MATCHED",
    ]]);
    assert.ok(totals.every((t) => Number(t.list_cost) > 0), "both providers have priced usage");
    const summary = await twins.call(0, "GET", `/api/v1/costs/${ORG}${READS[0]}`, undefined, { "X-API-Key": bqKey });
    const services = new Set((summary.json.rows as { service: string }[]).map((r) => r.service));
    for (const service of ["OpenAI API", "Claude API", "OpenAI API: images", "OpenAI API: vector storage"]) {
      assert.ok(services.has(service), `${service} in ${[...services].join(", ")}`);
    }
  } finally {
    await h.close();
    await twins.close();
    await openai.close();
    await anthropic.close();
  }
});
