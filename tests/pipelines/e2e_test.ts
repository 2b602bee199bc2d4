/** Cross-cutting end-to-end checks over HTTP: flaky providers, tenant isolation of costs, where credentials go. */
import assert from "node:assert/strict";
import { startHarness } from "../runtime/_harness.ts";
import { startOpenAIStandIn } from "../standins/openai.ts";
import { ANTHROPIC_STANDIN_KEY, startAnthropicStandIn } from "../standins/anthropic.ts";

const KEY_A = "sk-admin-tenant-a-000000000000000001";
const KEY_B = "sk-admin-tenant-b-000000000000000002";
const RANGE = { start_date: "2025-10-01", end_date: "2025-10-05" };

Deno.test("pipelines end to end: flaky providers, costs per tenant, credentials only to their own provider", async (t) => {
  const openai = startOpenAIStandIn({ keys: { [KEY_A]: { seed: "a" }, [KEY_B]: { seed: "b" } } });
  const anthropic = startAnthropicStandIn();
  // A server on another port that would receive any credential sent to the wrong host.
  const decoy: Request[] = [];
  const decoyServer = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    decoy.push(req);
    return new Response("{}");
  });
  const h = await startHarness({
    OPENAI_BASE_URL: openai.baseUrl,
    ANTHROPIC_BASE_URL: anthropic.url,
    RATE_LIMIT_ENABLED: "false",
  });
  try {
    await h.bootstrap();
    const a = await h.onboard("tenant_a", "SCALE");
    const b = await h.onboard("tenant_b", "SCALE");
    for (const [org, key, cred] of [["tenant_a", a, KEY_A], ["tenant_b", b, KEY_B]] as const) {
      const r = await h.request("POST", `/api/v1/integrations/${org}/openai/setup`, {
        key,
        body: { credential: cred },
      });
      assert.equal(r.status, 200, r.text);
    }
    assert.equal(
      (await h.request("POST", "/api/v1/integrations/tenant_a/anthropic/setup", {
        key: a,
        body: { credential: ANTHROPIC_STANDIN_KEY },
      })).status,
      200,
    );

    await t.step("a flaky provider (429 with Retry-After, then 503) still completes", async () => {
      openai.faults.rateLimit = 1;
      openai.faults.retryAfter = "1";
      openai.faults.fail5xx = 1;
      const t0 = Date.now();
      const r = await h.request("POST", "/api/v1/pipelines/run/tenant_a/openai/usage_cost?wait=true", {
        key: a,
        body: RANGE,
      });
      assert.equal(r.json.status, "COMPLETED", r.text);
      assert.ok(Date.now() - t0 >= 1000, "Retry-After was honoured");
      assert.ok(
        openai.requests.some((q) => q.fault === "429") && openai.requests.some((q) => q.fault === "5xx"),
        "both faults were served",
      );
    });
    await t.step("org B's costs never include org A's rows", async () => {
      const rb = await h.request("POST", "/api/v1/pipelines/run/tenant_b/openai/usage_cost?wait=true", {
        key: b,
        body: RANGE,
      });
      assert.equal(rb.json.status, "COMPLETED", rb.text);
      const ra = await h.request("POST", "/api/v1/pipelines/run/tenant_a/anthropic/usage_cost?wait=true", {
        key: a,
        body: RANGE,
      });
      assert.equal(ra.json.status, "COMPLETED", ra.text);
      const q = `start=${RANGE.start_date}&end=${RANGE.end_date}&group_by=provider`;
      const costsA = await h.request("GET", `/api/v1/costs/tenant_a?${q}`, { key: a });
      const costsB = await h.request("GET", `/api/v1/costs/tenant_b?${q}`, { key: b });
      assert.equal(costsA.status, 200, costsA.text);
      assert.deepEqual(
        costsB.json.rows.map((r: { provider: string }) => r.provider),
        ["openai"],
        "B has no anthropic integration",
      );
      // B's total equals the sum of B's own cost rows (token-priced and unit-priced), read straight from B's dataset.
      const [own] = await h.deps.warehouse.query<{ s: string }>(
        `SELECT CAST(SUM(cost) AS VARCHAR) AS s FROM (
           SELECT cost FROM tenant_b_local.openai_cost_daily WHERE usage_date BETWEEN CAST(@f AS DATE) AND CAST(@t AS DATE)
           UNION ALL
           SELECT cost FROM tenant_b_local.openai_unit_cost_daily WHERE usage_date BETWEEN CAST(@f AS DATE) AND CAST(@t AS DATE))`,
        { f: RANGE.start_date, t: RANGE.end_date },
      );
      assert.equal(Number(costsB.json.total_cost), Number(own!.s));
      const openaiA = costsA.json.rows.find((r: { provider: string }) => r.provider === "openai");
      assert.notEqual(openaiA.cost, costsB.json.rows[0].cost, "different seeds give different costs");
      assert.equal((await h.request("GET", `/api/v1/costs/tenant_a?${q}`, { key: b })).status, 403);
    });
    await t.step("openai/subscriptions with no month runs for the current month", async () => {
      const r = await h.request("POST", "/api/v1/pipelines/run/tenant_a/openai/subscriptions?wait=true", {
        key: a,
        body: {},
      });
      assert.equal(r.json.status, "COMPLETED", r.text);
      const bad = await h.request("POST", "/api/v1/pipelines/run/tenant_a/openai/subscriptions", {
        key: a,
        body: { month: "2025-13" },
      });
      assert.equal(bad.status, 400);
    });
    await t.step("a credential is only ever sent to its own provider's base URL", () => {
      assert.equal(decoy.length, 0);
      for (const q of openai.requests) {
        const auth = q.headers["authorization"] ?? "";
        assert.ok(auth === `Bearer ${KEY_A}` || auth === `Bearer ${KEY_B}`, `OpenAI got ${auth.slice(0, 20)}`);
        assert.ok(!JSON.stringify(q).includes(ANTHROPIC_STANDIN_KEY));
      }
      for (const q of anthropic.requests) {
        assert.equal(q.headers["x-api-key"], ANTHROPIC_STANDIN_KEY);
        assert.ok(!JSON.stringify(q).includes(KEY_A) && !JSON.stringify(q).includes(KEY_B));
      }
    });
  } finally {
    await h.close();
    await Promise.all([openai.close(), anthropic.close(), decoyServer.shutdown()]);
  }
});
