/**
 * openai/usage_cost and openai/subscriptions end to end against the OpenAI stand-in, plus hand-checkable unit tests
 * of the pricing. Expected rows are computed here, independently, from the stand-in's exported helpers and the
 * seed prices compiled from configs/ (never from the processors' own helpers).
 */
import assert from "node:assert/strict";
import { pipeline as openaiSetup } from "../../generated/pipelines/integrations/openai/setup.ts";
import { pipeline as usageCost } from "../../generated/pipelines/openai/usage_cost.ts";
import type { PipelineModule } from "../../src/pipeline/module.ts";
import { type Harness, startHarness } from "../runtime/_harness.ts";
import {
  OPENAI_STANDIN_KEY,
  openAICostLines,
  type OpenAIUsageRow,
  openAIUsageRows,
  startOpenAIStandIn,
} from "../standins/openai.ts";
import { PriceBook } from "../../src/processors/_cost.ts";
import { monthlyFee, priceOpenAIUsage } from "../../src/processors/openai/mod.ts";
import { openaiSubscriptionsProcessor } from "../../src/processors/openai/subscriptions.ts";
import { openaiUsageProcessor } from "../../src/processors/openai/usage.ts";
import type { ProcessorContext } from "../../src/processors/context.ts";

/** Step statuses when the first step (extract_usage) fails: every later step is skipped. */
const FIRST_FAILED = usageCost.steps.map((_, i) => (i === 0 ? "FAILED" : "SKIPPED"));

const ORG = "openai_pipe_org";
const DATASET = `${ORG}_local`;
const RUN = `/api/v1/pipelines/run/${ORG}/openai/usage_cost`;

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
/** The seed rows of a table in the compiled integrations/openai/setup pipeline (from configs/). */
const seedOf = (table: string) =>
  (openaiSetup as PipelineModule).steps.find((s) => s.seed?.table === table)!.seed!.rows as PriceRow[];
const seedPrices = seedOf("org_model_pricing");

/** The price in force: exact id, then the id without its `-YYYY-MM-DD` suffix. */
function expectedPrice(model: string, day: string, prices: PriceRow[]): PriceRow | undefined {
  for (const id of [model, model.replace(/-\d{4}-\d{2}-\d{2}$/, "")]) {
    const hit = prices.find((p) =>
      p.model_id === id && String(p.effective_from) <= day && (p.effective_to == null || day < String(p.effective_to))
    );
    if (hit) return hit;
  }
  return undefined;
}

/** tokens x price / 1e6, uncached input, cached input (input rate when none) and output each at its rate. */
function expectedCost(u: OpenAIUsageRow, p: PriceRow): bigint {
  const femto = BigInt(u.input_tokens - u.input_cached_tokens) * nano(p.input_per_1m) +
    BigInt(u.input_cached_tokens) * nano(p.cached_input_per_1m ?? p.input_per_1m) +
    BigInt(u.output_tokens) * nano(p.output_per_1m);
  return (femto + 500_000n) / 1_000_000n; // half up to 1e-9
}

const standInDay = (day: string) => openAIUsageRows("", Date.parse(day) / 1000);
const key = (...parts: unknown[]) => JSON.stringify(parts);

const TABLES = ["openai_usage_daily_raw", "openai_costs_daily_raw", "openai_cost_daily"];
async function table(h: Harness, name: string, from = "1900-01-01", to = "2999-12-31") {
  const order = name === "openai_costs_daily_raw" ? "line_item, project_id" : "model, project_id";
  return await h.deps.warehouse.query(
    `SELECT * FROM ${DATASET}.${name} WHERE usage_date BETWEEN CAST(@from AS DATE) AND CAST(@to AS DATE)
     ORDER BY usage_date, ${order}`,
    { from, to },
  );
}
const snapshot = (h: Harness) => Promise.all(TABLES.map((n) => table(h, n)));

