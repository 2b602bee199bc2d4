/**
 * GET /api/v1/costs/{org_slug}/reconciliation and the fee and unpriced lines of GET /costs, end to end: the
 * openai/usage_cost pipeline runs against the OpenAI stand-in (whose billed lines are the usage at list price) and
 * openai/subscriptions writes a plan fee. Expected fees and statuses are computed here from the inputs.
 */
import assert from "node:assert/strict";
import { startHarness } from "./_harness.ts";
import { OPENAI_STANDIN_KEY, startOpenAIStandIn } from "../standins/openai.ts";

const dayOffset = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
const [D12, D10] = [dayOffset(-12), dayOffset(-10)];
const MONTH = D10.slice(0, 7);
const AUDIO = "gpt-4o-audio-preview-2024-12-17";
const PRICED = ["gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18"];

Deno.test("the reconciliation matches to the cent when billed equals list, names unpriced models and counts fees", async (t) => {
  const mixed = startOpenAIStandIn({ models: [...PRICED, AUDIO] });
  const plain = startOpenAIStandIn({ models: PRICED });
  const orgs = [
    {
      org: "recon_mixed",
      standIn: mixed,
      harness: await startHarness({ OPENAI_BASE_URL: mixed.baseUrl, RATE_LIMIT_ENABLED: "false" }),
    },
    {
      org: "recon_plain",
      standIn: plain,
      harness: await startHarness({ OPENAI_BASE_URL: plain.baseUrl, RATE_LIMIT_ENABLED: "false" }),
    },
  ];
  try {
    const keys: Record<string, string> = {};
    for (const { org, harness: h } of orgs) {
      await h.bootstrap();
      const key = keys[org] = await h.onboard(org, "SCALE");
      const setup = await h.request("POST", `/api/v1/integrations/${org}/openai/setup`, {
        key,
        body: { credential: OPENAI_STANDIN_KEY },
      });
      assert.equal(setup.status, 200, setup.text);
      const run = await h.request("POST", `/api/v1/pipelines/run/${org}/openai/usage_cost?wait=true`, {
        key,
        body: { start_date: D12, end_date: D10 },
      });
      assert.equal(run.json?.status, "COMPLETED", run.text);
    }
    const [m, p] = orgs as [typeof orgs[0], typeof orgs[0]];
    const get = (o: typeof m, query: string) =>
      o.harness.request("GET", `/api/v1/costs/${o.org}${query}`, { key: keys[o.org]! });

    await t.step("the run's data-quality result names the unpriced model", async () => {
      await m.harness.deps.stores.runs.flushed();
      const dq = await m.harness.deps.warehouse.query<{ passed: boolean; message: string }>(
        `SELECT passed, message FROM organizations.org_meta_dq_results
         WHERE org_slug = @org AND check_name = 'cost_every_model_priced'`,
        { org: m.org },
      );
      assert.equal(dq.length, 1);
      assert.equal(dq[0]!.passed, false);
      assert.match(dq[0]!.message, new RegExp(`rows with a null in list_cost \\(model: "${AUDIO}"\\)$`));
    });

    await t.step("an org whose models are all priced is MATCHED to the cent on every day and in total", async () => {
      const r = await get(p, `/reconciliation?start=${D12}&end=${D10}&provider=openai`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.rows.length, 3);
      for (const row of r.json.rows) {
        assert.equal(row.status, "MATCHED", JSON.stringify(row));
        assert.ok(Math.abs(Number(row.difference)) < 0.01, row.difference);
        // Each model is idle on some days in the stand-in; every model billed (token models and the metered
        // ones: images, speech, transcription, web search) is one used, and matches.
        assert.ok(row.models.some((x: { model: string }) => PRICED.includes(x.model)));
        for (const x of row.models) assert.equal(x.status, "MATCHED", x.model);
        assert.deepEqual(row.reasons, []);
        assert.equal(row.final, true);
      }
      assert.equal(r.json.totals.length, 1);
      assert.equal(r.json.totals[0].status, "MATCHED");
      assert.deepEqual(r.json.totals[0].days, { MATCHED: 3, OVER: 0, UNDER: 0, UNPRICED: 0, UNBILLED: 0 });
      assert.deepEqual(r.json.unpriced, []);
    });

    await t.step("an unpriced model is named in the reasons and listed by GET /costs", async () => {
      const r = await get(m, `/reconciliation?start=${D12}&end=${D10}`);
      assert.equal(r.status, 200, r.text);
      for (const row of r.json.rows) {
        assert.equal(row.status, "UNPRICED");
        assert.deepEqual(row.reasons[0].models, [AUDIO]);
        assert.ok(row.reasons[0].message.includes(AUDIO), row.reasons[0].message);
        const byModel = Object.fromEntries(row.models.map((x: { model: string; status: string }) => [x.model, x]));
        assert.equal(byModel[AUDIO].status, "UNPRICED");
        assert.equal(byModel[AUDIO].list_cost, null);
        assert.equal(row.models.length, Object.keys(byModel).length);
        for (const model of PRICED.filter((x) => byModel[x])) {
          assert.equal(byModel[model].status, "MATCHED");
          assert.ok(Math.abs(Number(byModel[model].difference)) < 0.01);
        }
      }
      const costs = await get(m, `?start=${D12}&end=${D10}`);
      assert.equal(costs.status, 200, costs.text);
      assert.equal(costs.json.unpriced.length, 1);
      const u = costs.json.unpriced[0];
      assert.deepEqual([u.provider, u.model, u.unit, u.days], [
        "openai",
        AUDIO,
        "Tokens",
        r.json.rows.map((x: { day: string }) => x.day),
      ]);
      assert.ok(Number(u.quantity) > 0);
      const csv = await get(m, `/reconciliation?start=${D12}&end=${D10}&format=csv`);
      assert.equal(csv.status, 200);
      assert.match(csv.headers.get("content-type") ?? "", /^text\/csv/);
      const lines = csv.text.trim().split("\r\n");
      assert.equal(
        lines[0],
        "provider,day,model,currency,list_cost,billed_cost,difference,relative_difference,status,final,reasons",
      );
      const modelRows = r.json.rows.reduce((n: number, x: { models: unknown[] }) => n + x.models.length, 0);
      assert.equal(lines.length, 1 + 3 + modelRows, "a line per day and one per model of it");
      assert.ok(lines.some((l) => l.startsWith(`openai,${D12},${AUDIO},USD,,`) && l.includes("UNPRICED")));
    });

    await t.step("a plan fee is a cost line on the month's first day, and the reconciliation counts it", async () => {
      const h = p.harness;
      const key = keys[p.org]!;
      const plan = { plan_name: "TEAM", quantity: 15, unit_price_usd: "25", effective_from: "2024-01-01" };
      const added = await h.request("POST", `/api/v1/integrations/${p.org}/openai/subscriptions`, { key, body: plan });
      assert.equal(added.status, 201, added.text);
      const run = await h.request("POST", `/api/v1/pipelines/run/${p.org}/openai/subscriptions?wait=true`, {
        key,
        body: { month: MONTH },
      });
      assert.equal(run.json?.status, "COMPLETED", run.text);
      const first = `${MONTH}-01`;
      const costs = await get(p, `?start=${first}&end=${first}&group_by=service,day`);
      assert.equal(costs.status, 200, costs.text);
      // 15 seats x 25 USD: the zero-fee usage tiers of the seed add no line.
      const fee = costs.json.rows.filter((r: { service: string }) => r.service.startsWith("Subscription: "));
      assert.deepEqual(fee, [{
        service: "Subscription: TEAM",
        day: first,
        cost: "375",
        billed_cost: "375",
        records: 1,
        unpriced_records: 0,
        unbilled_records: 0,
      }]);
      const recon = await get(p, `/reconciliation?start=${first}&end=${first}`);
      const row = recon.json.rows.find((r: { day: string }) => r.day === first);
      assert.ok(Number(row.list_cost) >= 375 && Number(row.billed_cost) >= 375, JSON.stringify(row));
      assert.equal(row.status, "MATCHED");
    });

    await t.step("bad parameters are refused with 400 naming the field", async () => {
      for (
        const [q, field] of [["format=xlsx", "format"], ["tolerance=1.5", "tolerance"], [
          "tolerance_amount=abc",
          "tolerance_amount",
        ], [`start=${D10}&end=${D12}`, "end"]]
      ) {
        const r = await get(p, `/reconciliation?${q}`);
        assert.equal(r.status, 400, r.text);
        assert.equal(r.json.error.details.field, field);
      }
    });
  } finally {
    for (const o of orgs) await o.harness.close();
    await mixed.close();
    await plain.close();
  }
});
