/** deepseek/usage_cost end to end: the API, the executor and DuckDB, with the DeepSeek stand-in. */
import assert from "node:assert/strict";
import { type Harness, startHarness } from "../runtime/_harness.ts";
import { DEEPSEEK_STANDIN_KEY, type DeepSeekBalanceInfo, startDeepSeekStandIn } from "../standins/deepseek.ts";

const ORG = "deep_org";
const DATASET = `${ORG}_local`;

const dayBefore = (day: string, n: number) => new Date(Date.parse(day) - n * 86_400_000).toISOString().slice(0, 10);
const cny = (total: string, granted = "0.00"): DeepSeekBalanceInfo => ({
  currency: "CNY",
  total_balance: total,
  granted_balance: granted,
  topped_up_balance: (Number(total) - Number(granted)).toFixed(2),
});
const usd = (total: string): DeepSeekBalanceInfo => ({
  currency: "USD",
  total_balance: total,
  granted_balance: "0.00",
  topped_up_balance: total,
});

async function run(h: Harness, key: string, date: string) {
  const r = await h.request("POST", `/api/v1/pipelines/run/${ORG}/deepseek/usage_cost?wait=true`, {
    key,
    body: { date },
  });
  assert.equal(r.status, 200, r.text);
  return r.json;
}

function costRows(h: Harness) {
  return h.deps.warehouse.query<Record<string, unknown>>(
    `SELECT usage_date, currency, previous_snapshot_date, opening_balance, closing_balance, top_up_amount,
       list_cost, cost, billed_cost, provider, service_name, model
     FROM ${DATASET}.deepseek_cost_daily ORDER BY usage_date, currency`,
  );
}

