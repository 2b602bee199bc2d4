/** CORS lets the seed's browser calls through (X-User-ID, PATCH); an unknown pipeline's 404 names the pipeline list. */
import assert from "node:assert/strict";
import { startHarness } from "./_harness.ts";

const ORIGIN = "https://app.example.test";

Deno.test("a CORS preflight allows the seed's X-User-ID header and the PATCH method", async () => {
  const h = await startHarness({ CORS_ORIGINS: JSON.stringify([ORIGIN]) });
  try {
    const r = await h.request("OPTIONS", "/api/v1/organizations/acme_corp", {
      headers: {
        Origin: ORIGIN,
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "x-user-id, x-api-key, content-type",
      },
    });
    assert.ok(r.status === 204 || r.status === 200, `${r.status}`);
    assert.equal(r.headers.get("access-control-allow-origin"), ORIGIN);
    const methods = (r.headers.get("access-control-allow-methods") ?? "").split(",").map((m) => m.trim());
    assert.ok(methods.includes("PATCH"), methods.join(","));
    const headers = (r.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(",").map((m) => m.trim());
    assert.ok(headers.includes("x-user-id"), headers.join(","));
  } finally {
    await h.close();
  }
});

Deno.test("running an unknown pipeline answers 404 naming GET /api/v1/pipelines", async () => {
  const h = await startHarness();
  try {
    await h.bootstrap();
    const key = await h.onboard("acme_corp");
    const r = await h.request("POST", "/api/v1/pipelines/run/acme_corp/nope/x", { key, body: {} });
    assert.equal(r.status, 404);
    assert.equal(r.json.error.code, "NOT_FOUND");
    assert.match(r.json.error.message, /"nope\/x"/);
    assert.match(r.json.error.message, /GET \/api\/v1\/pipelines\b/);
    const other = await h.request("GET", "/api/v1/nothing-here");
    assert.equal(other.status, 404);
    assert.match(other.json.error.message, /No route for GET \/api\/v1\/nothing-here/);
  } finally {
    await h.close();
  }
});
