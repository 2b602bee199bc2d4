/** Cached org keys never outlive their dataset: force-recreate drops them at once; other instances within 30 s. */
import assert from "node:assert/strict";
import { startHarness } from "./_harness.ts";
import { ApiKeyStore, KEY_CACHE_TTL_MS } from "../../src/central/api_keys.ts";
import { tables } from "../../generated/pipelines/setup/bootstrap.ts";

Deno.test("after a force-recreated bootstrap old org keys are refused at once, even once the slug is re-onboarded", async () => {
  const h = await startHarness({ SCHEDULER_ENABLED: "false" });
  try {
    await h.bootstrap();
    const old = await h.onboard("acme_corp");
    assert.equal((await h.request("GET", "/api/v1/integrations/acme_corp", { key: old })).status, 200);
    const r = await h.request("POST", "/api/v1/admin/bootstrap", {
      root: true,
      body: { force_recreate_dataset: true },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal((await h.request("GET", "/api/v1/integrations/acme_corp", { key: old })).status, 401);
    const fresh = await h.onboard("acme_corp");
    assert.equal((await h.request("GET", "/api/v1/integrations/acme_corp", { key: old })).status, 401);
    assert.equal((await h.request("GET", "/api/v1/integrations/acme_corp", { key: fresh })).status, 200);
  } finally {
    await h.close();
  }
});

Deno.test("another instance's cache trusts a key for 30 s at most", async () => {
  assert.ok(KEY_CACHE_TTL_MS <= 30_000, `${KEY_CACHE_TTL_MS} ms`);
  const h = await startHarness({ SCHEDULER_ENABLED: "false" });
  try {
    await h.bootstrap();
    const key = await h.onboard("acme_corp");
    // A second instance on the same warehouse, with a short TTL so the test need not wait 30 s.
    const other = new ApiKeyStore(h.deps.warehouse, tables, h.deps.vault, { ttlMs: 200 });
    assert.equal((await other.lookup(key))?.orgSlug, "acme_corp");
    await h.deps.warehouse.execute("UPDATE organizations.org_api_keys SET is_active = FALSE");
    assert.equal((await other.lookup(key))?.orgSlug, "acme_corp", "still cached within the TTL");
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(await other.lookup(key), null);
  } finally {
    await h.close();
  }
});

Deno.test("the scheduler's queue pump treats a missing central dataset as nothing to do, quietly", async () => {
  const h = await startHarness({ SCHEDULER_ENABLED: "false" });
  try {
    await h.bootstrap();
    await h.deps.warehouse.dropDataset("organizations");
    const before = h.logs.length;
    h.deps.scheduler.kick();
    await h.deps.scheduler.idle();
    const errors = h.logs.slice(before).filter((l) => /"level":"(error|warn)"/.test(l));
    assert.deepEqual(errors, []);
  } finally {
    await h.close();
  }
});
