import assert from "node:assert/strict";
import { Logger, redact } from "../../runtime/logger.ts";
import { ROOT, startHarness } from "./_harness.ts";

Deno.test("no org key, root key or ciphertext in any log line, error or later response", async () => {
  const h = await startHarness({ RATE_LIMIT_ENABLED: "false" });
  try {
    await h.bootstrap();
    const key = await h.onboard("secret_org");
    const rotated = await h.request("POST", "/api/v1/organizations/secret_org/api-key/rotate", { key, body: {} });
    const fresh = rotated.json.api_key as string;
    const bodies: string[] = [];
    const calls: [string, string, Parameters<typeof h.request>[2]][] = [
      ["GET", "/api/v1/integrations/secret_org", { key: fresh }],
      ["GET", "/api/v1/integrations/secret_org", { key }],
      ["GET", "/api/v1/integrations/other_org", { key: fresh }],
      ["GET", "/api/v1/pipelines", { root: true }],
      ["POST", "/api/v1/organizations/onboard", {
        root: true,
        body: { org_slug: "secret_org", company_name: "x", admin_email: "a@b.test" },
      }],
      ["POST", "/api/v1/admin/bootstrap", { key: fresh, body: {} }],
      ["POST", "/api/v1/admin/bootstrap", { root: ROOT + "wrong", body: {} }],
      ["GET", "/api/v1/pipelines/runs/secret_org", { key: fresh }],
    ];
    for (const [m, p, o] of calls) bodies.push((await h.request(m, p, o)).text);
    const [stored] = await h.deps.warehouse.query<{ encrypted_org_api_key: string }>(
      "SELECT encrypted_org_api_key FROM organizations.org_api_keys WHERE org_slug = @o AND is_active = TRUE",
      { o: "secret_org" },
    );
    const secrets = [key, fresh, ROOT, stored!.encrypted_org_api_key, key.slice(-20), fresh.slice(-20)];
    assert.ok(h.logs.length > 10, "the requests were logged");
    for (const s of secrets) {
      for (const line of h.logs) assert.ok(!line.includes(s), `a log line leaks a secret: ${line}`);
      for (const body of bodies) assert.ok(!body.includes(s), `a response leaks a secret: ${body}`);
    }
    for (const line of h.logs) JSON.parse(line);
  } finally {
    await h.close();
  }
});

Deno.test("the logger redacts secret fields, org keys, envelopes, bearer tokens and registered secrets", () => {
  const lines: string[] = [];
  const log = new Logger({ sink: (l) => lines.push(l) });
  log.addSecret("super-secret-root-value");
  log.child({ org_slug: "acme_1" }).info("calling acme_1_api_ABCDEFGHIJKLMNOPQRSTUVWX with super-secret-root-value", {
    credential: "sk-admin-123",
    nested: { api_key: "x", headers: { authorization: "Bearer abcdefghijklmnop" } },
    envelope: "v1.local.AAAAAAAAAAAA.BBBBBBBBBBBB.CCCCCCCCCCCC",
    note: "Authorization: Bearer sk-live-abcdefghijkl",
    error: new Error("failed for acme_1_api_ABCDEFGHIJKLMNOPQRSTUVWX"),
  });
  const line = lines[0]!;
  for (
    const s of [
      "ABCDEFGHIJKLMNOPQRSTUVWX",
      "super-secret-root-value",
      "sk-admin-123",
      "abcdefghijklmnop",
      "AAAAAAAAAAAA",
      "sk-live",
    ]
  ) {
    assert.ok(!line.includes(s), `${s} leaked: ${line}`);
  }
  const parsed = JSON.parse(line);
  assert.equal(parsed.org_slug, "acme_1");
  assert.equal(parsed.level, "info");
  assert.deepEqual(redact({ is_active: true, token_count: 5 }), { is_active: true, token_count: 5 });
});

Deno.test("a request line redacts the strings a client chooses and keeps bound fields; none below the level", () => {
  const lines: string[] = [];
  const log = new Logger({ sink: (l) => lines.push(l) }).child({ service: "api", request_id: "bound-id" });
  log.addSecret("super-secret-root-value");
  const leakyId = "acme_1_api_ABCDEFGHIJKLMNOPQRSTUVWX";
  const path = "/api/v1/x/super-secret-root-value/acme_1_api_ABCDEFGHIJKLMNOPQRSTUVWX";
  log.info("request", { request_id: leakyId, method: "GET", path, status: 401, duration_ms: 0.4 });
  log.info("request", { request_id: "req-12345678", method: "POST", path: "/p", status: 200, org_slug: "acme_1" });
  const [leaky, withOrg] = lines.map((l) => JSON.parse(l));
  for (const line of lines) {
    assert.ok(!line.includes("ABCDEFGHIJKLMNOPQRSTUVWX") && !line.includes("super-secret"), `leak: ${line}`);
  }
  assert.deepEqual(Object.keys(leaky), [
    "time",
    "level",
    "msg",
    "service",
    "request_id",
    "method",
    "path",
    "status",
    "duration_ms",
  ], "the line's own fields override bound ones in place");
  assert.equal(leaky.status, 401);
  assert.equal(leaky.duration_ms, 0.4);
  assert.equal(withOrg.org_slug, "acme_1");
  assert.equal(withOrg.request_id, "req-12345678");
  assert.equal(withOrg.service, "api");
  const quiet: string[] = [];
  new Logger({ sink: (l) => quiet.push(l), level: "warn" }).info("request", { path: "/" });
  assert.equal(quiet.length, 0, "an info line was written at level warn");
});
