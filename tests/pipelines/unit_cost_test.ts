/**
 * Usage priced by its own unit (`usage.unit_cost`, src/central/_unit_cost_sql.ts), end to end: openai/usage_cost
 * against the OpenAI stand-in serving hand-written images, audio, vector storage, code interpreter and tool-call
 * usage for one day, priced at the seeded unit prices (configs/openai/seed/data/default_unit_pricing.csv); and
 * anthropic/usage_cost, whose web search requests are priced and billed on their own lines. Every expected cost
 * is computed by hand from the published prices.
 */
import assert from "node:assert/strict";
import { startHarness } from "../runtime/_harness.ts";
import { OPENAI_STANDIN_KEY, startOpenAIStandIn } from "../standins/openai.ts";
import { ANTHROPIC_STANDIN_KEY, anthropicUsageRows, startAnthropicStandIn } from "../standins/anthropic.ts";

const DAY = "2025-03-04";
const P = "proj_units";
/** The day's usage per endpoint, at the finest grain. */
const USAGE: Record<string, Record<string, unknown>[]> = {
  images: [
    {
      project_id: P,
      model: "dall-e-3",
      size: "1024x1024",
      source: "image.generation",
      images: 3,
      num_model_requests: 1,
    },
    {
      project_id: P,
      model: "dall-e-3",
      size: "1792x1024",
      source: "image.generation",
      images: 2,
      num_model_requests: 1,
    },
    { project_id: P, model: "dall-e-2", size: "256x256", source: "image.variation", images: 5, num_model_requests: 1 },
    {
      project_id: P,
      model: "gpt-image-1",
      size: "1024x1024",
      source: "image.generation",
      images: 1,
      num_model_requests: 1,
    },
  ],
  audio_speeches: [{ project_id: P, model: "tts-1", characters: 12_345, num_model_requests: 4 }],
  audio_transcriptions: [{ project_id: P, model: "whisper-1", seconds: 90, num_model_requests: 2 }],
  vector_stores: [{ project_id: P, usage_bytes: 2_500_000_000 }],
  code_interpreter_sessions: [{ project_id: P, num_sessions: 7 }],
  file_search_calls: [{ project_id: P, vector_store_id: "vs_1", num_requests: 1_234 }],
  web_search_calls: [
    { project_id: P, model: "gpt-4o-2024-08-06", context_level: "medium", num_requests: 100, num_model_requests: 5 },
    {
      project_id: P,
      model: "gpt-4o-search-preview-2025-03-11",
      context_level: "low",
      num_requests: 10,
      num_model_requests: 5,
    },
  ],
};
/** [meter, model, variant, quantity, list cost] by hand: quantity x unit price / units per pricing unit. */
const EXPECTED: [string, string | null, string | null, string, string | null][] = [
  ["code_interpreter_session", null, null, "7", "0.21"], // 7 x 0.03
  ["file_search_call", null, null, "1234", "3.085"], // 1234 x 2.50 / 1000
  ["image", "dall-e-2", "256x256", "5", "0.08"], // 5 x 0.016
  ["image", "dall-e-3", "1024x1024", "3", "0.12"], // 3 x 0.040
  ["image", "dall-e-3", "1792x1024", "2", "0.16"], // 2 x 0.080 (standard quality)
  ["image", "gpt-image-1", "1024x1024", "1", null], // token-priced model: no unit price
  ["speech_character", "tts-1", null, "12345", "0.185175"], // 12345 x 15.00 / 1e6
  ["transcription_second", "whisper-1", null, "90", "0.009"], // 90 s x 0.006 / 60
  ["vector_store_gb_day", null, null, "2.5", "0.25"], // 2.5e9 bytes = 2.5 GB x 0.10
  ["web_search_call", "gpt-4o-2024-08-06", "medium", "100", "1"], // 100 x 10.00 / 1000 (any model)
  ["web_search_call", "gpt-4o-search-preview-2025-03-11", "low", "10", "0.3"], // 10 x 30.00 / 1000 (its own)
];
const num = (v: unknown) => (v === null ? null : String(Number(v)));