async function count(h: Harness, from: string, params: Record<string, string> = {}): Promise<number> {
  const rows = await h.deps.warehouse.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${DATASET}.${from}`, params);
  return Number(rows[0]?.n);
}

Deno.test("deepseek/usage_cost derives daily spend from balance snapshots, end to end", async (t) => {
  const standIn = startDeepSeekStandIn();
  const h = await startHarness({ DEEPSEEK_BASE_URL: standIn.url, RATE_LIMIT_ENABLED: "false" });
  const today = new Date().toISOString().slice(0, 10);
  const [d0, d1, d2] = [dayBefore(today, 2), dayBefore(today, 1), today];
  try {
    await h.bootstrap();
    const key = await h.onboard(ORG, "SCALE");
    const setup = await h.request("POST", `/api/v1/integrations/${ORG}/deepseek/setup`, {
      key,
      body: { credential: DEEPSEEK_STANDIN_KEY },
    });
    assert.equal(setup.status, 200, setup.text);

    await t.step("the first snapshot records the balance and no spend (nothing to compare with)", async () => {
      standIn.setBalance(DEEPSEEK_STANDIN_KEY, [cny("110.00", "10.00"), usd("20.00")]);
      const r = await run(h, key, d0);
      assert.equal(r.status, "COMPLETED", JSON.stringify(r));
      assert.deepEqual(r.steps.map((s: { rows_written: number }) => s.rows_written), [2, 0]);
      const snaps = await h.deps.warehouse.query(
        `SELECT snapshot_date, currency, total_balance, granted_balance, topped_up_balance, is_available
         FROM ${DATASET}.deepseek_balance_daily ORDER BY currency`,
      );
      assert.deepEqual(snaps, [
        {
          snapshot_date: d0,
          currency: "CNY",
          total_balance: "110.000000000",
          granted_balance: "10.000000000",
          topped_up_balance: "100.000000000",
          is_available: true,
        },
        {
          snapshot_date: d0,
          currency: "USD",
          total_balance: "20.000000000",
          granted_balance: "0.000000000",
          topped_up_balance: "20.000000000",
          is_available: true,
        },
      ]);
      assert.deepEqual(await costRows(h), []);
      // Nothing is silent: /costs, the reconciliation and the run log say why the day has no spend.
      const costs = await h.request("GET", `/api/v1/costs/${ORG}?start=${d0}&end=${d0}`, { key });
      assert.equal(costs.status, 200, costs.text);
      assert.deepEqual(
        costs.json.notices.map((n: { code: string; days: string[]; provider: string }) => [n.provider, n.code, n.days]),
        [["deepseek", "FIRST_BALANCE_SNAPSHOT", [d0]], ["deepseek", "FIRST_BALANCE_SNAPSHOT", [d0]]],
      );
      assert.match(
        costs.json.notices[0].message,
        new RegExp(`first balance snapshot in CNY \\(${d0}, balance 110\\) has nothing earlier to compare with`),
      );
      const rec = await h.request(
        "GET",
        `/api/v1/costs/${ORG}/reconciliation?start=${d0}&end=${d0}&provider=deepseek`,
        {
          key,
        },
      );
      assert.equal(rec.status, 200, rec.text);
      assert.equal(rec.json.notices.length, 2);
      const openai = await h.request("GET", `/api/v1/costs/${ORG}?start=${d0}&end=${d0}&provider=openai`, { key });
      assert.deepEqual(openai.json.notices, [], "another provider's view has no DeepSeek notice");
      const logged = h.logs.filter((l) => l.includes("first balance snapshot in USD"));
      assert.equal(logged.length, 1, "the run logged it once per currency");
    });

    await t.step("a drop in balance the next day is that day's spend, per currency, exactly", async () => {
      standIn.setBalance(DEEPSEEK_STANDIN_KEY, [cny("103.45", "3.45"), usd("20.00")]);
      const r = await run(h, key, d1);
      assert.equal(r.status, "COMPLETED", JSON.stringify(r));
      const rows = (await costRows(h)).filter((x) => x.usage_date === d1);
      assert.deepEqual(rows, [
        {
          usage_date: d1,
          currency: "CNY",
          previous_snapshot_date: d0,
          opening_balance: "110.000000000",
          closing_balance: "103.450000000",
          top_up_amount: "0.000000000",
          list_cost: "6.550000000",
          cost: "6.550000000",
          billed_cost: "6.550000000",
          provider: "deepseek",
          service_name: "DeepSeek API",
          model: null,
        },
        {
          usage_date: d1,
          currency: "USD",
          previous_snapshot_date: d0,
          opening_balance: "20.000000000",
          closing_balance: "20.000000000",
          top_up_amount: "0.000000000",
          list_cost: "0.000000000",
          cost: "0.000000000",
          billed_cost: "0.000000000",
          provider: "deepseek",
          service_name: "DeepSeek API",
          model: null,
        },
      ]);
    });

    await t.step("a top-up day is recorded as a top-up, never as negative spend", async () => {
      standIn.setBalance(DEEPSEEK_STANDIN_KEY, [cny("200.00"), usd("18.75")]);
      const r = await run(h, key, d2);
      assert.equal(r.status, "COMPLETED", JSON.stringify(r));
      const rows = (await costRows(h)).filter((x) => x.usage_date === d2);
      assert.deepEqual(
        rows.map((x) => [x.currency, x.opening_balance, x.closing_balance, x.top_up_amount, x.cost]),
        [
          ["CNY", "103.450000000", "200.000000000", "96.550000000", "0.000000000"],
          ["USD", "20.000000000", "18.750000000", "0.000000000", "1.250000000"],
        ],
      );
      for (const row of await costRows(h)) assert.ok(!String(row.cost).startsWith("-"), JSON.stringify(row));
      const later = await h.request("GET", `/api/v1/costs/${ORG}?start=${d1}&end=${d2}`, { key });
      assert.deepEqual(later.json.notices, [], "a period after the first snapshot has no notice");
    });

    await t.step("re-running a day replaces its snapshot and spend: no duplicates", async () => {
      const before = await costRows(h);
      for (let i = 0; i < 2; i++) assert.equal((await run(h, key, d2)).status, "COMPLETED");
      assert.equal(await count(h, `deepseek_balance_daily WHERE snapshot_date = CAST(@d AS DATE)`, { d: d2 }), 2);
      assert.deepEqual(await costRows(h), before);
      const perDay = await h.deps.warehouse.query<{ usage_date: string; n: number }>(
        `SELECT usage_date, COUNT(*) AS n FROM ${DATASET}.deepseek_cost_daily GROUP BY usage_date ORDER BY usage_date`,
      );
      assert.deepEqual(perDay.map((x) => [x.usage_date, Number(x.n)]), [[d1, 2], [d2, 2]]);
    });

    await t.step("a snapshot cannot be back-dated beyond the lag window or dated in the future", async () => {
      const old = await run(h, key, dayBefore(today, 10));
      assert.equal(old.status, "FAILED");
      assert.match(old.error, /Field "date".*10 days back/);
      // A future day is refused with the request, before any run exists.
      const future = await h.request("POST", `/api/v1/pipelines/run/${ORG}/deepseek/usage_cost?wait=true`, {
        key,
        body: { date: dayBefore(today, -1) },
      });
      assert.equal(future.status, 400, future.text);
      assert.match(future.json.error.message, /Field "date".*after today/);
      assert.equal(await count(h, "deepseek_balance_daily"), 6);
    });

    await t.step("the key never reaches a stored row, the logs or a run", async () => {
      assert.ok(!h.logs.some((l) => l.includes(DEEPSEEK_STANDIN_KEY)));
      const runs = await h.request("GET", `/api/v1/pipelines/runs/${ORG}?pipeline=deepseek/usage_cost`, { key });
      assert.equal(runs.status, 200);
      assert.ok(!runs.text.includes(DEEPSEEK_STANDIN_KEY));
    });
  } finally {
    await h.close();
    await standIn.close();
  }
});