/** Checks all three tables for `[from, to]` against the stand-in and the prices. */
async function assertTablesMatch(h: Harness, from: string, to: string, prices = seedPrices) {
  const usage = await table(h, "openai_usage_daily_raw", from, to);
  // Token lines; the stand-in's metered lines (images, audio, storage, tool calls) are checked in unit_cost_test.ts.
  const costs = (await table(h, "openai_costs_daily_raw", from, to)).filter((c) => c.quantity_unit === "tokens");
  const priced = await table(h, "openai_cost_daily", from, to);
  const expected = days(from, to).flatMap((d) => standInDay(d).map((u) => ({ day: d, u })));
  assert.equal(usage.length, expected.length, "one usage row per day, model and project");
  assert.equal(priced.length, expected.length, "one cost row per usage row");
  const usageBy = new Map(usage.map((r) => [key(r.usage_date, r.model, r.project_id), r]));
  const pricedBy = new Map(priced.map((r) => [key(r.usage_date, r.model, r.project_id), r]));
  const billedLines = new Map<string, bigint>();
  let expectedList = 0n;
  for (const { day, u } of expected) {
    const raw = usageBy.get(key(day, u.model, u.project_id))!;
    assert.ok(raw, `usage row ${day} ${u.model} ${u.project_id}`);
    for (const f of ["input_tokens", "input_cached_tokens", "output_tokens", "num_model_requests"] as const) {
      assert.equal(Number(raw[f]), u[f], f);
    }
    assert.equal(raw.batch, false);
    const row = pricedBy.get(key(day, u.model, u.project_id))!;
    assert.equal(Number(row.uncached_input_tokens), u.input_tokens - u.input_cached_tokens);
    assert.equal(Number(row.cached_input_tokens), u.input_cached_tokens);
    const lines = openAICostLines(u);
    const billed = lines.reduce((a, l) => a + l.units, 0n) / 1000n; // 1e-12 -> 1e-9 (exact: 8 decimals at most)
    assert.equal(nano(row.billed_cost), billed, `billed ${day} ${u.model}`);
    for (const l of lines) {
      const k = key(day, l.line_item, l.project_id);
      billedLines.set(k, (billedLines.get(k) ?? 0n) + l.units / 1000n);
    }
    const price = expectedPrice(u.model!, day, prices);
    if (!price) {
      assert.equal(row.pricing_status, "UNPRICED", `${u.model} has no seed price`);
      assert.equal(row.list_cost, null);
      assert.equal(row.cost, null);
      continue;
    }
    assert.equal(row.pricing_status, "PRICED");
    assert.equal(nano(row.input_price_per_1m), nano(price.input_per_1m), `${day} ${u.model} input price`);
    assert.equal(row.price_effective_from, price.effective_from);
    assert.equal(nano(row.list_cost), expectedCost(u, price), `${day} ${u.model} ${u.project_id} list cost`);
    assert.equal(row.cost, row.list_cost);
    expectedList += expectedCost(u, price);
  }
  const total = priced.reduce((a, r) => a + (r.list_cost === null ? 0n : nano(r.list_cost)), 0n);
  assert.equal(total, expectedList, "total list cost");
  assert.equal(costs.length, billedLines.size, "one costs row per day, line item and project");
  for (const c of costs) assert.equal(nano(c.amount), billedLines.get(key(c.usage_date, c.line_item, c.project_id)));
  assert.ok(costs.every((c) => c.currency === "USD"));
}

const run = (h: Harness, apiKey: string, body: Record<string, string>, wait = true) =>
  h.request("POST", `${RUN}${wait ? "?wait=true" : ""}`, { key: apiKey, body });

// ---- unit tests --------------------------------------------------------------------------------------------------

