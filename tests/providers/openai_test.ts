import assert from "node:assert/strict";
import { OpenAIClient } from "../../src/providers/openai.ts";
import { OPENAI_STANDIN_KEY, openAIUsageRows, startOpenAIStandIn } from "../standins/openai.ts";
import { assertNoSecret, collect, fastRetries, providerError, serveJson } from "./_helpers.ts";

const DAY = 86_400;
const JAN1 = Date.UTC(2025, 0, 1) / 1000;

Deno.test("OpenAIClient.validateAdminKey() reads one usage bucket of the last day with the Bearer key", async () => {
  const standIn = startOpenAIStandIn();
  try {
    const now = Date.UTC(2025, 5, 10, 12);
    await new OpenAIClient({ apiKey: OPENAI_STANDIN_KEY, baseUrl: standIn.baseUrl, now: () => now }).validateAdminKey();
    assert.equal(standIn.requests.length, 1);
    const [req] = standIn.requests;
    assert.equal(req!.path, "/v1/organization/usage/completions");
    assert.deepEqual(req!.query, [["start_time", String(now / 1000 - DAY)], ["bucket_width", "1d"], ["limit", "1"]]);
    assert.equal(req!.headers.authorization, `Bearer ${OPENAI_STANDIN_KEY}`);
  } finally {
    await standIn.close();
  }
});

