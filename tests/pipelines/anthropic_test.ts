/**
 * anthropic/usage_cost end to end against the Anthropic stand-in, plus hand-checkable unit tests of the pricing.
 * Expected rows are computed here, independently, from the stand-in's exported helpers and the seed prices compiled
 * from configs/ (never from the processors' own helpers).
 */
import assert from "node:assert/strict";
import { pipeline as anthropicSetup } from "../../generated/pipelines/integrations/anthropic/setup.ts";
import type { PipelineModule } from "../../src/pipeline/module.ts";
import { type Harness, startHarness } from "../runtime/_harness.ts";
import {
  ANTHROPIC_STANDIN_KEY,
  anthropicCostLines,
  type AnthropicUsageRow,
  anthropicUsageRows,
  startAnthropicStandIn,
} from "../standins/anthropic.ts";
import { PriceBook } from "../../src/processors/_cost.ts";
import { priceAnthropicUsage } from "../../src/processors/anthropic/mod.ts";

const ORG = "anthropic_pipe_org";
const DATASET = `${ORG}_local`;
const RUN = `/api/v1/pipelines/run/${ORG}/anthropic/usage_cost`;

// ---- independent expectations ------------------------------------------------------------------------------------

/** A decimal string as a bigint count of 1e-9 (test-side parser; amounts here have at most 9 decimals). */
const nano = (v: unknown): bigint => {
  const [w = "0", f = ""] = String(v).split(".");
  return BigInt(w + f.padEnd(9, "0").slice(0, 9));
};
const days = (from: string, to: string) => {
  const out: string[] = [];
  for (let t = Date.parse(from); t <= Date.parse(to); t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
};
type PriceRow = Record<string, unknown>;
const seedPrices = (anthropicSetup as PipelineModule).steps.find((s) => s.seed?.table === "org_model_pricing")!.seed!
  .rows as PriceRow[];
const RATES = [
  "input_per_1m",
  "cached_input_per_1m",
  "cache_write_5m_per_1m",
  "cache_write_1h_per_1m",
  "output_per_1m",
];

/** The price in force: exact id, then the id without its `-YYYYMMDD` suffix. */
function expectedPrice(model: string, day: string, rows: PriceRow[]): PriceRow | undefined {
  for (const id of [model, model.replace(/-\d{8}$/, "")]) {
    const hit = rows.find((p) =>
      p.model_id === id && String(p.effective_from) <= day && (p.effective_to == null || day < String(p.effective_to))
    );
    if (hit) return hit;
  }
  return undefined;
}

/** Each token class at its own rate, / 1e6, rounded half up to 1e-9. */
function expectedCost(u: AnthropicUsageRow, p: PriceRow): bigint {
  const tokens = [
    u.uncached_input_tokens,
    u.cache_read_input_tokens,
    u.cache_creation.ephemeral_5m_input_tokens,
    u.cache_creation.ephemeral_1h_input_tokens,
    u.output_tokens,
  ];
  const femto = tokens.reduce((a, n, i) => a + BigInt(n) * nano(p[RATES[i]!]), 0n);
  return (femto + 500_000n) / 1_000_000n;
}

const key = (...parts: unknown[]) => JSON.stringify(parts);
const TABLES = ["anthropic_usage_daily_raw", "anthropic_cost_report_daily_raw", "anthropic_cost_daily"];
const inRange = "WHERE usage_date BETWEEN CAST(@from AS DATE) AND CAST(@to AS DATE)";
const table = (h: Harness, name: string, from = "1900-01-01", to = "2999-12-31") =>
  h.deps.warehouse.query(`SELECT * FROM ${DATASET}.${name} ${inRange} ORDER BY usage_date, model, workspace_id`, {
    from,
    to,
  });

/** Checks the three tables for `[from, to]` against the stand-in and `prices`. */
async function assertTablesMatch(h: Harness, from: string, to: string, prices: PriceRow[] = seedPrices) {
  const usage = await table(h, "anthropic_usage_daily_raw", from, to);
  const report = await table(h, "anthropic_cost_report_daily_raw", from, to);
  const priced = await table(h, "anthropic_cost_daily", from, to);
  const expected = days(from, to).flatMap((d) => anthropicUsageRows("", d).map((u) => ({ day: d, u })));
  assert.equal(usage.length, expected.length, "one usage row per day, model, workspace, key and tier");
  assert.equal(priced.length, expected.length, "one cost row per day, model, workspace and tier");
  const usageBy = new Map(usage.map((r) => [key(r.usage_date, r.model, r.workspace_id), r]));
  const pricedBy = new Map(priced.map((r) => [key(r.usage_date, r.model, r.workspace_id), r]));
  let lines = 0;
  for (const { day, u } of expected) {
    const raw = usageBy.get(key(day, u.model, u.workspace_id))!;
    assert.ok(raw, `usage row ${day} ${u.model} ${u.workspace_id}`);
    assert.equal(Number(raw.uncached_input_tokens), u.uncached_input_tokens);
    assert.equal(Number(raw.cache_creation_5m_tokens), u.cache_creation.ephemeral_5m_input_tokens);
    assert.equal(Number(raw.cache_creation_1h_tokens), u.cache_creation.ephemeral_1h_input_tokens);
    assert.equal(Number(raw.cache_read_input_tokens), u.cache_read_input_tokens);
    assert.equal(Number(raw.output_tokens), u.output_tokens);
    assert.equal(raw.api_key_id, u.api_key_id);
    const row = pricedBy.get(key(day, u.model, u.workspace_id))!;
    const writes = u.cache_creation.ephemeral_5m_input_tokens + u.cache_creation.ephemeral_1h_input_tokens;
    assert.equal(Number(row.input_tokens), u.uncached_input_tokens + u.cache_read_input_tokens + writes);
    assert.equal(Number(row.cache_write_tokens), writes);
    const costLines = anthropicCostLines(u);
    lines += costLines.length;
    // Only the token lines are the token row's billed amount; web search lines are priced and billed on their own.
    const tokenLines = costLines.filter((l) => l.cost_type === "tokens");
    const billedUnits = tokenLines.reduce((a, l) => a + l.units, 0n); // 1e-6 cents = 1e-8 dollars
    assert.equal(nano(row.billed_cost ?? "0"), billedUnits * 10n, `billed ${day} ${u.model}`);
    const price = expectedPrice(u.model!, day, prices);
    if (!price) {
      assert.equal(row.pricing_status, "UNPRICED");
      assert.equal(row.list_cost, null);
      continue;
    }
    assert.equal(row.pricing_status, "PRICED");
    assert.equal(row.price_effective_from, price.effective_from);
    assert.equal(nano(row.cache_write_1h_price_per_1m), nano(price.cache_write_1h_per_1m));
    assert.equal(nano(row.list_cost), expectedCost(u, price), `${day} ${u.model} ${u.workspace_id} list cost`);
    // The stand-in bills tokens at the seeded list prices: the token row's billed amount is its list cost.
    if (price.effective_from === seedPrices.find((s) => s.model_id === price.model_id)?.effective_from) {
      assert.equal(nano(row.billed_cost), nano(row.list_cost), "billed reconciles");
    }
  }
  assert.equal(report.length, lines, "one cost report row per day and cost line");
  for (const r of report) {
    assert.equal(nano(r.amount_usd) * 100n, nano(r.amount_cents), "amount_usd = amount_cents / 100, exactly");
    assert.equal(r.currency, "USD");
  }
}

const run = (h: Harness, apiKey: string, body: Record<string, string>, wait = true) =>
  h.request("POST", `${RUN}${wait ? "?wait=true" : ""}`, { key: apiKey, body });

// ---- unit tests --------------------------------------------------------------------------------------------------

const sonnet = {
  model_id: "claude-sonnet-4",
  input_per_1m: "3.00",
  cached_input_per_1m: "0.30",
  cache_write_5m_per_1m: "3.75" as string | null,
  cache_write_1h_per_1m: "6.00" as string | null,
  output_per_1m: "15.00",
  currency: "USD",
  effective_from: "2025-05-22",
  effective_to: null,
};
const usage = (tier: string, workspace: string | null = null) => ({
  usage_date: "2025-06-01",
  model: "claude-sonnet-4-20250514",
  workspace_id: workspace,
  service_tier: tier,
  uncached_input_tokens: 1_000_000,
  cache_read_input_tokens: 1_000_000,
  cache_creation_5m_tokens: 1_000_000,
  cache_creation_1h_tokens: 1_000_000,
  output_tokens: 1_000_000,
});
const meta = { runId: "r", pricedAt: "2025-06-02T00:00:00.000Z" };

Deno.test("priceAnthropicUsage() charges uncached, cache reads, 5m and 1h writes and output each at its rate", () => {
  const billed = [
    {
      usage_date: "2025-06-01",
      model: "claude-sonnet-4-20250514",
      workspace_id: null,
      service_tier: "standard",
      amount_usd: "28",
      currency: "USD",
    },
    {
      usage_date: "2025-06-01",
      model: "claude-sonnet-4-20250514",
      workspace_id: null,
      service_tier: "standard",
      amount_usd: "0.05",
      currency: "USD",
    },
  ];
  // 1M each: 3.00 + 0.30 + 3.75 + 6.00 + 15.00 = 28.05; the batch tier pays half.
  const rows = priceAnthropicUsage(
    [usage("standard"), usage("batch"), usage("standard", "wrkspc_x")],
    new PriceBook([sonnet]),
    billed,
    meta,
  );
  assert.deepEqual(rows.map((r) => r.list_cost), ["28.050000000", "14.025000000", "28.050000000"]);
  assert.deepEqual(rows.map((r) => r.billed_cost), ["28.050000000", null, null]);
  assert.equal(rows[0]!.input_tokens, 4_000_000);
  assert.equal(rows[0]!.total_tokens, 5_000_000);
  assert.equal(rows[1]!.cache_write_1h_price_per_1m, "3.000000000");
});

Deno.test("priceAnthropicUsage() falls back to 1.25x / 2x input for missing cache-write rates; no price is UNPRICED", () => {
  const book = new PriceBook([{ ...sonnet, cache_write_5m_per_1m: null, cache_write_1h_per_1m: null }]);
  const [row] = priceAnthropicUsage([usage("standard")], book, [], meta);
  assert.equal(row!.list_cost, "28.050000000");
  const [none] = priceAnthropicUsage([{ ...usage("standard"), model: "claude-unknown-20250101" }], book, [], meta);
  assert.equal(none!.pricing_status, "UNPRICED");
  assert.equal(none!.list_cost, null);
  assert.equal(none!.cost, null);
});

// ---- end to end --------------------------------------------------------------------------------------------------

Deno.test("anthropic/usage_cost end to end against the stand-in", async (t) => {
  const standIn = startAnthropicStandIn();
  const h = await startHarness({ ANTHROPIC_BASE_URL: standIn.url, RATE_LIMIT_ENABLED: "false" });
  try {
    await h.bootstrap();
    const apiKey = await h.onboard(ORG, "SCALE");

    await t.step("a run without the integration set up is refused with 422", async () => {
      const r = await run(h, apiKey, { start_date: "2025-06-01" });
      assert.equal(r.status, 422, r.text);
    });

    await t.step("the integration is set up through the API", async () => {
      const r = await h.request("POST", `/api/v1/integrations/${ORG}/anthropic/setup`, {
        key: apiKey,
        body: { credential: ANTHROPIC_STANDIN_KEY },
      });
      assert.equal(r.status, 200, r.text);
    });

    await t.step("a run completes: usage, cost report in dollars and priced cache reads/writes match", async () => {
      const r = await run(h, apiKey, { start_date: "2025-06-01", end_date: "2025-06-03" });
      assert.equal(r.json.status, "COMPLETED", r.json.error);
      await assertTablesMatch(h, "2025-06-01", "2025-06-03");
      const [line] = await h.deps.warehouse.query<{ amount_cents: string; amount_usd: string }>(
        `SELECT amount_cents, amount_usd FROM ${DATASET}.anthropic_cost_report_daily_raw LIMIT 1`,
      );
      assert.equal(nano(line!.amount_usd) * 100n, nano(line!.amount_cents));
      const calls = standIn.requests.filter((q) => q.path.endsWith("/cost_report"));
      assert.deepEqual(new URLSearchParams(calls.at(-1)!.query).getAll("group_by[]"), ["workspace_id", "description"]);
      const usageCall = new URLSearchParams(standIn.requests.filter((q) => q.path.endsWith("/messages")).at(-1)!.query);
      assert.equal(usageCall.get("starting_at"), "2025-06-01T00:00:00Z");
      assert.equal(usageCall.get("ending_at"), "2025-06-04T00:00:00Z");
    });

    await t.step("re-running the same dates gives the same rows, no duplicates", async () => {
      const counts = async () => (await Promise.all(TABLES.map((n) => table(h, n)))).map((x) => x.length);
      const before = await counts();
      assert.equal(
        (await run(h, apiKey, { start_date: "2025-06-01", end_date: "2025-06-03" })).json.status,
        "COMPLETED",
      );
      assert.deepEqual(await counts(), before);
    });

    await t.step("another day leaves the others untouched; models without a price that day are UNPRICED", async () => {
      const before = await table(h, "anthropic_cost_daily", "2025-06-01", "2025-06-03");
      assert.equal((await run(h, apiKey, { start_date: "2025-05-01" })).json.status, "COMPLETED");
      assert.deepEqual(await table(h, "anthropic_cost_daily", "2025-06-01", "2025-06-03"), before);
      await assertTablesMatch(h, "2025-05-01", "2025-05-01");
      const may = await table(h, "anthropic_cost_daily", "2025-05-01", "2025-05-01");
      assert.ok(may.some((r) => r.pricing_status === "UNPRICED"), "claude-sonnet-4 is priced from 2025-05-22 only");
      assert.ok(may.some((r) => r.pricing_status === "PRICED"));
    });

    await t.step("pagination: a 35-day run follows next_page on both endpoints", async () => {
      const n = standIn.requests.length;
      assert.equal(
        (await run(h, apiKey, { start_date: "2025-07-01", end_date: "2025-08-04" })).json.status,
        "COMPLETED",
      );
      const calls = standIn.requests.slice(n);
      assert.equal(calls.filter((q) => q.path.endsWith("/messages")).length, 2);
      assert.equal(calls.filter((q) => q.path.endsWith("/cost_report")).length, 2);
      await assertTablesMatch(h, "2025-07-01", "2025-08-04");
    });

    await t.step("a price change mid-range prices each day at the price in force that day", async () => {
      const body = { ...sonnet, model_id: "claude-sonnet-4", input_per_1m: "4.00", effective_from: "2025-06-02" };
      const { effective_to: _, currency: __, ...create } = body;
      const add = await h.request("POST", `/api/v1/integrations/${ORG}/anthropic/pricing`, {
        key: apiKey,
        body: create,
      });
      assert.equal(add.status, 201, add.text);
      assert.equal(
        (await run(h, apiKey, { start_date: "2025-06-01", end_date: "2025-06-03" })).json.status,
        "COMPLETED",
      );
      const prices = [
        { ...body, effective_to: null },
        ...seedPrices.map((p) => p.model_id === "claude-sonnet-4" ? { ...p, effective_to: "2025-06-02" } : p),
      ];
      await assertTablesMatch(h, "2025-06-01", "2025-06-03", prices);
      const rows = (await table(h, "anthropic_cost_daily", "2025-06-01", "2025-06-03"))
        .filter((r) => String(r.model).startsWith("claude-sonnet-4"));
      assert.deepEqual([...new Set(rows.map((r) => `${r.usage_date} ${r.input_price_per_1m}`))].sort(), [
        "2025-06-01 3.000000000",
        "2025-06-02 4.000000000",
        "2025-06-03 4.000000000",
      ]);
    });

    await t.step("provider down: the run fails naming provider and endpoint, and nothing is written", async () => {
      const all = () => Promise.all(TABLES.map((n) => table(h, n)));
      const before = await all();
      standIn.faults.fail5xx = 1000;
      try {
        const r = await run(h, apiKey, { start_date: "2025-06-03", end_date: "2025-06-04" });
        assert.equal(r.json.status, "FAILED");
        assert.match(r.json.error, /Anthropic GET \/v1\/organizations\/usage_report\/messages failed: 50\d/);
      } finally {
        standIn.faults.fail5xx = 0;
      }
      assert.deepEqual(await all(), before, "2025-06-03 intact and nothing for 2025-06-04");
    });

    await t.step("a second run while one is running gets 409", async () => {
      standIn.faults.delayMs = 400;
      try {
        const first = await run(h, apiKey, { start_date: "2025-06-05" }, false);
        assert.equal(first.status, 202, first.text);
        assert.equal((await run(h, apiKey, { start_date: "2025-06-06" })).status, 409);
        let status = "PENDING";
        for (let i = 0; i < 100 && (status === "PENDING" || status === "RUNNING"); i++) {
          await new Promise((res) => setTimeout(res, 100));
          status =
            (await h.request("GET", `/api/v1/pipelines/runs/${ORG}/${first.json.run_id}`, { key: apiKey })).json.status;
        }
        assert.equal(status, "COMPLETED");
      } finally {
        standIn.faults.delayMs = 0;
      }
      assert.ok(h.logs.every((l) => !l.includes(ANTHROPIC_STANDIN_KEY)), "no log line carries the admin key");
    });
  } finally {
    await h.close();
    await standIn.close();
  }
});
