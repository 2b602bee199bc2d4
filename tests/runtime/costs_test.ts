/**
 * GET /api/v1/costs/{org_slug} over data written by the deepseek and gcp pipelines (run through the API) plus
 * OpenAI and Anthropic cost rows inserted straight into the org's tables. Every expected sum is computed here with
 * BigInt from the inputs as written.
 */
import assert from "node:assert/strict";
import { startHarness } from "./_harness.ts";
import { DEEPSEEK_STANDIN_KEY, startDeepSeekStandIn } from "../standins/deepseek.ts";
import { generateTestServiceAccount, startGcpOAuthStandIn } from "../standins/gcp_oauth.ts";
import { fixtureLines, fixtureRows, nano, plain } from "../fixtures/gcp_export.ts";
import { insertLlmRows, LLM_SERVICE as SERVICE, llmRows } from "../fixtures/llm_costs.ts";

const ORG = "cost_org";
const OTHER = "other_org";
const DATASET = `${ORG}_local`;
const dayOffset = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
const [D4, D3, D2, D1, D0] = [-4, -3, -2, -1, 0].map(dayOffset) as [string, string, string, string, string];

/** One input row of the costs view, for the expected sums. */
interface Charge {
  provider: string;
  service: string;
  model: string | null;
  day: string;
  currency: string;
  cost: bigint | null;
  billed: bigint | null;
}

const sum = (xs: (bigint | null)[]) => {
  const present = xs.filter((x): x is bigint => x !== null);
  return present.length ? plain(present.reduce((a, b) => a + b, 0n)) : null;
};

