/** Key-shaped input is never echoed in an error body nor written to a log line (access log included). */
import assert from "node:assert/strict";
import { startHarness } from "../runtime/_harness.ts";
import { redactKeys } from "../../runtime/logger.ts";

Deno.test("a key in a URL path or a header is neither echoed in the error nor logged", async (t) => {
  const h = await startHarness();
  try {
    await h.bootstrap();
    const key = await h.onboard("acme_corp");
    const shapes = [
      key,
      key.replaceAll("_", "%5F"),
      "Other_Org_api_" + "Zx9".repeat(8),
      "ca_root_" + "q1W2e3R4t5Y6u7I8o9P0".repeat(2),
    ];
    for (const shape of shapes) {
      await t.step(`shape ${shape.slice(0, 12)}...`, async () => {
        const paths = [
          `/api/v1/organizations/${shape}`,
          `/api/v1/nope/${shape}`,
          `/api/v1/integrations/${shape}`,
          `/api/v1/pipelines/run/${shape}/openai/usage_cost`,
          `/api/v1/costs/${shape}/summary`,
        ];
        for (const path of paths) {
          const before = h.logs.length;
          const r = await h.request("GET", path, { key });
          assert.ok(r.status >= 400, `${path} -> ${r.status}`);
          assert.ok(!r.text.includes(shape), `${path} echoed the key: ${r.text}`);
          const lines = h.logs.slice(before);
          assert.ok(lines.some((l) => l.includes('"msg":"request"')), "an access log line was written");
          for (const l of lines) assert.ok(!l.includes(shape), `logged: ${l}`);
        }
        const r = await h.request("POST", "/api/v1/organizations/onboard", {
          root: true,
          body: { org_slug: shape, company_name: shape, admin_email: `${shape}@x.test`, subscription_plan: shape },
        });
        assert.equal(r.status, 400);
        assert.ok(!r.text.includes(shape), r.text);
      });
    }
  } finally {
    await h.close();
  }
});

Deno.test("redactKeys() hides org-key and root-key shapes but leaves table and column names readable", () => {
  assert.equal(redactKeys("GET /x/acme_api_ABCDEFGHijklmnop12/y"), "GET /x/[REDACTED]/y");
  assert.equal(redactKeys("key acme%5Fapi%5FABCDEFGHijklmnop12"), "key [REDACTED]");
  assert.equal(redactKeys("ca_root_0123456789abcdef"), "[REDACTED]");
  const sql = "SELECT org_api_key_hash FROM organizations.org_api_keys";
  assert.equal(redactKeys(sql), sql);
});
