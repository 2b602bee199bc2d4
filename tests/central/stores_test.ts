/** The central stores' methods that no route or pipeline test reaches directly, on an in-memory DuckDB. */
import assert from "node:assert/strict";
import { pipelines } from "../../generated/manifest.ts";
import { CostStore } from "../../src/central/costs.ts";
import { PriceStore } from "../../src/central/prices.ts";
import { QueueStore } from "../../src/central/queue.ts";
import { CENTRAL_DATASET } from "../../src/central/tables.ts";
import { openDuckDB } from "../../src/warehouse/duckdb.ts";
import type { Warehouse } from "../../src/warehouse/warehouse.ts";

const TABLES = pipelines["setup/bootstrap"].tables;

async function withCentral(fn: (wh: Warehouse) => Promise<void>): Promise<void> {
  const wh = await openDuckDB(":memory:");
  try {
    await wh.ensureDataset(CENTRAL_DATASET);
    for (const t of [TABLES.org_pipeline_execution_queue, TABLES.org_scheduled_pipeline_runs]) {
      await wh.ensureTable(CENTRAL_DATASET, t);
    }
    await wh.ensureTable(CENTRAL_DATASET, TABLES.org_openai_subscriptions);
    await fn(wh);
  } finally {
    await wh.close();
  }
}

const candidate = (org: string, day: string) => ({
  org_slug: org,
  pipeline_path: "openai/usage_cost",
  pipeline_id: "openai_usage_cost",
  schedule: "daily",
  logical_date: day,
  params: { start_date: day, end_date: day },
});

Deno.test("QueueStore.nextDue answers null on an empty queue and the earliest not_before once items are queued", async () => {
  await withCentral(async (wh) => {
    const queue = new QueueStore(wh, TABLES);
    assert.equal(await queue.nextDue(), null);
    const at = new Date("2025-03-02T04:05:06.000Z");
    assert.equal(await queue.enqueue([candidate("acme", "2025-03-01")], "scheduler", 3, at), 1);
    assert.equal(
      await queue.enqueue([candidate("beta", "2025-03-01")], "scheduler", 3, new Date(at.getTime() + 60_000)),
      1,
    );
    assert.equal((await queue.nextDue())?.toISOString(), at.toISOString());
  });
});

Deno.test("QueueStore.claim takes items for the worker it names and release hands them back without an attempt", async () => {
  await withCentral(async (wh) => {
    const queue = new QueueStore(wh, TABLES);
    const now = new Date("2025-03-02T04:00:00.000Z");
    await queue.enqueue([candidate("acme", "2025-03-01"), candidate("beta", "2025-03-01")], "scheduler", 3, now);
    const claimed = await queue.claim("worker-a", 5, now, 60_000);
    assert.equal(claimed.length, 2);
    assert.ok(claimed.every((i) => i.attempts === 1));
    assert.deepEqual(await queue.claim("worker-b", 5, now, 60_000), [], "nothing is left for another worker");
    await queue.release("worker-b", claimed, now);
    assert.equal((await queue.progress({}, now)).CLAIMED, 2, "another worker cannot release them");
    await queue.release("worker-a", claimed, now);
    assert.deepEqual(await queue.progress({}, now), { QUEUED: 2 });
  });
});

Deno.test("PriceStore.plansInForce returns only the org's plan versions that overlap the days asked for", async () => {
  await withCentral(async (wh) => {
    const store = new PriceStore(wh, TABLES);
    const now = new Date("2025-01-01T00:00:00Z");
    const plan = (name: string, from: string, to: string | null) => ({
      plan_name: name,
      quantity: 2,
      unit_price_usd: "20",
      billing_period: "monthly",
      effective_from: from,
      effective_to: to,
    });
    await store.addVersion(
      store.subscriptions,
      "acme",
      { plan_name: "TEAM" },
      plan("TEAM", "2025-01-01", "2025-02-01"),
      now,
    );
    await store.addVersion(store.subscriptions, "acme", { plan_name: "PLUS" }, plan("PLUS", "2025-02-15", null), now);
    await store.addVersion(store.subscriptions, "beta", { plan_name: "TEAM" }, plan("TEAM", "2025-01-01", null), now);
    const feb = await store.plansInForce("acme", { from: "2025-02-01", to: "2025-02-28" });
    assert.deepEqual(
      feb.map((p) => p.plan_name),
      ["PLUS"],
      "TEAM ended on Feb 1 (exclusive); beta's plan is not acme's",
    );
    const jan = await store.plansInForce("acme", { from: "2025-01-01", to: "2025-01-31" });
    assert.deepEqual(jan.map((p) => p.plan_name), ["TEAM"]);
  });
});

Deno.test("CostStore.readDays and deepseekSpend answer nothing for an org table that does not exist yet", async () => {
  await withCentral(async (wh) => {
    await wh.ensureDataset("acme_prod");
    const costs = new CostStore(wh);
    const range = { from: "2025-01-01", to: "2025-01-31" };
    assert.deepEqual(await costs.readDays("acme_prod", "openai_usage_daily_raw", "usage_date", range), []);
    assert.equal(await costs.deepseekSpend("acme_prod", "deepseek_balance_daily", range), null);
  });
});
