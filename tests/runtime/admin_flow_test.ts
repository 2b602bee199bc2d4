import assert from "node:assert/strict";
import { ROOT, startHarness } from "./_harness.ts";

Deno.test("the admin flow: bootstrap -> dryrun -> onboard -> org key works, on DuckDB", async (t) => {
  const h = await startHarness();
  try {
    await t.step("bootstrap needs the root key", async () => {
      assert.equal((await h.request("POST", "/api/v1/admin/bootstrap", { body: {} })).status, 401);
      const wrong = await h.request("POST", "/api/v1/admin/bootstrap", { root: ROOT + "x", body: {} });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.json.error.code, "UNAUTHORIZED");
    });
    await t.step("onboarding before bootstrap is refused with a clear error", async () => {
      const r = await h.request("POST", "/api/v1/organizations/onboard", {
        root: true,
        body: { org_slug: "early_org", company_name: "E", admin_email: "e@e.test" },
      });
      assert.equal(r.status, 409);
      assert.equal(r.json.error.code, "BOOTSTRAP_REQUIRED");
    });
    await t.step("bootstrap creates every central table and is idempotent", async () => {
      const first = await h.request("POST", "/api/v1/admin/bootstrap", {
        root: true,
        body: { force_recreate_dataset: false },
      });
      assert.equal(first.status, 200, first.text);
      assert.equal(first.json.tables_created.length, 17);
      const second = await h.request("POST", "/api/v1/admin/bootstrap", { root: true, body: {} });
      assert.equal(second.status, 200);
      assert.deepEqual(second.json.tables_created, []);
      assert.equal(second.json.tables_existing.length, 17);
      for (const table of first.json.tables_created) {
        assert.ok(await h.deps.warehouse.tableExists("organizations", table), table);
      }
    });
    await t.step("bootstrap rejects unknown and mistyped fields", async () => {
      const r = await h.request("POST", "/api/v1/admin/bootstrap", {
        root: true,
        body: { force_recreate_dataset: "yes" },
      });
      assert.equal(r.status, 400);
      assert.match(r.json.error.message, /force_recreate_dataset/);
    });
    await t.step("dryrun validates and creates nothing", async () => {
      const bad = await h.request("POST", "/api/v1/organizations/dryrun", {
        root: true,
        body: { org_slug: "Bad Slug;drop", company_name: "X", admin_email: "x@x.test" },
      });
      assert.equal(bad.status, 400);
      assert.match(bad.json.error.message, /org_slug/);
      const badEmail = await h.request("POST", "/api/v1/organizations/dryrun", {
        root: true,
        body: { org_slug: "acme_1", company_name: "X", admin_email: "not-an-email" },
      });
      assert.equal(badEmail.status, 400);
      assert.match(badEmail.json.error.message, /admin_email/);
      const ok = await h.request("POST", "/api/v1/organizations/dryrun", {
        root: true,
        body: { org_slug: "acme_1", company_name: "Acme", admin_email: "ops@acme.test", subscription_plan: "SCALE" },
      });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.json.ready_for_onboarding, true);
      assert.equal(ok.json.dataset_id, "acme_1_local");
      assert.equal(await h.deps.warehouse.datasetExists("acme_1_local"), false);
      const rows = await h.deps.warehouse.query("SELECT * FROM organizations.org_profiles");
      assert.equal(rows.length, 0);
    });
    let key = "";
    await t.step("onboard creates profile, subscription, quotas, key and dataset; the key is shown once", async () => {
      const extra = await h.request("POST", "/api/v1/organizations/onboard", {
        root: true,
        body: { org_slug: "acme_1", company_name: "Acme", admin_email: "ops@acme.test", is_admin: true },
      });
      assert.equal(extra.status, 400);
      assert.match(extra.json.error.message, /is_admin/);
      const r = await h.request("POST", "/api/v1/organizations/onboard", {
        root: true,
        body: {
          org_slug: "acme_1",
          company_name: "Acme",
          admin_email: "ops@acme.test",
          subscription_plan: "PROFESSIONAL",
        },
      });
      assert.equal(r.status, 201, r.text);
      key = r.json.api_key;
      assert.match(key, /^acme_1_api_[A-Za-z0-9]{24}$/);
      assert.equal(r.json.api_key_fingerprint, key.slice(-4));
      assert.equal(r.json.dataset_id, "acme_1_local");
      assert.equal(r.json.subscription_plan, "PROFESSIONAL");
      assert.equal(r.json.limits.max_pipelines_per_day, 25);
      assert.ok(await h.deps.warehouse.datasetExists("acme_1_local"));
      const [sub] = await h.deps.warehouse.query<Record<string, unknown>>(
        "SELECT plan_name, max_concurrent_pipelines FROM organizations.org_subscriptions WHERE org_slug = @o",
        { o: "acme_1" },
      );
      assert.deepEqual(sub, { plan_name: "PROFESSIONAL", max_concurrent_pipelines: 3 });
      const [stored] = await h.deps.warehouse.query<Record<string, string>>(
        "SELECT org_api_key_hash, encrypted_org_api_key, fingerprint FROM organizations.org_api_keys WHERE org_slug = @o",
        { o: "acme_1" },
      );
      assert.ok(stored);
      assert.notEqual(stored.org_api_key_hash, key);
      assert.ok(!stored.encrypted_org_api_key!.includes(key.slice(11)), "only an encrypted copy is stored");
      assert.equal(
        await h.deps.vault.decrypt(stored.encrypted_org_api_key!, { org_slug: "acme_1", provider: "ORG_API_KEY" }),
        key,
      );
    });
    await t.step("a second onboard of the slug is 409", async () => {
      const r = await h.request("POST", "/api/v1/organizations/onboard", {
        root: true,
        body: { org_slug: "acme_1", company_name: "Acme", admin_email: "ops@acme.test" },
      });
      assert.equal(r.status, 409);
      assert.equal(r.json.error.code, "ORG_EXISTS");
      const dry = await h.request("POST", "/api/v1/organizations/dryrun", {
        root: true,
        body: { org_slug: "acme_1", company_name: "Acme", admin_email: "ops@acme.test" },
      });
      assert.equal(dry.json.ready_for_onboarding, false);
    });
    await t.step("the org key works on its own routes", async () => {
      const r = await h.request("GET", "/api/v1/integrations/acme_1", { key });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(Object.keys(r.json.integrations).sort(), ["ANTHROPIC", "DEEPSEEK", "GCP_SA", "OPENAI"]);
      assert.equal(r.json.integrations.OPENAI.status, "NOT_CONFIGURED");
      const cat = await h.request("GET", "/api/v1/pipelines", { key });
      assert.equal(cat.status, 200);
      assert.ok(cat.json.pipelines.some((p: { path: string }) => p.path === "openai/usage_cost"));
      const runs = await h.request("GET", "/api/v1/pipelines/runs/acme_1", { key });
      assert.equal(runs.status, 200, runs.text);
      assert.deepEqual(runs.json.runs, []);
    });
    await t.step("rotation issues a new key and kills the old one at once", async () => {
      const r = await h.request("POST", "/api/v1/organizations/acme_1/api-key/rotate", { key, body: {} });
      assert.equal(r.status, 200, r.text);
      const fresh = r.json.api_key;
      assert.notEqual(fresh, key);
      assert.equal((await h.request("GET", "/api/v1/integrations/acme_1", { key })).status, 401);
      assert.equal((await h.request("GET", "/api/v1/integrations/acme_1", { key: fresh })).status, 200);
      const byRoot = await h.request("POST", "/api/v1/organizations/acme_1/api-key/rotate", { root: true });
      assert.equal(byRoot.status, 200);
      assert.equal((await h.request("GET", "/api/v1/integrations/acme_1", { key: fresh })).status, 401);
      const missing = await h.request("POST", "/api/v1/organizations/nobody_here/api-key/rotate", { root: true });
      assert.equal(missing.status, 404);
    });
  } finally {
    await h.close();
  }
});