/** The rows the API must return for `keys` in `currency`, sorted as it sorts them (nulls last). */
function expectedRows(charges: Charge[], keys: (keyof Charge)[], currency = "USD") {
  const groups = new Map<string, Charge[]>();
  for (const c of charges.filter((c) => c.currency === currency)) {
    const k = JSON.stringify(keys.map((key) => c[key]));
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  const cmp = (a: unknown, b: unknown) =>
    a === b ? 0 : a === null ? 1 : b === null ? -1 : String(a) < String(b) ? -1 : 1;
  return [...groups.entries()].map(([k, cs]) => ({
    ...Object.fromEntries(keys.map((key, i) => [key, JSON.parse(k)[i]])),
    cost: sum(cs.map((c) => c.cost)),
    billed_cost: sum(cs.map((c) => c.billed)),
    records: cs.length,
    unpriced_records: cs.filter((c) => c.cost === null).length,
    unbilled_records: cs.filter((c) => c.billed === null).length,
  })).sort((a, b) => {
    for (const key of keys) {
      const r = cmp((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]);
      if (r) return r;
    }
    return 0;
  });
}

Deno.test("GET /costs sums every provider's cost in the warehouse, per group and currency", async (t) => {
  const deepseek = startDeepSeekStandIn();
  const oauth = startGcpOAuthStandIn();
  const sa = await generateTestServiceAccount();
  oauth.addAccount(sa.clientEmail, sa.publicKey);
  const h = await startHarness({
    DEEPSEEK_BASE_URL: deepseek.url,
    GCP_TOKEN_URI: oauth.tokenUri,
    RATE_LIMIT_ENABLED: "false",
  });
  const get = (query: string, key: string, org = ORG) => h.request("GET", `/api/v1/costs/${org}${query}`, { key });
  try {
    await h.bootstrap();
    const key = await h.onboard(ORG, "SCALE");
    const otherKey = await h.onboard(OTHER, "SCALE");
    const run = async (path: string, body: Record<string, string>) => {
      const r = await h.request("POST", `/api/v1/pipelines/run/${ORG}/${path}?wait=true`, { key, body });
      assert.equal(r.json?.status, "COMPLETED", r.text);
    };

    // GCP: the export fixture moved to the last days, loaded by the pipeline.
    const lines = await fixtureLines([D4, D3, D2, D1, D0]);
    await Deno.mkdir(`${h.dataDir}/imports/${ORG}`, { recursive: true });
    await Deno.writeTextFile(`${h.dataDir}/imports/${ORG}/export.jsonl`, lines.join("\n"));
    const gcpSetup = await h.request("POST", `/api/v1/integrations/${ORG}/gcp/setup`, {
      key,
      body: { credential: sa.json, billing_export_table: "export.jsonl" },
    });
    assert.equal(gcpSetup.status, 200, gcpSetup.text);
    await run("gcp/billing", { start_date: D4, end_date: D0 });
    // DeepSeek: two snapshots -> one day of spend, in CNY and in USD.
    const dsSetup = await h.request("POST", `/api/v1/integrations/${ORG}/deepseek/setup`, {
      key,
      body: { credential: DEEPSEEK_STANDIN_KEY },
    });
    assert.equal(dsSetup.status, 200, dsSetup.text);
    const bal = (currency: "CNY" | "USD", total: string) => ({
      currency,
      total_balance: total,
      granted_balance: "0.00",
      topped_up_balance: total,
    });
    deepseek.setBalance(DEEPSEEK_STANDIN_KEY, [bal("CNY", "110.00"), bal("USD", "20.00")]);
    await run("deepseek/usage_cost", { date: D2 });
    deepseek.setBalance(DEEPSEEK_STANDIN_KEY, [bal("CNY", "103.45"), bal("USD", "18.75")]);
    await run("deepseek/usage_cost", { date: D1 });
    const LLM = llmRows(D2, D1);
    await insertLlmRows(h.deps.warehouse, DATASET, LLM);

    const charges: Charge[] = [
      ...fixtureRows(lines, D4, D0).map((r) => ({
        provider: "gcp",
        service: r.service,
        model: null,
        day: r.day,
        currency: "USD",
        cost: r.net,
        billed: r.net,
      })),
      ...["CNY:6.55", "USD:1.25"].map((x) => {
        const [currency, amount] = x.split(":") as [string, string];
        return {
          provider: "deepseek",
          service: "DeepSeek API",
          model: null,
          day: D1,
          currency,
          cost: nano(amount),
          billed: nano(amount),
        };
      }),
      ...LLM.map((r) => ({
        provider: r.provider,
        service: SERVICE[r.provider],
        model: r.model,
        day: r.day,
        currency: "USD",
        cost: r.cost === null ? null : nano(r.cost),
        billed: r.billed === null ? null : nano(r.billed),
      })),
    ];
    const range = `start=${D4}&end=${D0}`;
    const usd = charges.filter((c) => c.currency === "USD");

    await t.step("the default groups by provider, with exact totals, and keeps CNY apart", async () => {
      const r = await get(`?${range}`, key);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.currency, "USD");
      assert.deepEqual(r.json.group_by, ["provider"]);
      assert.deepEqual([r.json.start, r.json.end], [D4, D0]);
      assert.deepEqual(r.json.rows, expectedRows(charges, ["provider"]));
      assert.equal(r.json.total_cost, sum(usd.map((c) => c.cost)));
      assert.equal(r.json.total_billed_cost, sum(usd.map((c) => c.billed)));
      assert.deepEqual(r.json.other_currencies, [{
        currency: "CNY",
        rows: [{
          provider: "deepseek",
          cost: "6.55",
          billed_cost: "6.55",
          records: 1,
          unpriced_records: 0,
          unbilled_records: 0,
        }],
        total_cost: "6.55",
        total_billed_cost: "6.55",
      }]);
    });

    for (
      const keys of [["day"], ["service"], ["model"], ["provider", "model", "day", "service"]] as (keyof Charge)[][]
    ) {
      await t.step(`group_by=${keys.join(",")} gives one exact row per group`, async () => {
        const r = await get(`?${range}&group_by=${keys.join(",")}`, key);
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json.group_by, keys);
        assert.deepEqual(r.json.rows, expectedRows(charges, keys));
        assert.equal(r.json.total_cost, sum(usd.map((c) => c.cost)));
        assert.deepEqual(r.json.other_currencies[0].rows, expectedRows(charges, keys, "CNY"));
      });
    }

    await t.step("provider filters, dates bound the rows, an empty group_by gives totals only", async () => {
      const openai = await get(`?${range}&provider=openai&group_by=model`, key);
      const mine = charges.filter((c) => c.provider === "openai");
      assert.deepEqual(openai.json.rows, expectedRows(mine, ["model"]));
      assert.equal(openai.json.total_cost, sum(mine.map((c) => c.cost)));
      assert.equal(openai.json.rows.find((x: { model: string }) => x.model === "o3").unpriced_records, 1);
      const oneDay = await get(`?start=${D1}&end=${D1}&group_by=provider`, key);
      assert.deepEqual(oneDay.json.rows, expectedRows(charges.filter((c) => c.day === D1), ["provider"]));
      const totals = await get(`?${range}&group_by=`, key);
      assert.deepEqual(totals.json.group_by, []);
      assert.equal(totals.json.rows.length, 1);
      assert.equal(totals.json.rows[0].cost, sum(usd.map((c) => c.cost)));
      const none = await get(`?start=2020-01-01&end=2020-01-31`, key);
      assert.deepEqual([none.json.rows, none.json.total_cost, none.json.total_billed_cost], [[], "0", null]);
    });

    await t.step("currency=CNY makes CNY the main section and USD the other one", async () => {
      const r = await get(`?${range}&currency=CNY`, key);
      assert.equal(r.json.currency, "CNY");
      assert.equal(r.json.total_cost, "6.55");
      assert.deepEqual(r.json.other_currencies.map((o: { currency: string }) => o.currency), ["USD"]);
      assert.equal(r.json.other_currencies[0].total_cost, sum(usd.map((c) => c.cost)));
    });

    await t.step("format=focus lists every charge with FOCUS column names", async () => {
      const r = await get(`?${range}&format=focus`, key);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.rows.length, charges.length);
      assert.equal(r.json.truncated, false);
      const row = r.json.rows.find((x: Record<string, unknown>) => x.x_Model === "gpt-4o" && x.x_ChargeDate === D2);
      assert.deepEqual(
        [row.ProviderName, row.ServiceName, row.SkuId, row.EffectiveCost, row.BilledCost, row.ListCost],
        ["OpenAI", "OpenAI API", "gpt-4o", "1.234567891", "1.2", "1.234567891"],
      );
      assert.deepEqual([row.ConsumedQuantity, row.ConsumedUnit, row.BillingCurrency], ["1200000", "Tokens", "USD"]);
      const cny = r.json.rows.filter((x: Record<string, unknown>) => x.BillingCurrency === "CNY");
      assert.deepEqual(cny.map((x: Record<string, unknown>) => [x.ProviderName, x.EffectiveCost]), [[
        "DeepSeek",
        "6.55",
      ]]);
      const gcpTax = r.json.rows.filter((x: Record<string, unknown>) => x.ChargeCategory === "Tax");
      assert.equal(gcpTax.length, 1);
      const capped = await get(`?${range}&format=focus&limit=2`, key);
      assert.deepEqual([capped.json.rows.length, capped.json.truncated], [2, true]);
    });

    await t.step("bad parameters are refused with 400 naming the field", async () => {
      const cases: [string, string][] = [
        ["?start=2025-13-01", "start"],
        ["?end=yesterday", "end"],
        [`?start=${D0}&end=${D4}`, "end"],
        ["?start=2024-01-01&end=2025-06-01", "end"],
        ["?group_by=provider,region", "group_by"],
        ["?provider=aws", "provider"],
        ["?currency=usd", "currency"],
        ["?format=csv", "format"],
        ["?limit=5", "limit"],
        ["?format=focus&limit=0", "limit"],
        ["?format=focus&group_by=day", "group_by"],
        ["?start=2025-01-01&start=2025-01-02", "start"],
        ["?org=other_org", "org"],
      ];
      for (const [query, field] of cases) {
        const r = await get(query, key);
        assert.equal(r.status, 400, `${query}: ${r.text}`);
        assert.equal(r.json.error.code, "VALIDATION_ERROR");
        assert.ok(r.json.error.message.includes(`"${field}"`), `${query}: ${r.json.error.message}`);
        assert.equal(r.json.error.details.field, field);
      }
    });

    await t.step("another org's key gets 403, no key 401, the root key is not an org key", async () => {
      assert.equal((await get(`?${range}`, otherKey)).status, 403);
      assert.equal((await h.request("GET", `/api/v1/costs/${ORG}`)).status, 401);
      const root = await h.request("GET", `/api/v1/costs/${ORG}`, { root: true });
      assert.ok(root.status === 401 || root.status === 403, root.text);
      const own = await get(`?${range}`, otherKey, OTHER);
      assert.equal(own.status, 200);
      assert.deepEqual([own.json.rows, own.json.total_cost, own.json.other_currencies], [[], "0", []]);
    });
  } finally {
    await h.close();
    await deepseek.close();
    await oauth.close();
  }
});