Deno.test("OpenAIClient.validateAdminKey() reports an invalid key as 401 unauthorized without the key", async (t) => {
  const apiKey = "sk-admin-wrong-Zx81Lq0Pv3Hk7Ty2";
  for (const echoKey of [false, true]) {
    await t.step(echoKey ? "even when the provider echoes the whole key" : "with the masked echo", async () => {
      const standIn = startOpenAIStandIn({ echoKey });
      try {
        const client = new OpenAIClient({ apiKey, baseUrl: standIn.baseUrl, ...fastRetries() });
        const error = await providerError(client.validateAdminKey());
        assert.equal(error.kind, "unauthorized");
        assert.equal(error.status, 401);
        assert.equal(error.provider, "OpenAI");
        assert.equal(error.endpoint, "GET /organization/usage/completions");
        assert.match(
          error.message,
          /^OpenAI GET \/organization\/usage\/completions failed: 401 unauthorized \(invalid API key/,
        );
        assert.match(error.message, /Incorrect API key provided: \[REDACTED\]/);
        assertNoSecret(error.message, apiKey);
        assertNoSecret(JSON.stringify(error), apiKey);
        assert.equal(standIn.requests.length, 1, "a 401 is not retried");
      } finally {
        await standIn.close();
      }
    });
  }
});

Deno.test("OpenAIClient.validateAdminKey() says an Admin key is needed when the key has no usage rights (403)", async () => {
  const apiKey = "sk-proj-ordinary-Hq2Wn5Rc8Tb1";
  const standIn = startOpenAIStandIn({ keys: { [apiKey]: { usage: false } } });
  try {
    const error = await providerError(new OpenAIClient({ apiKey, baseUrl: standIn.baseUrl }).validateAdminKey());
    assert.equal(error.kind, "forbidden");
    assert.equal(error.status, 403);
    assert.ok(
      error.message.includes("an organization Admin key is needed (this key has no usage rights)"),
      error.message,
    );
    assertNoSecret(error.message, apiKey);
  } finally {
    await standIn.close();
  }
});

Deno.test("OpenAIClient.usageCompletions() follows next_page across pages and sends group_by as repeated keys", async () => {
  const standIn = startOpenAIStandIn();
  try {
    const client = new OpenAIClient({ apiKey: OPENAI_STANDIN_KEY, baseUrl: standIn.baseUrl });
    const pages = await collect(
      client.usageCompletions({ start: JAN1, end: JAN1 + 10 * DAY, groupBy: ["model", "project_id"], limit: 3 }),
    );
    assert.deepEqual(pages.map((p) => p.data.length), [3, 3, 3, 1]);
    const buckets = pages.flatMap((p) => p.data);
    assert.deepEqual(buckets.map((b) => b.start_time), Array.from({ length: 10 }, (_, i) => JAN1 + i * DAY));
    assert.deepEqual(
      buckets[4]!.results,
      openAIUsageRows("", JAN1 + 4 * DAY).map((r) => ({
        ...r,
        user_id: null,
        api_key_id: null,
        batch: null,
        service_tier: null,
        api_source: null,
      })),
    );
    assert.equal(standIn.requests.length, 4);
    for (const [i, req] of standIn.requests.entries()) {
      assert.deepEqual(req.query.filter(([k]) => k === "group_by"), [["group_by", "model"], [
        "group_by",
        "project_id",
      ]]);
      const page = req.query.find(([k]) => k === "page")?.[1];
      assert.equal(page, i === 0 ? undefined : pages[i - 1]!.next_page, "the cursor is sent back as page");
    }
    assert.equal(pages.at(-1)!.has_more, false);
  } finally {
    await standIn.close();
  }
});

Deno.test("OpenAIClient.usageCompletions() gives the same numbers for the same query", async () => {
  const standIn = startOpenAIStandIn();
  try {
    const client = new OpenAIClient({ apiKey: OPENAI_STANDIN_KEY, baseUrl: standIn.baseUrl });
    const query = { start: JAN1, end: JAN1 + 3 * DAY, groupBy: ["model"] as const };
    const first = await collect(client.usageCompletions(query));
    const second = await collect(client.usageCompletions(query));
    assert.deepEqual(first, second);
    const result = first[0]!.data[0]!.results[0]!;
    assert.ok(result.input_tokens >= result.input_cached_tokens && result.num_model_requests > 0);
    assert.equal(result.project_id, null, "not grouped by project");
  } finally {
    await standIn.close();
  }
});

Deno.test("OpenAIClient.costs() pages daily costs grouped by line item and project", async () => {
  const standIn = startOpenAIStandIn();
  try {
    const client = new OpenAIClient({ apiKey: OPENAI_STANDIN_KEY, baseUrl: standIn.baseUrl });
    const pages = await collect(
      client.costs({ start: JAN1, end: JAN1 + 5 * DAY, groupBy: ["line_item", "project_id"], limit: 2 }),
    );
    assert.equal(pages.length, 3);
    const results = pages.flatMap((p) => p.data.flatMap((b) => b.results));
    assert.ok(results.length > 10);
    for (const r of results) {
      assert.equal(r.amount.currency, "usd");
      assert.ok(r.amount.value > 0);
      // Token lines name the model and token type; metered lines their model (if any) and unit.
      const token = /^[\w.-]+, (input|cached input|output|audio input|audio output)$/;
      const metered =
        /^([\w.-]+, )?(images|characters|seconds|vector store storage|code interpreter sessions|file search tool calls|web search tool calls)$/;
      assert.ok(token.test(r.line_item ?? "") || metered.test(r.line_item ?? ""), String(r.line_item));
      assert.match(r.project_id ?? "", /^proj_/);
    }
    assert.deepEqual(standIn.requests[0]!.query.filter(([k]) => k === "group_by").map(([, v]) => v), [
      "line_item",
      "project_id",
    ]);
  } finally {
    await standIn.close();
  }
});

Deno.test("OpenAIClient refuses bad queries before calling", () => {
  const client = new OpenAIClient({ apiKey: "sk-x", baseUrl: "http://127.0.0.1:9" });
  assert.throws(() => client.usageCompletions({ start: JAN1, limit: 32 }), RangeError);
  assert.throws(() => client.costs({ start: JAN1, end: JAN1 }), RangeError);
  assert.throws(() => new OpenAIClient({ apiKey: "sk-x", baseUrl: "https://user:pw@api.openai.com/v1" }), TypeError);
});

Deno.test("OpenAIClient never sends the key to another origin, whatever next_page says", async () => {
  let calls = 0;
  const fake = serveJson(() =>
    Response.json({
      object: "page",
      data: [],
      has_more: calls++ < 2,
      next_page: calls === 1 ? "https://evil.example/steal?x=1" : "//evil.example/x",
    })
  );
  const seen: string[] = [];
  try {
    const client = new OpenAIClient({
      apiKey: "sk-admin-secret-Tt5Yy6Uu7",
      baseUrl: `${fake.url}/v1`,
      fetch: (input, init) => {
        seen.push(String(input instanceof Request ? input.url : input));
        return fetch(input, init);
      },
    });
    const pages = await collect(client.usageCompletions({ start: JAN1, end: JAN1 + DAY }));
    assert.equal(pages.length, 3);
    for (const url of seen) assert.equal(new URL(url).origin, fake.url);
    assert.equal(new URL(seen[1]!).searchParams.get("page"), "https://evil.example/steal?x=1");
  } finally {
    await fake.close();
  }
});

Deno.test("OpenAIClient does not follow a redirect (which could carry the key elsewhere)", async () => {
  const elsewhere = serveJson(() => Response.json({ object: "page", data: [], has_more: false, next_page: null }));
  const redirecting = serveJson(() => Response.redirect(`${elsewhere.url}/v1/organization/usage/completions`, 302));
  try {
    const client = new OpenAIClient({ apiKey: "sk-admin-Rr4Ee3", baseUrl: `${redirecting.url}/v1`, ...fastRetries() });
    const error = await providerError(client.validateAdminKey());
    assert.equal(error.kind, "bad_request");
    assert.equal(error.status, 302);
    assert.equal(elsewhere.seen.length, 0);
  } finally {
    await elsewhere.close();
    await redirecting.close();
  }
});

Deno.test("OpenAIClient reports the first bad path of an unexpected shape", async () => {
  const fake = serveJson(() =>
    Response.json({
      object: "page",
      data: [{ object: "bucket", start_time: JAN1, end_time: JAN1 + DAY, results: [{ input_tokens: "12" }] }],
      has_more: false,
      next_page: null,
    })
  );
  try {
    const client = new OpenAIClient({ apiKey: "sk-admin-Qq1", baseUrl: `${fake.url}/v1` });
    const error = await providerError(client.validateAdminKey());
    assert.equal(error.kind, "malformed");
    assert.match(error.message, /"data\[0\]\.results\[0\]\.input_tokens"/);
  } finally {
    await fake.close();
  }
});
