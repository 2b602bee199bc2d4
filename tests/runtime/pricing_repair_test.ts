/**
 * Overlapping versions written by the old code (two racing POSTs, a double seed) are repaired at start-up where
 * that is unambiguous and reported (a warning naming org and item) otherwise; afterwards PUT works again.
 */
import assert from "node:assert/strict";
import { pipelines } from "../../generated/manifest.ts";
import { fullRow, pricesTable, subscriptionsTable } from "../../src/pricing/mod.ts";
import type { Row } from "../../src/warehouse/warehouse.ts";
import { repairPricingOverlaps } from "../../runtime/routes/pricing.ts";
import { startServer } from "../../runtime/server.ts";
import { type Harness, ROOT, startHarness } from "./_harness.ts";

const ORG = "legacy_org";
const PRICES = pricesTable(pipelines["setup/bootstrap"].tables.org_model_pricing);
const PLANS = subscriptionsTable(pipelines["setup/bootstrap"].tables.org_openai_subscriptions);

const price = (model_id: string, effective_from: string, effective_to: string | null, input: string, at: string) =>
  fullRow(
    PRICES,
    ORG,
    {
      provider: "openai",
      model_id,
      input_per_1m: input,
      output_per_1m: "1",
      currency: "USD",
      effective_from,
      effective_to,
    },
    "user",
    new Date(at),
  );
const plan = (effective_from: string, effective_to: string | null, quantity: number) =>
  fullRow(
    PLANS,
    ORG,
    {
      plan_name: "TIER1",
      quantity,
      unit_price_usd: "0",
      billing_period: "monthly",
      effective_from,
      effective_to,
    },
    "user",
    new Date("2025-01-01T00:00:00Z"),
  );

/** What the old code could leave behind: a race, a double seed, an ambiguous pair, and a plan race. */
async function injectOverlaps(h: Harness): Promise<void> {
  const rows: Row[] = [
    price("raced", "2025-01-01", null, "1", "2025-01-01T00:00:00Z"),
    price("raced", "2025-03-01", null, "2", "2025-03-01T00:00:00Z"),
    { ...price("seeded-twice", "2025-01-01", null, "5", "2025-01-01T00:00:00Z"), source: "seed" },
    { ...price("seeded-twice", "2025-01-01", null, "5", "2025-01-01T00:00:01Z"), source: "seed" },
    price("same-day", "2025-05-01", null, "1", "2025-05-01T00:00:00Z"),
    price("same-day", "2025-05-01", null, "9", "2025-05-01T00:00:00Z"),
    price("fine", "2025-01-01", "2025-02-01", "1", "2025-01-01T00:00:00Z"),
    price("fine", "2025-02-01", null, "2", "2025-01-01T00:00:00Z"),
  ];
  await h.deps.warehouse.insertRows("organizations", PRICES.schema, rows);
  await h.deps.warehouse.insertRows("organizations", PLANS.schema, [
    plan("2025-01-01", null, 1),
    plan("2025-06-01", null, 2),
  ]);
}

const priceRows = (wh: Harness["deps"]["warehouse"]) =>
  wh.query<{ model_id: string; effective_from: string; effective_to: string | null; input_per_1m: string }>(
    `SELECT model_id, effective_from, effective_to, input_per_1m FROM organizations.org_model_pricing
     WHERE org_slug = @org ORDER BY model_id, effective_from, input_per_1m`,
    { org: ORG },
  );

Deno.test("start-up repairs overlapping versions left by the old code and PUT works again", async () => {
  const h = await startHarness({ RATE_LIMIT_ENABLED: "false" });
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    await h.bootstrap();
    const key = await h.onboard(ORG, "SCALE");
    await injectOverlaps(h);
    const stuck = await h.request("PUT", `/api/v1/integrations/${ORG}/openai/pricing/raced`, {
      key,
      body: { notes: "x" },
    });
    assert.equal(stuck.status, 409, "before the repair every PUT of the model is refused");
    assert.equal(stuck.json.error.code, "PRICE_OVERLAP");
    await h.deps.warehouse.close();

    server = await startServer({
      DATA_DIR: h.dataDir,
      CA_ROOT_API_KEY: ROOT,
      PORT: "0",
      SCHEDULER_ENABLED: "false",
      RATE_LIMIT_ENABLED: "false",
      LOG_LEVEL: "error",
    });
    const rows = await priceRows(server.deps.warehouse);
    const of = (m: string) => rows.filter((r) => r.model_id === m).map((r) => [r.effective_from, r.effective_to]);
    assert.deepEqual(of("raced"), [["2025-01-01", "2025-03-01"], ["2025-03-01", null]], "older closed at newer");
    assert.deepEqual(of("seeded-twice"), [["2025-01-01", null]], "a double seed keeps one row");
    assert.deepEqual(of("same-day"), [["2025-05-01", null], ["2025-05-01", null]], "ambiguous: left as it is");
    assert.deepEqual(of("fine"), [["2025-01-01", "2025-02-01"], ["2025-02-01", null]]);
    const plans = await server.deps.warehouse.query(
      `SELECT effective_from, effective_to, quantity FROM organizations.org_openai_subscriptions
       WHERE org_slug = @org ORDER BY effective_from`,
      { org: ORG },
    );
    assert.deepEqual(plans.map((p) => [p.effective_from, p.effective_to]), [
      ["2025-01-01", "2025-06-01"],
      ["2025-06-01", null],
    ]);
    const put = await fetch(`${server.url}/api/v1/integrations/${ORG}/openai/pricing/raced`, {
      method: "PUT",
      headers: { "X-API-Key": key, "Content-Type": "application/json" },
      body: JSON.stringify({ notes: "repaired" }),
    });
    assert.equal(put.status, 200, await put.text());
  } finally {
    await server?.shutdown();
    await h.close();
  }
});

Deno.test("an overlap that cannot be repaired is reported with a warning naming org and model", async () => {
  const h = await startHarness({ RATE_LIMIT_ENABLED: "false" });
  try {
    await h.bootstrap();
    await h.onboard(ORG, "SCALE");
    await injectOverlaps(h);
    const [prices, plans] = await repairPricingOverlaps(h.deps);
    assert.deepEqual({ ...prices, unresolved: prices!.unresolved.length }, {
      items: 3,
      closed: 1,
      duplicates_removed: 1,
      unresolved: 1,
    });
    assert.deepEqual(prices!.unresolved, [{
      table: "org_model_pricing",
      org_slug: ORG,
      item: 'Model "same-day" of openai',
      reason: "2 different versions start on 2025-05-01",
    }]);
    assert.equal(plans!.closed, 1);
    const warning = h.logs.map((l) => JSON.parse(l)).find((l) => l.msg?.startsWith("overlapping versions left"));
    assert.ok(warning, h.logs.join("\n"));
    assert.equal(warning.org_slug, ORG);
    assert.equal(warning.item, 'Model "same-day" of openai');
    const again = await repairPricingOverlaps(h.deps);
    assert.deepEqual(again.map((r) => [r.items, r.closed, r.duplicates_removed]), [[1, 0, 0], [0, 0, 0]], "idempotent");
  } finally {
    await h.close();
  }
});