type Rates = [input: string, cached: string | null, output: string];
const price = (model_id: string, [input, cached, output]: Rates, from = "2025-01-01", to: string | null = null) => ({
  model_id,
  input_per_1m: input,
  cached_input_per_1m: cached,
  cache_write_5m_per_1m: null,
  cache_write_1h_per_1m: null,
  output_per_1m: output,
  currency: "USD",
  effective_from: from,
  effective_to: to,
});
const usageRow = (model: string, [input, cached, output]: number[], day = "2025-03-01", batch = false) => ({
  usage_date: day,
  model,
  project_id: "proj_a",
  batch,
  input_tokens: input,
  input_cached_tokens: cached,
  output_tokens: output,
  num_model_requests: 1,
});
const line = (day: string, item: string, amount: string) => ({
  usage_date: day,
  line_item: `gpt-4o-2024-08-06, ${item}`,
  project_id: "proj_a",
  amount,
  currency: "USD",
});
const meta = { runId: "r", pricedAt: "2025-03-02T00:00:00.000Z" };
const SNAPSHOT = "gpt-4o-2024-08-06";

Deno.test("priceOpenAIUsage() charges cached input at the cached rate only, never also as input", () => {
  const book = new PriceBook([price("gpt-4o", ["2.50", "1.25", "10.00"])]);
  // 1M input of which 400k cached: 600k x 2.50 + 400k x 1.25 + 100k x 10.00 = 1.50 + 0.50 + 1.00
  const [row] = priceOpenAIUsage([usageRow(SNAPSHOT, [1_000_000, 400_000, 100_000])], book, [], meta);
  assert.equal(row!.list_cost, "3.000000000");
  assert.equal(row!.uncached_input_tokens, 600_000);
  assert.equal(row!.total_tokens, 1_100_000);
  assert.equal(row!.cached_input_price_per_1m, "1.250000000");
});

Deno.test("priceOpenAIUsage() prices each day at its version, prefers an exact snapshot id, rounds half up", () => {
  const book = new PriceBook([
    price("gpt-4o", ["2.00", null, "8.00"], "2025-01-01", "2025-03-02"),
    price("gpt-4o", ["4.00", null, "16.00"], "2025-03-02"),
    price("gpt-4o-2024-05-13", ["5.00", null, "15.00"]),
    price("tiny", ["0.000001", null, "0"]),
  ]);
  const usage = [
    usageRow(SNAPSHOT, [1_000_000, 0, 0], "2025-03-01"),
    usageRow(SNAPSHOT, [1_000_000, 500_000, 0], "2025-03-02"), // no cached rate: all at the input rate
    usageRow("gpt-4o-2024-05-13", [1_000_000, 0, 0], "2025-03-02"),
    usageRow("tiny", [500, 0, 0]), // 500 x 0.000001 / 1e6 = 5e-10 -> 0.000000001
    usageRow("unknown-model", [10, 0, 10]),
  ];
  const rows = priceOpenAIUsage(usage, book, [], meta);
  assert.deepEqual(rows.map((r) => r.list_cost), ["2.000000000", "4.000000000", "5.000000000", "0.000000001", null]);
  const from = rows.map((r) => r.price_effective_from);
  assert.deepEqual(from, ["2025-01-01", "2025-03-02", "2025-01-01", "2025-01-01", null]);
  assert.equal(rows[4]!.pricing_status, "UNPRICED");
  assert.equal(rows[4]!.input_price_per_1m, null);
});

Deno.test("priceOpenAIUsage() halves Batch API rates and attributes billed lines only where unambiguous", () => {
  const book = new PriceBook([price("gpt-4o", ["2.50", "1.25", "10.00"])]);
  const billed = [
    line("2025-03-01", "input", "0.1"),
    line("2025-03-01", "output", "0.25"),
    line("2025-03-02", "input", "9"),
  ];
  const usage = [
    usageRow(SNAPSHOT, [1_000_000, 0, 0], "2025-03-01"),
    usageRow(SNAPSHOT, [1_000_000, 0, 0], "2025-03-02"),
    usageRow(SNAPSHOT, [1_000_000, 0, 0], "2025-03-02", true), // same day, model and project: billed is ambiguous
  ];
  const rows = priceOpenAIUsage(usage, book, billed, meta);
  assert.deepEqual(rows.map((r) => r.billed_cost), ["0.350000000", null, null]);
  assert.deepEqual(rows.map((r) => r.list_cost), ["2.500000000", "2.500000000", "1.250000000"]);
  assert.equal(rows[2]!.input_price_per_1m, "1.250000000");
});

