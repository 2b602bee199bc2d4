/**
 * openai/usage_cost pulls every OpenAI Usage API endpoint into its own raw table: hand-written stand-in rows at the
 * finest grain, summed by the stand-in per the step's group_by, land as the counts written here by hand; paging
 * follows next_page for any endpoint; a malformed result names the endpoint and the field; the step config refuses
 * a group_by the endpoint does not have.
 */
import assert from "node:assert/strict";
import { startHarness } from "../runtime/_harness.ts";
import {
  OPENAI_STANDIN_KEY,
  openAICostLines,
  type OpenAIStandInRow,
  openAIUsageRows,
  startOpenAIStandIn,
} from "../standins/openai.ts";
import { OpenAIClient } from "../../src/providers/openai.ts";
import { openaiUsageSpec } from "../../src/processors/specs.ts";
import { collect, providerError, serveJson } from "../providers/_helpers.ts";

const ORG = "openai_endpoints_org";
const DATASET = `${ORG}_local`;
const D1 = Date.UTC(2025, 2, 1) / 1000;
const D2 = D1 + 86_400;
const A = { project_id: "proj_a", user_id: "user_1", api_key_id: "key_1" };

/** Hand-written usage per endpoint and day (only 2025-03-01 and 2025-03-02 have any). */
const USAGE: Record<string, Record<number, OpenAIStandInRow[]>> = {
  decisions: {
    [D1]: [
      {
        ...A,
        model: "gpt-4o-mini",
        batch: false,
        service_tier: "default",
        api_source: null,
        input_tokens: 900,
        output_tokens: 80,
        num_model_requests: 3,
        input_cached_tokens: 100,
      },
      {
        ...A,
        model: "gpt-4o-mini",
        batch: true,
        service_tier: "default",
        api_source: null,
        input_tokens: 50,
        output_tokens: 5,
        num_model_requests: 1,
      },
    ],
  },
  embeddings: {
    [D1]: [
      { ...A, model: "text-embedding-3-small", input_tokens: 1_000, num_model_requests: 4 },
      { ...A, user_id: "user_2", model: "text-embedding-3-small", input_tokens: 500, num_model_requests: 1 },
      {
        project_id: "proj_b",
        user_id: null,
        api_key_id: "key_2",
        model: "text-embedding-3-large",
        input_tokens: 7,
        num_model_requests: 1,
      },
    ],
    [D2]: [{ ...A, model: "text-embedding-3-small", input_tokens: 20, num_model_requests: 2 }],
  },
  moderations: { [D1]: [{ ...A, model: "omni-moderation-latest", input_tokens: 300, num_model_requests: 3 }] },
  images: {
    [D1]: [
      { ...A, model: "dall-e-3", size: "1024x1024", source: "image.generation", images: 3, num_model_requests: 3 },
      { ...A, model: "dall-e-3", size: "1024x1792", source: "image.generation", images: 2, num_model_requests: 1 },
      {
        ...A,
        api_key_id: "key_9",
        model: "dall-e-3",
        size: "1024x1792",
        source: "image.generation",
        images: 1,
        num_model_requests: 1,
      },
      {
        ...A,
        project_id: "proj_b",
        model: "gpt-image-1",
        size: "1024x1024",
        source: "image.edit",
        images: 5,
        num_model_requests: 5,
      },
    ],
  },
  audio_speeches: {
    [D1]: [{ ...A, model: "tts-1", characters: 12_345, num_model_requests: 7 }],
    [D2]: [{ ...A, model: "tts-1-hd", characters: 10, num_model_requests: 1 }],
  },
  audio_transcriptions: {
    [D1]: [
      { ...A, model: "whisper-1", seconds: 90.5, num_model_requests: 2 },
      { ...A, user_id: "user_2", model: "whisper-1", seconds: 30.25, num_model_requests: 1 },
    ],
  },
  vector_stores: {
    [D1]: [{ project_id: "proj_a", usage_bytes: 2_147_483_648 }, { project_id: "proj_b", usage_bytes: 1 }],
    [D2]: [{ project_id: "proj_a", usage_bytes: 3_000_000_000 }],
  },
  code_interpreter_sessions: { [D1]: [{ project_id: "proj_a", num_sessions: 4 }] },
  file_search_calls: {
    [D1]: [
      { ...A, vector_store_id: "vs_1", num_requests: 10 },
      { ...A, user_id: "user_2", vector_store_id: "vs_1", num_requests: 5 },
    ],
  },
  web_search_calls: {
    [D1]: [
      {
        ...A,
        model: "gpt-4o",
        context_level: "medium",
        api_source: "unlabeled",
        num_requests: 8,
        num_model_requests: 6,
      },
      {
        ...A,
        model: "gpt-4o",
        context_level: "high",
        api_source: "agents_api",
        num_requests: 2,
        num_model_requests: 2,
      },
    ],
  },
};
const usage = Object.fromEntries(
  Object.entries(USAGE).map(([endpoint, byDay]) => [endpoint, (day: number) => byDay[day] ?? []]),
);

