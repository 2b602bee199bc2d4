import assert from "node:assert/strict";
import { AnthropicClient, centsToDollars } from "../../src/providers/anthropic.ts";
import { ANTHROPIC_STANDIN_KEY, anthropicUsageRows, startAnthropicStandIn } from "../standins/anthropic.ts";
import { assertNoSecret, collect, fastRetries, providerError } from "./_helpers.ts";

Deno.test("AnthropicClient.validateAdminKey() reads one bucket with x-api-key and anthropic-version", async () => {
  const standIn = startAnthropicStandIn();
  try {
    const now = Date.UTC(2025, 5, 10, 15, 30);
    await new AnthropicClient({ apiKey: ANTHROPIC_STANDIN_KEY, baseUrl: standIn.baseUrl, now: () => now })
      .validateAdminKey();
    const [req] = standIn.requests;
    assert.equal(req!.path, "/v1/organizations/usage_report/messages");
    assert.deepEqual(req!.query, [["starting_at", "2025-06-09T00:00:00Z"], ["bucket_width", "1d"], ["limit", "1"]]);
    assert.equal(req!.headers["x-api-key"], ANTHROPIC_STANDIN_KEY);
    assert.equal(req!.headers["anthropic-version"], "2023-06-01");
    assert.equal(req!.headers.authorization, undefined);
  } finally {
    await standIn.close();
  }
});

Deno.test("AnthropicClient reports an invalid key as unauthorized and never shows it", async () => {
  const apiKey = "sk-ant-admin01-wrong-Mn4Bv7Cx1Zl9";
  const standIn = startAnthropicStandIn({ echoKey: true });
  try {
    const client = new AnthropicClient({ apiKey, baseUrl: standIn.baseUrl, ...fastRetries() });
    const error = await providerError(client.validateAdminKey());
    assert.equal(error.kind, "unauthorized");
    assert.match(
      error.message,
      /^Anthropic GET \/v1\/organizations\/usage_report\/messages failed: 401 unauthorized \(invalid API key; the provider said "invalid x-api-key: \[REDACTED\]"\)$/,
    );
    assertNoSecret(error.message, apiKey);
  } finally {
    await standIn.close();
  }
});

Deno.test("AnthropicClient says an Admin key is needed for a non-admin key (403)", async () => {
  const apiKey = "sk-ant-api03-ordinary-Jk2Hg5";
  const standIn = startAnthropicStandIn({ keys: { [apiKey]: { usage: false } } });
  try {
    const error = await providerError(new AnthropicClient({ apiKey, baseUrl: standIn.baseUrl }).validateAdminKey());
    assert.equal(error.kind, "forbidden");
    assert.match(error.message, /an Admin API key is needed/);
  } finally {
    await standIn.close();
  }
});

Deno.test("AnthropicClient.usageReport() pages with group_by[]=model and returns cache-creation detail", async () => {
  const standIn = startAnthropicStandIn();
  try {
    const client = new AnthropicClient({ apiKey: ANTHROPIC_STANDIN_KEY, baseUrl: standIn.baseUrl });
    const pages = await collect(client.usageReport({
      startingAt: new Date(Date.UTC(2025, 0, 1)),
      endingAt: "2025-01-08T00:00:00Z",
      groupBy: ["model"],
      limit: 2,
    }));
    assert.deepEqual(pages.map((p) => p.data.length), [2, 2, 2, 1]);
    const buckets = pages.flatMap((p) => p.data);
    assert.deepEqual(buckets.map((b) => b.starting_at.slice(0, 10)), [
      "2025-01-01",
      "2025-01-02",
      "2025-01-03",
      "2025-01-04",
      "2025-01-05",
      "2025-01-06",
      "2025-01-07",
    ]);
    for (const req of standIn.requests) {
      assert.deepEqual(req.query.filter(([k]) => k === "group_by[]"), [["group_by[]", "model"]]);
    }
    assert.equal(standIn.requests[1]!.query.find(([k]) => k === "page")?.[1], pages[0]!.next_page);
    const day = anthropicUsageRows("", "2025-01-03");
    const sonnet = buckets[2]!.results.find((r) => r.model === "claude-sonnet-4-20250514")!;
    const expected = day.filter((r) => r.model === "claude-sonnet-4-20250514");
    assert.equal(sonnet.uncached_input_tokens, expected.reduce((n, r) => n + r.uncached_input_tokens, 0));
    assert.equal(
      sonnet.cache_creation.ephemeral_5m_input_tokens,
      expected.reduce((n, r) => n + r.cache_creation.ephemeral_5m_input_tokens, 0),
    );
    assert.equal(sonnet.workspace_id, null, "not grouped by workspace");
  } finally {
    await standIn.close();
  }
});

Deno.test("AnthropicClient.costReport() returns amounts as decimal cents that convert exactly", async () => {
  const standIn = startAnthropicStandIn();
  try {
    const client = new AnthropicClient({ apiKey: ANTHROPIC_STANDIN_KEY, baseUrl: standIn.baseUrl });
    const query = { startingAt: "2025-02-01T00:00:00Z", endingAt: "2025-02-03T00:00:00Z" };
    const [total] = await collect(client.costReport(query));
    const [detail] = await collect(client.costReport({ ...query, groupBy: ["workspace_id", "description"] }));
    assert.equal(standIn.requests[0]!.path, "/v1/organizations/cost_report");
    for (const [i, bucket] of detail!.data.entries()) {
      const one = total!.data[i]!.results;
      assert.equal(one.length, 1);
      assert.equal(one[0]!.currency, "USD");
      assert.equal(one[0]!.description, null);
      // Summing the detailed lines exactly (in 1e-6 cents) gives the ungrouped total.
      const micro = bucket.results.reduce((n, r) => n + toMicro(r.amount), 0n);
      assert.equal(micro, toMicro(one[0]!.amount));
      assert.ok(bucket.results.some((r) => r.token_type === "cache_creation.ephemeral_5m_input_tokens"));
      assert.match(centsToDollars(one[0]!.amount), /^\d+(\.\d+)?$/);
    }
  } finally {
    await standIn.close();
  }
});

function toMicro(decimal: string): bigint {
  const [whole = "0", fraction = ""] = decimal.split(".");
  return BigInt(whole) * 1_000_000n + BigInt(fraction.padEnd(6, "0").slice(0, 6));
}

Deno.test("AnthropicClient refuses timestamps that are not RFC 3339", () => {
  const client = new AnthropicClient({ apiKey: "k", baseUrl: "http://127.0.0.1:9" });
  assert.throws(() => client.usageReport({ startingAt: "2025-01-01" }), RangeError);
  assert.throws(() => client.costReport({ startingAt: "2025-01-01T00:00:00Z", limit: 0 }), RangeError);
});

Deno.test("centsToDollars() shifts decimal cents exactly", () => {
  assert.equal(centsToDollars("123.45"), "1.2345");
  assert.equal(centsToDollars("0.1"), "0.001");
  assert.equal(centsToDollars("5"), "0.05");
  assert.equal(centsToDollars("100"), "1");
  assert.equal(centsToDollars("-250.5"), "-2.505");
  assert.equal(centsToDollars("0.00"), "0");
  assert.equal(centsToDollars("123456789012345678901234.123456789"), "1234567890123456789012.34123456789");
  assert.equal(centsToDollars("0.30"), "0.003"); // 0.1 + 0.2 style float noise cannot appear
  assert.throws(() => centsToDollars("1e3"), RangeError);
  assert.throws(() => centsToDollars("12,5"), RangeError);
  assert.throws(() => centsToDollars(""), RangeError);
});