Deno.test("monthlyFee() charges quantity x price for the days in force, a yearly fee over 12 months", () => {
  const month = { first: "2025-04-01", next: "2025-05-01" };
  const plan = {
    plan_name: "TEAM",
    quantity: 3,
    unit_price_usd: "30",
    billing_period: "monthly",
    rpm_limit: null,
    tpm_limit: null,
  };
  const full = { ...plan, monthly_spend_limit_usd: null, effective_from: "2025-01-01", effective_to: null };
  assert.equal(monthlyFee(full, month), "90.000000000");
  assert.equal(monthlyFee({ ...full, effective_from: "2025-04-16" }, month), "45.000000000");
  assert.equal(monthlyFee({ ...full, billing_period: "yearly", unit_price_usd: "120" }, month), "30.000000000");
});

Deno.test("openai.usage stops at once when the run is aborted, even while the provider hangs", async () => {
  const standIn = startOpenAIStandIn({ hang: true });
  const quiet = () => {};
  const controller = new AbortController();
  const ctx = {
    env: { openaiBaseUrl: standIn.baseUrl },
    org: { slug: ORG, dataset: DATASET },
    run: { id: "direct", trigger: "api" },
    step: { id: "extract_usage" },
    state: new Map([["credential", OPENAI_STANDIN_KEY]]),
    now: () => new Date(),
    logger: { debug: quiet, info: quiet, warn: quiet, error: quiet },
    signal: controller.signal,
  } as unknown as ProcessorContext;
  try {
    const t0 = performance.now();
    setTimeout(() => controller.abort(new Error("Run timed out after 30 min")), 200);
    const config = {
      endpoint: "completions",
      bucket_width: "1d",
      group_by: ["model"],
      page_limit: 31,
      start_date: "2025-03-01",
      end_date: "2025-03-01",
    };
    await assert.rejects(openaiUsageProcessor.run(ctx, config), /Run timed out after 30 min/);
    assert.ok(performance.now() - t0 < 5_000, "no waiting for the 15 s request timeout or the retries");
  } finally {
    await standIn.close();
  }
});

// ---- end to end --------------------------------------------------------------------------------------------------