Deno.test("openai/usage_cost writes every Usage API endpoint into its own raw table", async (t) => {
  const standIn = startOpenAIStandIn({ usage });
  const h = await startHarness({ OPENAI_BASE_URL: standIn.baseUrl, RATE_LIMIT_ENABLED: "false" });
  const rows = (table: string) =>
    h.deps.warehouse.query(`SELECT * FROM ${DATASET}.openai_${table}_usage_daily_raw ORDER BY ALL`);
  try {
    await h.bootstrap();
    const key = await h.onboard(ORG, "SCALE");
    const setup = await h.request("POST", `/api/v1/integrations/${ORG}/openai/setup`, {
      key,
      body: { credential: OPENAI_STANDIN_KEY },
    });
    assert.equal(setup.status, 200, setup.text);
    const run = (body: Record<string, string>) =>
      h.request("POST", `/api/v1/pipelines/run/${ORG}/openai/usage_cost?wait=true`, { key, body });
    const r = await run({ start_date: "2025-03-01", end_date: "2025-03-03" });
    assert.equal(r.json.status, "COMPLETED", r.text);

    await t.step("completions keep the SDK's cache-write and per-modality token fields", async () => {
      const c = await h.deps.warehouse.query(`SELECT * FROM ${DATASET}.openai_usage_daily_raw`);
      assert.ok(c.length > 0);
      for (const x of c) {
        assert.equal(Number(x.input_uncached_tokens), Number(x.input_tokens) - Number(x.input_cached_tokens));
        assert.equal(Number(x.input_cache_write_tokens), 0);
        assert.equal(x.service_tier, null, "not grouped by service_tier");
      }
    });

    await t.step("billed costs keep each line item's quantity and unit", async () => {
      const billed = await h.deps.warehouse.query(
        `SELECT * FROM ${DATASET}.openai_costs_daily_raw WHERE usage_date = CAST('2025-03-01' AS DATE)`,
      );
      const expected = new Map(
        openAIUsageRows("", D1).flatMap(openAICostLines).map((l) => [`${l.line_item}|${l.project_id}`, l.quantity]),
      );
      const tokens = billed.filter((b) => b.quantity_unit === "tokens");
      assert.equal(tokens.length, expected.size);
      for (const b of tokens) {
        assert.equal(Number(b.quantity), expected.get(`${b.line_item}|${b.project_id}`), String(b.line_item));
        assert.equal(b.quantity_unit, "tokens");
      }
    });

    await t.step(
      "decisions keep the completions shape per batch flag; an unreported split is null, not 0",
      async () => {
        const d = await rows("decisions");
        assert.deepEqual(
          d.map((
            x,
          ) => [
            x.batch,
            Number(x.input_tokens),
            x.input_cached_tokens === null ? null : Number(x.input_cached_tokens),
          ]),
          [[false, 900, 100], [true, 50, null]],
        );
        assert.ok(d.every((x) => x.input_cache_write_tokens === null && x.service_tier === null));
      },
    );

    await t.step("embeddings are summed per day, model, project and key; user_id stays null", async () => {
      const e = await rows("embeddings");
      assert.equal(e.length, 3);
      const small1 = e.find((x) => x.usage_date === "2025-03-01" && x.model === "text-embedding-3-small")!;
      assert.equal(Number(small1.input_tokens), 1_500);
      assert.equal(Number(small1.num_model_requests), 5);
      assert.equal(small1.api_key_id, "key_1");
      assert.equal(small1.user_id, null);
      const large = e.find((x) => x.model === "text-embedding-3-large")!;
      assert.deepEqual([large.project_id, Number(large.input_tokens)], ["proj_b", 7]);
      assert.equal(Number(e.find((x) => x.usage_date === "2025-03-02")!.input_tokens), 20);
    });

    await t.step("moderations, speeches, sessions and file searches land with their own units", async () => {
      const m = await rows("moderations");
      assert.deepEqual(m.map((x) => [x.usage_date, x.model, Number(x.input_tokens)]), [
        ["2025-03-01", "omni-moderation-latest", 300],
      ]);
      const s = await rows("audio_speeches");
      assert.deepEqual(s.map((x) => [x.usage_date, x.model, Number(x.characters), Number(x.num_model_requests)]), [
        ["2025-03-01", "tts-1", 12_345, 7],
        ["2025-03-02", "tts-1-hd", 10, 1],
      ]);
      const c = await rows("code_interpreter_sessions");
      assert.deepEqual(c.map((x) => [x.usage_date, x.project_id, Number(x.num_sessions)]), [
        ["2025-03-01", "proj_a", 4],
      ]);
      const f = await rows("file_search_calls");
      assert.deepEqual(f.map((x) => [x.vector_store_id, Number(x.num_requests), x.user_id]), [["vs_1", 15, null]]);
    });

    await t.step("images are kept per model, size and source; two keys of one size are one row", async () => {
      const i = await rows("images");
      assert.equal(i.length, 3);
      const tall = i.find((x) => x.size === "1024x1792")!;
      assert.deepEqual([tall.model, tall.source, Number(tall.images), Number(tall.num_model_requests)], [
        "dall-e-3",
        "image.generation",
        3,
        2,
      ]);
      const edit = i.find((x) => x.source === "image.edit")!;
      assert.deepEqual([edit.model, edit.project_id, Number(edit.images)], ["gpt-image-1", "proj_b", 5]);
      assert.ok(i.every((x) => x.api_key_id === null), "api_key_id is not a group of the images step");
    });

    await t.step("transcription seconds are summed exactly; vector store bytes per project and day", async () => {
      const a = await rows("audio_transcriptions");
      assert.equal(a.length, 1);
      assert.equal(Number(a[0]!.seconds), 120.75);
      assert.equal(Number(a[0]!.num_model_requests), 3);
      const v = await rows("vector_stores");
      assert.deepEqual(v.map((x) => [x.usage_date, x.project_id, BigInt(x.usage_bytes as bigint)]), [
        ["2025-03-01", "proj_a", 2_147_483_648n],
        ["2025-03-01", "proj_b", 1n],
        ["2025-03-02", "proj_a", 3_000_000_000n],
      ]);
    });

    await t.step("web searches are kept per context level; api_source is null when not grouped", async () => {
      const w = await rows("web_search_calls");
      assert.deepEqual(w.map((x) => [x.context_level, Number(x.num_requests), Number(x.num_model_requests)]), [
        ["high", 2, 2],
        ["medium", 8, 6],
      ]);
      assert.ok(w.every((x) => x.api_source === null));
    });

    await t.step("a 40-day run follows next_page: vector stores in 6 pages of 7 daily buckets", async () => {
      const n = standIn.requests.length;
      const again = await run({ start_date: "2025-01-01", end_date: "2025-02-09" });
      assert.equal(again.json.status, "COMPLETED", again.text);
      const pages = standIn.requests.slice(n).filter((q) => q.path.endsWith("/usage/vector_stores"));
      assert.equal(pages.length, 6, "7 daily buckets a page: 40 days are 6 pages");
      assert.deepEqual(
        pages.map((p) => p.query.filter(([k]) => k === "group_by")),
        pages.map(() => [["group_by", "project_id"]]),
      );
      assert.equal((await rows("vector_stores")).length, 3, "the hand-written days only; other days are empty");
    });
  } finally {
    await h.close();
    await standIn.close();
  }
});

