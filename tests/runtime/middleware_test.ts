import assert from "node:assert/strict";
import { startHarness } from "./_harness.ts";
import { TokenBuckets } from "../../runtime/middleware/rate_limit.ts";

Deno.test("per-org rate limit: 429 with Retry-After and RateLimit headers, other orgs unaffected", async () => {
  const h = await startHarness({ RATE_LIMIT_PER_SECOND: "1", RATE_LIMIT_BURST: "5" });
  try {
    await h.bootstrap();
    const a = await h.onboard("rate_a");
    const b = await h.onboard("rate_b");
    const statuses: number[] = [];
    let limited;
    for (let i = 0; i < 8; i++) {
      // A client-supplied forwarding header must not give a fresh budget.
      const r = await h.request("GET", "/api/v1/integrations/rate_a", {
        key: a,
        headers: { "X-Forwarded-For": `10.0.0.${i}` },
      });
      statuses.push(r.status);
      if (r.status === 429) limited ??= r;
    }
    assert.deepEqual(statuses.slice(0, 5), [200, 200, 200, 200, 200]);
    assert.ok(statuses.slice(5).every((s) => s === 429), statuses.join(","));
    assert.ok(limited);
    assert.equal(limited.json.error.code, "RATE_LIMITED");
    assert.ok(Number(limited.headers.get("Retry-After")) >= 1);
    assert.match(limited.headers.get("RateLimit") ?? "", /r=0/);
    assert.match(limited.headers.get("RateLimit-Policy") ?? "", /q=5;w=5/);
    assert.ok(limited.json.error.request_id);
    assert.equal((await h.request("GET", "/api/v1/integrations/rate_b", { key: b })).status, 200);
  } finally {
    await h.close();
  }
});

Deno.test("TokenBuckets refill over time and cap at the burst", () => {
  let now = 0;
  const buckets = new TokenBuckets({ perSecond: 2, burst: 3, now: () => now });
  assert.deepEqual([1, 2, 3, 4].map(() => buckets.take("x").allowed), [true, true, true, false]);
  assert.equal(buckets.take("x").retryAfter, 1);
  now = 500;
  assert.equal(buckets.take("x").allowed, true);
  now = 100_000;
  assert.equal(buckets.take("x").remaining, 2);
  assert.equal(buckets.take("y").allowed, true, "another key has its own bucket");
});

Deno.test("errors have one shape: malformed JSON, wrong types, 413, 404, request ids", async (t) => {
  const h = await startHarness({ MAX_BODY_BYTES: "65536" });
  try {
    await h.bootstrap();
    await t.step("malformed JSON is 400 with the error shape", async () => {
      const r = await h.request("POST", "/api/v1/organizations/onboard", { root: true, raw: '{"org_slug": "x",' });
      assert.equal(r.status, 400);
      assert.equal(r.json.error.code, "INVALID_JSON");
      assert.equal(typeof r.json.error.request_id, "string");
      assert.ok(!/at .*\.ts:\d+|node_modules|stack/i.test(r.text));
      const arr = await h.request("POST", "/api/v1/organizations/onboard", { root: true, raw: "[1,2]" });
      assert.equal(arr.status, 400);
      assert.equal(arr.json.error.code, "INVALID_BODY");
    });
    await t.step("an oversized body is 413", async () => {
      const big = JSON.stringify({ org_slug: "big_org", company_name: "x".repeat(100_000), admin_email: "a@b.test" });
      const r = await h.request("POST", "/api/v1/organizations/dryrun", { root: true, raw: big });
      assert.equal(r.status, 413);
      assert.equal(r.json.error.code, "PAYLOAD_TOO_LARGE");
    });
    await t.step("unknown routes are 404 with the shape", async () => {
      const r = await h.request("GET", "/api/v1/nothing");
      assert.equal(r.status, 404);
      assert.equal(r.json.error.code, "NOT_FOUND");
    });
    await t.step("a valid X-Request-ID is echoed, an invalid one replaced", async () => {
      const ok = await h.request("GET", "/health", { headers: { "X-Request-ID": "trace-1234-abcd" } });
      assert.equal(ok.headers.get("X-Request-ID"), "trace-1234-abcd");
      const bad = await h.request("GET", "/health", { headers: { "X-Request-ID": "bad id\u0001<script>" } });
      assert.match(bad.headers.get("X-Request-ID") ?? "", /^[0-9a-f-]{36}$/);
    });
    await t.step("health reports the warehouse", async () => {
      const r = await h.request("GET", "/health");
      assert.equal(r.status, 200);
      assert.equal(r.json.warehouse, "duckdb");
    });
    await t.step("openapi.json is served and lists the pipeline routes", async () => {
      const r = await h.request("GET", "/api/v1/openapi.json");
      assert.equal(r.status, 200);
      assert.equal(r.json.openapi, "3.1.0");
      assert.ok(r.json.paths["/api/v1/pipelines/run/{org_slug}/openai/usage_cost"].post);
    });
  } finally {
    await h.close();
  }
});

Deno.test("CORS answers only the configured origins", async () => {
  const h = await startHarness({ CORS_ORIGINS: '["https://app.example.com"]' });
  try {
    const ok = await h.request("OPTIONS", "/api/v1/pipelines", {
      headers: { Origin: "https://app.example.com", "Access-Control-Request-Method": "GET" },
    });
    assert.equal(ok.headers.get("Access-Control-Allow-Origin"), "https://app.example.com");
    assert.equal(ok.status, 204, "a preflight is answered by CORS, not by a route");
    assert.match(ok.headers.get("X-Request-ID") ?? "", /^[0-9a-f-]{36}$/);
    const logged = h.logs.map((l) => JSON.parse(l)).find((l) => l.msg === "request" && l.method === "OPTIONS");
    assert.equal(logged?.status, 204, "the access log shows the preflight's status");
    const no = await h.request("OPTIONS", "/api/v1/pipelines", {
      headers: { Origin: "https://evil.example.com", "Access-Control-Request-Method": "GET" },
    });
    assert.equal(no.headers.get("Access-Control-Allow-Origin"), null);
  } finally {
    await h.close();
  }
});