Deno.test("openai/usage_cost end to end against the stand-in", async (t) => {
  const standIn = startOpenAIStandIn();
  const h = await startHarness({ OPENAI_BASE_URL: standIn.baseUrl, RATE_LIMIT_ENABLED: "false" });
  try {
    await h.bootstrap();
    const apiKey = await h.onboard(ORG, "SCALE");

    await t.step("a run without the integration set up is refused with 422", async () => {
      const r = await run(h, apiKey, { start_date: "2025-03-01", end_date: "2025-03-03" });
      assert.equal(r.status, 422, r.text);
      assert.match(r.json.error.message, /OPENAI/);
    });

    await t.step("the integration is set up through the API", async () => {
      const r = await h.request("POST", `/api/v1/integrations/${ORG}/openai/setup`, {
        key: apiKey,
        body: { credential: OPENAI_STANDIN_KEY },
      });
      assert.equal(r.status, 200, r.text);
    });

    await t.step("a run completes and all three tables equal the stand-in's usage at the seeded prices", async () => {
      const r = await run(h, apiKey, { start_date: "2025-03-01", end_date: "2025-03-03" });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.status, "COMPLETED", r.json.error);
      assert.deepEqual(
        r.json.steps.map((s: { status: string }) => s.status),
        usageCost.steps.map(() => "COMPLETED"),
      );
      await assertTablesMatch(h, "2025-03-01", "2025-03-03");
      const priced = await table(h, "openai_cost_daily");
      const audio = priced.filter((p) => String(p.model).startsWith("gpt-4o-audio"));
      assert.ok(audio.length > 0 && audio.every((p) => p.pricing_status === "UNPRICED" && p.list_cost === null));
      const chat = priced.filter((p) => p.pricing_status === "PRICED");
      assert.ok(
        chat.length > 0 && chat.every((p) => p.billed_cost === p.list_cost),
        "list cost reconciles with billed",
      );
      const usageCalls = standIn.requests.filter((q) => q.path.endsWith("/usage/completions"));
      const last = new URLSearchParams(usageCalls.at(-1)!.query);
      assert.deepEqual(last.getAll("group_by"), ["model", "project_id", "batch"]);
      assert.equal(last.get("start_time"), String(Date.parse("2025-03-01") / 1000));
      assert.equal(last.get("end_time"), String(Date.parse("2025-03-04") / 1000), "end is exclusive: the next day");
    });

    await t.step("re-running the same dates replaces the days: same row counts, no duplicates", async () => {
      const before = await snapshot(h);
      const r = await run(h, apiKey, { start_date: "2025-03-01", end_date: "2025-03-03" });
      assert.equal(r.json.status, "COMPLETED", r.json.error);
      const after = await snapshot(h);
      assert.deepEqual(after.map((x) => x.length), before.map((x) => x.length));
      await assertTablesMatch(h, "2025-03-01", "2025-03-03");
    });

    await t.step("a run for other days leaves the earlier days untouched", async () => {
      const before = await snapshot(h);
      const r = await run(h, apiKey, { start_date: "2025-03-05" });
      assert.equal(r.json.status, "COMPLETED", r.json.error);
      const after = await snapshot(h);
      for (const [i, rows] of after.entries()) {
        assert.deepEqual(rows.filter((x) => x.usage_date !== "2025-03-05"), before[i], TABLES[i]!);
        assert.ok(rows.some((x) => x.usage_date === "2025-03-05"));
      }
      await assertTablesMatch(h, "2025-03-05", "2025-03-05");
    });

    await t.step("pagination: a 40-day run follows next_page and collects every bucket", async () => {
      const n = standIn.requests.length;
      const r = await run(h, apiKey, { start_date: "2025-01-01", end_date: "2025-02-09" });
      assert.equal(r.json.status, "COMPLETED", r.json.error);
      const pages = standIn.requests.slice(n).filter((q) => q.path.endsWith("/usage/completions"));
      assert.equal(pages.length, 6, "5 pages of 7 daily buckets (page_limit 7) + 5");
      assert.ok(new URLSearchParams(pages[1]!.query).get("page"), "the second call sends the cursor");
      await assertTablesMatch(h, "2025-01-01", "2025-02-09");
    });

    const newPrice = { model_id: "gpt-4o", input_per_1m: "3.00", cached_input_per_1m: "1.50", output_per_1m: "12.00" };
    await t.step("a price change mid-range prices each day at the price in force that day", async () => {
      const add = await h.request("POST", `/api/v1/integrations/${ORG}/openai/pricing`, {
        key: apiKey,
        body: { ...newPrice, effective_from: "2025-03-02" },
      });
      assert.equal(add.status, 201, add.text);
      const r = await run(h, apiKey, { start_date: "2025-03-01", end_date: "2025-03-03" });
      assert.equal(r.json.status, "COMPLETED", r.json.error);
      const prices = [
        { ...newPrice, effective_from: "2025-03-02", effective_to: null },
        ...seedPrices.map((p) => p.model_id === "gpt-4o" ? { ...p, effective_to: "2025-03-02" } : p),
      ];
      await assertTablesMatch(h, "2025-03-01", "2025-03-03", prices);
      const gpt4o = (await table(h, "openai_cost_daily", "2025-03-01", "2025-03-03")).filter((p) =>
        String(p.model).startsWith("gpt-4o-2024")
      );
      assert.deepEqual([...new Set(gpt4o.map((p) => `${p.usage_date} ${p.input_price_per_1m}`))].sort(), [
        "2025-03-01 2.500000000",
        "2025-03-02 3.000000000",
        "2025-03-03 3.000000000",
      ]);
    });

    await t.step("provider down: the run fails naming provider and endpoint, and nothing is written", async () => {
      const before = await snapshot(h);
      standIn.faults.fail5xx = 1000;
      try {
        const r = await run(h, apiKey, { start_date: "2025-03-03", end_date: "2025-03-04" });
        assert.equal(r.json.status, "FAILED");
        assert.match(r.json.error, /OpenAI GET \/organization\/usage\/completions failed: 50\d/);
        assert.match(r.json.error, /gave up after \d+ attempts/);
        assert.deepEqual(r.json.steps.map((s: { status: string }) => s.status), FIRST_FAILED);
      } finally {
        standIn.faults.fail5xx = 0;
      }
      const after = await snapshot(h);
      assert.deepEqual(after, before, "2025-03-03 intact and nothing for 2025-03-04");
    });

    await t.step("a second run while one is running gets 409", async () => {
      standIn.faults.delayMs = 400;
      try {
        const first = await run(h, apiKey, { start_date: "2025-03-05" }, false);
        assert.equal(first.status, 202, first.text);
        const second = await run(h, apiKey, { start_date: "2025-03-06" });
        assert.equal(second.status, 409, second.text);
        assert.equal(second.json.error.code, "RUN_IN_PROGRESS");
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
    });

    await t.step("openai/subscriptions writes the month's plans, replacing the month", async () => {
      const url = `/api/v1/pipelines/run/${ORG}/openai/subscriptions?wait=true`;
      for (let i = 0; i < 2; i++) {
        const r = await h.request("POST", url, { key: apiKey, body: { month: "2025-03" } });
        assert.equal(r.json.status, "COMPLETED", r.json.error);
      }
      const rows = await h.deps.warehouse.query(
        `SELECT * FROM ${DATASET}.openai_subscriptions_monthly ORDER BY plan_name`,
      );
      const plans = seedOf("org_openai_subscriptions");
      assert.equal(rows.length, plans.length, "one row per plan, no duplicates after a re-run");
      assert.ok(rows.every((r) => r.month_start === "2025-03-01" && r.month === "2025-03" && r.currency === "USD"));
      for (const r of rows) assert.equal(nano(r.list_cost), BigInt(Number(r.quantity)) * nano(r.unit_price_usd));
    });

    await t.step("openai.subscriptions defaults an empty month to the current UTC month", async () => {
      const quiet = () => {};
      const ctx = {
        warehouse: h.deps.warehouse,
        stores: h.deps.stores,
        org: { slug: ORG, dataset: DATASET },
        run: { id: "direct", trigger: "api" },
        step: { id: "transform_subscriptions" },
        state: new Map(),
        now: () => new Date("2025-04-15T12:00:00Z"),
        logger: { debug: quiet, info: quiet, warn: quiet, error: quiet },
      } as unknown as ProcessorContext;
      const out = await openaiSubscriptionsProcessor.run(ctx, { month: "" });
      assert.deepEqual(out.range, { from: "2025-04-01", to: "2025-04-30" });
      assert.ok(Array.isArray(out.rows), "a month of plans is returned at once, not streamed");
      const rows = out.rows as readonly Record<string, unknown>[];
      assert.equal(rows.length, seedOf("org_openai_subscriptions").length);
      assert.ok(rows.every((r) => r.month === "2025-04"));
    });

    await t.step("no log line carries the admin key", () => {
      assert.ok(h.logs.length > 0);
      assert.ok(h.logs.every((l) => !l.includes(OPENAI_STANDIN_KEY)));
    });
  } finally {
    await h.close();
    await standIn.close();
  }
});