Deno.test("OpenAIClient.usage() pages any endpoint and returns its published result objects", async () => {
  const standIn = startOpenAIStandIn();
  try {
    const client = new OpenAIClient({ apiKey: OPENAI_STANDIN_KEY, baseUrl: standIn.baseUrl });
    const pages = await collect(
      client.usage("images", { start: D1, end: D1 + 10 * 86_400, groupBy: ["model", "size"], limit: 3 }),
    );
    assert.deepEqual(pages.map((p) => p.data.length), [3, 3, 3, 1]);
    const first = pages[0]!.data[0]!.results[0]!;
    assert.equal(first.object, "organization.usage.images.result");
    assert.equal(first.size, "1024x1024");
    assert.equal(first.project_id, null, "not grouped by project");
    assert.ok(standIn.requests.every((q) => q.path === "/v1/organization/usage/images"));
  } finally {
    await standIn.close();
  }
});

Deno.test("a malformed usage result names the endpoint and the field", async () => {
  const fake = serveJson(() =>
    Response.json({
      object: "page",
      data: [{
        object: "bucket",
        start_time: D1,
        end_time: D2,
        results: [{ object: "organization.usage.audio_speeches.result", characters: "12", num_model_requests: 1 }],
      }],
      has_more: false,
      next_page: null,
    })
  );
  try {
    const client = new OpenAIClient({ apiKey: "sk-admin-Zz9", baseUrl: `${fake.url}/v1` });
    const error = await providerError(collect(client.usage("audio_speeches", { start: D1, end: D2 })));
    assert.equal(error.kind, "malformed");
    assert.match(error.message, /GET \/organization\/usage\/audio_speeches/);
    assert.match(error.message, /"data\[0\]\.results\[0\]\.characters"/);
  } finally {
    await fake.close();
  }
});

Deno.test("the openai.usage step refuses a group_by its endpoint does not have, naming both", () => {
  const bad = openaiUsageSpec.config.safeParse({ endpoint: "vector_stores", group_by: ["project_id", "model"] });
  assert.equal(bad.success, false);
  assert.deepEqual(bad.error!.issues[0]!.path, ["group_by", 1]);
  assert.match(bad.error!.issues[0]!.message, /endpoint vector_stores must be one of project_id, not "model"/);
  const good = openaiUsageSpec.config.safeParse({ endpoint: "images", group_by: ["size", "source"] });
  assert.equal(good.success, true);
});