Deno.test("OpenAI usage billed per image, character, second, GB-day, session and call is priced by hand-computed rates", async (t) => {
  const standIn = startOpenAIStandIn({
    projects: [P],
    days: { from: DAY, to: DAY },
    usage: Object.fromEntries(Object.entries(USAGE).map(([k, rows]) => [k, () => rows as never])),
  });
  const h = await startHarness({ OPENAI_BASE_URL: standIn.baseUrl, RATE_LIMIT_ENABLED: "false" });
  const org = "units_org";
  try {
    await h.bootstrap();
    const key = await h.onboard(org, "SCALE");
    const setup = await h.request("POST", `/api/v1/integrations/${org}/openai/setup`, {
      key,
      body: { credential: OPENAI_STANDIN_KEY },
    });
    assert.equal(setup.status, 200, setup.text);
    assert.equal(setup.json.unit_pricing_initialized, true);
    assert.ok(setup.json.unit_pricing_rows > 0);
    const run = await h.request("POST", `/api/v1/pipelines/run/${org}/openai/usage_cost?wait=true`, {
      key,
      body: { date: DAY },
    });
    assert.equal(run.json?.status, "COMPLETED", run.text);

    await t.step("one row per meter, model and variant, each at its hand-computed cost", async () => {
      const rows = await h.deps.warehouse.query<Record<string, unknown>>(
        `SELECT * FROM ${org}_local.openai_unit_cost_daily ORDER BY meter, model, variant`,
      );
      assert.deepEqual(
        rows.map((r) => [r.meter, r.model, r.variant, num(r.consumed_quantity), num(r.list_cost)]),
        EXPECTED,
      );
      for (const r of rows) {
        assert.equal(r.usage_date, DAY);
        assert.equal(r.sub_account_id, P);
        assert.equal(r.pricing_status, r.list_cost === null ? "UNPRICED" : "PRICED");
        assert.equal(r.cost, r.list_cost);
      }
      const search = rows.find((r) => r.model === "gpt-4o-search-preview-2025-03-11")!;
      assert.deepEqual([search.price_model_id, search.price_variant, search.pricing_unit], [
        "gpt-4o-search-preview",
        "low",
        "1K Requests",
      ]);
      assert.equal(num(rows.find((r) => r.meter === "transcription_second")!.pricing_quantity), "1.5"); // minutes
    });

    await t.step("GET /costs lists the services and names the unpriced image model", async () => {
      const r = await h.request("GET", `/api/v1/costs/${org}?start=${DAY}&end=${DAY}&group_by=service`, { key });
      assert.equal(r.status, 200, r.text);
      const images = r.json.rows.find((x: { service: string }) => x.service === "OpenAI API: images");
      assert.equal(images.cost, "0.36"); // 0.08 + 0.12 + 0.16
      const unpriced = r.json.unpriced.filter((u: { model: string }) => u.model === "gpt-image-1");
      assert.deepEqual(unpriced.map((u: { unit: string; quantity: string }) => [u.unit, u.quantity]), [[
        "Images",
        "1",
      ]]);
    });

    await t.step(
      "the reconciliation matches every metered model to the cent (the stand-in bills at list)",
      async () => {
        const r = await h.request("GET", `/api/v1/costs/${org}/reconciliation?start=${DAY}&end=${DAY}`, { key });
        assert.equal(r.status, 200, r.text);
        const models = Object.fromEntries(
          r.json.rows[0].models.map((m: { model: string; status: string; difference: string }) => [m.model, m]),
        );
        for (const model of ["dall-e-2", "dall-e-3", "tts-1", "whisper-1", "gpt-4o-search-preview-2025-03-11"]) {
          assert.equal(models[model].status, "MATCHED", model);
          assert.equal(Number(models[model].difference), 0, model);
        }
        assert.equal(models["gpt-image-1"].status, "UNPRICED");
      },
    );

    await t.step(
      "the run's data-quality result names the unpriced meter and model, computed in the warehouse",
      async () => {
        await h.deps.stores.runs.flushed();
        const dq = await h.deps.warehouse.query<{ passed: boolean; message: string; severity: string }>(
          `SELECT passed, message, severity FROM organizations.org_meta_dq_results
         WHERE org_slug = @org AND check_name = 'unit_cost_every_meter_priced'`,
          { org },
        );
        assert.equal(dq.length, 1);
        assert.equal(dq[0]!.passed, false);
        assert.equal(dq[0]!.message, `1 rows with a null in list_cost (meter/model: "image"/"gpt-image-1")`);
      },
    );
  } finally {
    await h.close();
    await standIn.close();
  }
});

Deno.test("Anthropic web search requests are priced at $10 per 1,000 and reconcile with the cost report's web search lines", async () => {
  const standIn = startAnthropicStandIn();
  const h = await startHarness({ ANTHROPIC_BASE_URL: standIn.url, RATE_LIMIT_ENABLED: "false" });
  const org = "websearch_org";
  try {
    await h.bootstrap();
    const key = await h.onboard(org, "SCALE");
    const setup = await h.request("POST", `/api/v1/integrations/${org}/anthropic/setup`, {
      key,
      body: { credential: ANTHROPIC_STANDIN_KEY },
    });
    assert.equal(setup.status, 200, setup.text);
    const run = await h.request("POST", `/api/v1/pipelines/run/${org}/anthropic/usage_cost?wait=true`, {
      key,
      body: { date: DAY },
    });
    assert.equal(run.json?.status, "COMPLETED", run.text);
    const expected = new Map<string, number>();
    for (const u of anthropicUsageRows("", DAY)) {
      const k = JSON.stringify([u.model, u.workspace_id]);
      expected.set(k, (expected.get(k) ?? 0) + u.server_tool_use.web_search_requests);
    }
    const rows = await h.deps.warehouse.query<Record<string, unknown>>(
      `SELECT * FROM ${org}_local.anthropic_unit_cost_daily`,
    );
    const withSearches = [...expected.entries()].filter(([, n]) => n > 0);
    assert.ok(withSearches.length > 0, "the stand-in has web searches that day");
    assert.equal(rows.length, withSearches.length);
    for (const r of rows) {
      const searches = expected.get(JSON.stringify([r.model, r.sub_account_id]))!;
      assert.equal(r.meter, "web_search_request");
      assert.equal(Number(r.consumed_quantity), searches);
      assert.equal(Number(r.list_cost), searches / 100, `${r.model}: ${searches} searches at 1 cent`);
      assert.equal(r.billed_cost, r.list_cost, "billed by the report's web_search lines");
    }
  } finally {
    await h.close();
    await standIn.close();
  }
});
