/** The orgs store on DuckDB: onboarding's rows written in one transaction over whatever a failed attempt left. */
import assert from "node:assert/strict";
import { openCentral } from "./_central.ts";
import type { CentralStores, OnboardingRows } from "../../src/central/mod.ts";

const TS = "2026-03-02T10:00:00.000Z";

async function rows(stores: CentralStores, slug: string, email: string): Promise<OnboardingRows> {
  const key = await stores.apiKeys.issue(slug, 24, new Date(TS));
  return {
    subscription: {
      subscription_id: crypto.randomUUID(),
      org_slug: slug,
      plan_name: "STARTER",
      status: "ACTIVE",
      max_pipelines_per_day: 10,
      max_pipelines_per_month: 100,
      max_concurrent_pipelines: 2,
      starts_at: TS,
      created_at: TS,
    },
    usage: {
      usage_id: crypto.randomUUID(),
      org_slug: slug,
      usage_date: "2026-03-02",
      pipelines_run_today: 0,
      pipelines_succeeded_today: 0,
      pipelines_failed_today: 0,
      pipelines_run_month: 0,
      concurrent_pipelines_running: 0,
      daily_limit: 10,
      monthly_limit: 100,
      concurrent_limit: 2,
      last_updated: TS,
    },
    key,
    profile: {
      org_slug: slug,
      company_name: "Acme",
      admin_email: email,
      status: "ACTIVE",
      subscription_plan: "STARTER",
      org_dataset_id: `${slug}_local`,
      created_at: TS,
      updated_at: TS,
    },
  };
}

async function onboard(stores: CentralStores, slug: string, email: string) {
  const written = await rows(stores, slug, email);
  return { key: written.key, cleared: await stores.orgs.writeOnboarding(slug, written) };
}

Deno.test("onboarding an org again replaces its four rows, and the org's recipients come from its profile", async () => {
  const c = await openCentral();
  try {
    const { stores } = c;
    assert.deepEqual(await stores.orgs.missingTables(), []);
    assert.equal(await stores.orgs.exists("acme"), false);
    const first = await onboard(stores, "acme", "old@acme.example");
    assert.equal(first.cleared, 0);
    assert.equal(await stores.orgs.exists("acme"), true);
    const again = await onboard(stores, "acme", "admin@acme.example");
    assert.equal(again.cleared, 4, "profile, key, usage and subscription of the first onboard");
    stores.apiKeys.forgetOrg("acme");
    assert.equal(await stores.apiKeys.lookup(first.key.apiKey), null);
    assert.equal((await stores.apiKeys.lookup(again.key.apiKey))?.orgSlug, "acme");
    assert.deepEqual(await stores.orgs.recipients("acme", "openai/usage_cost"), ["admin@acme.example"]);
    await stores.orgs.deleteProfile("acme");
    assert.equal(await stores.orgs.exists("acme"), false);
  } finally {
    await c.close();
  }
});

Deno.test("an onboarding transaction that fails leaves no row behind", async () => {
  const c = await openCentral();
  try {
    const valid = await rows(c.stores, "acme", "admin@acme.example");
    const key = valid.key;
    // The profile, written last, lacks its REQUIRED columns: the key and the other rows were written before it.
    await assert.rejects(c.stores.orgs.writeOnboarding("acme", { ...valid, profile: { org_slug: "acme" } }));
    assert.equal(await c.stores.apiKeys.lookup(key.apiKey), null);
    assert.equal((await c.warehouse.query("SELECT org_slug FROM organizations.org_subscriptions")).length, 0);
  } finally {
    await c.close();
  }
});
