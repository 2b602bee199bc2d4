/** The OpenAI subscriptions API: defaults from configs/, effective dating, validation and tenant isolation. */
import assert from "node:assert/strict";
import { pipelines } from "../../generated/manifest.ts";
import type { PipelineModule } from "../../src/pipeline/module.ts";
import { normaliseDecimal } from "../../src/pricing/mod.ts";
import { type Harness, startHarness } from "./_harness.ts";

const url = (org: string, rest = "") => `/api/v1/integrations/${org}/openai/subscriptions${rest}`;

/** The seed rows compiled from configs/openai/seed/data/default_subscriptions.csv. */
function seedRows(): readonly Record<string, unknown>[] {
  const p = (pipelines as Record<string, PipelineModule>)["integrations/openai/setup"]!;
  return p.steps.find((s) => s.psType === "integrations.seed" && s.seed?.table === "org_openai_subscriptions")!
    .seed!.rows;
}

async function withOrgs(fn: (h: Harness, keyA: string, keyB: string) => Promise<void>): Promise<void> {
  const h = await startHarness({ RATE_LIMIT_ENABLED: "false" });
  try {
    await h.bootstrap();
    await fn(h, await h.onboard("org_alpha"), await h.onboard("org_beta"));
  } finally {
    await h.close();
  }
}

const tableRows = (h: Harness, org: string) =>
  h.deps.warehouse.query(
    `SELECT plan_name, quantity, unit_price_usd, billing_period, effective_from, effective_to, source, notes
     FROM organizations.org_openai_subscriptions WHERE org_slug = @org ORDER BY plan_name, effective_from`,
    { org },
  );

const custom = { plan_name: "ENTERPRISE", quantity: 3, unit_price_usd: "1999.990000001", billing_period: "yearly" };

Deno.test("subscriptions reset loads the configs/ default plans and the list shows them", async () => {
  await withOrgs(async (h, key) => {
    const expected = [...seedRows()].sort((a, b) => String(a.plan_name) < String(b.plan_name) ? -1 : 1);
    const reset = await h.request("POST", url("org_alpha", "/reset"), { key });
    assert.equal(reset.status, 200, reset.text);
    assert.deepEqual(reset.json, {
      success: true,
      org_slug: "org_alpha",
      provider: "openai",
      deleted: 0,
      inserted: expected.length,
    });
    const list = await h.request("GET", url("org_alpha"), { key });
    assert.equal(list.status, 200);
    assert.equal(list.json.count, expected.length);
    list.json.subscriptions.forEach((p: Record<string, unknown>, i: number) => {
      const seed = expected[i]!;
      for (
        const k of ["plan_name", "quantity", "billing_period", "rpm_limit", "tpm_limit", "effective_from", "notes"]
      ) {
        assert.equal(p[k], seed[k] ?? null, `${seed.plan_name} ${k}`);
      }
      assert.equal(p.effective_to, seed.effective_to ?? null);
      assert.equal(p.unit_price_usd, normaliseDecimal(String(seed.unit_price_usd)));
      const limit = seed.monthly_spend_limit_usd;
      assert.equal(p.monthly_spend_limit_usd, limit == null ? null : normaliseDecimal(String(limit)));
      assert.equal(p.source, "seed");
    });
    const again = await h.request("POST", url("org_alpha", "/reset"), { key, body: {} });
    assert.equal(again.json.deleted, expected.length);
    assert.equal((await tableRows(h, "org_alpha")).length, expected.length);
  });
});

Deno.test("a plan can be added, updated and deleted, with its fee kept exact", async () => {
  await withOrgs(async (h, key) => {
    const add = await h.request("POST", url("org_alpha"), {
      key,
      body: { ...custom, rpm_limit: 100, effective_from: "2025-01-01", notes: "3 seats" },
    });
    assert.equal(add.status, 201, add.text);
    assert.equal(add.json.org_slug, "org_alpha");
    assert.equal(add.json.unit_price_usd, "1999.990000001");
    assert.equal(add.json.quantity, 3);
    assert.equal(add.json.billing_period, "yearly");
    assert.equal(add.json.rpm_limit, 100);
    assert.equal(add.json.tpm_limit, null);
    assert.equal(add.json.source, "user");
    const put = await h.request("PUT", url("org_alpha", "/ENTERPRISE"), {
      key,
      body: { quantity: 5, rpm_limit: null, monthly_spend_limit_usd: 2500.5 },
    });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json.quantity, 5);
    assert.equal(put.json.rpm_limit, null);
    assert.equal(put.json.monthly_spend_limit_usd, "2500.5");
    assert.equal(put.json.unit_price_usd, "1999.990000001");
    const one = await h.request("GET", url("org_alpha", "?plan_name=ENTERPRISE"), { key });
    assert.deepEqual(one.json.subscriptions, [(({ org_slug: _, ...row }) => row)(put.json)]);
    const del = await h.request("DELETE", url("org_alpha", "/ENTERPRISE"), { key });
    assert.deepEqual(del.json, {
      success: true,
      org_slug: "org_alpha",
      provider: "openai",
      plan_name: "ENTERPRISE",
      deleted: 1,
    });
    assert.equal((await h.request("DELETE", url("org_alpha", "/ENTERPRISE"), { key })).status, 404);
    assert.equal((await h.request("PUT", url("org_alpha", "/ENTERPRISE"), { key, body: { quantity: 1 } })).status, 404);
  });
});

Deno.test("a new plan version closes the open one and a duplicate plan in force is a 409", async () => {
  await withOrgs(async (h, key) => {
    await h.request("POST", url("org_alpha", "/reset"), { key });
    const next = await h.request("POST", url("org_alpha"), {
      key,
      body: { plan_name: "TIER1", quantity: 0, unit_price_usd: 0, rpm_limit: 1000, effective_from: "2025-10-01" },
    });
    assert.equal(next.status, 201, next.text);
    assert.deepEqual(next.json.closed_previous, { effective_from: "2025-01-01", effective_to: "2025-10-01" });
    const inForce = async (day: string) => {
      const r = await h.request("GET", url("org_alpha", `?plan_name=TIER1&as_of=${day}`), { key });
      assert.equal(r.json.count, 1, day);
      return r.json.subscriptions[0].rpm_limit;
    };
    assert.equal(await inForce("2025-09-30"), 500);
    assert.equal(await inForce("2025-10-01"), 1000);
    const all = await h.request("GET", url("org_alpha", "?as_of=2024-12-31"), { key });
    assert.equal(all.json.count, 0, "no plan before the defaults start");
    for (const effective_from of ["2025-10-01", "2025-06-01"]) {
      const dup = await h.request("POST", url("org_alpha"), {
        key,
        body: { plan_name: "TIER1", quantity: 0, unit_price_usd: 0, effective_from },
      });
      assert.equal(dup.status, 409, `${effective_from}: ${dup.text}`);
      const code = effective_from === "2025-10-01" ? "SUBSCRIPTION_EXISTS" : "SUBSCRIPTION_OVERLAP";
      assert.equal(dup.json.error.code, code, "a version starting the same day exists; one starting earlier overlaps");
    }
    const tier1 = (await tableRows(h, "org_alpha")).filter((r) => r.plan_name === "TIER1");
    assert.deepEqual(tier1.map((r) => [r.effective_from, r.effective_to]), [
      ["2025-01-01", "2025-10-01"],
      ["2025-10-01", null],
    ]);
  });
});

Deno.test("invalid plans are refused with 400 naming the field and nothing is written", async () => {
  await withOrgs(async (h, key) => {
    await h.request("POST", url("org_alpha", "/reset"), { key });
    const before = await tableRows(h, "org_alpha");
    const cases: [Record<string, unknown>, string][] = [
      [{ ...custom, plan_name: "enterprise" }, 'Field "plan_name"'],
      [{ ...custom, plan_name: "X'; DROP TABLE organizations.org_openai_subscriptions--" }, 'Field "plan_name"'],
      [{ ...custom, quantity: -1 }, 'Field "quantity"'],
      [{ ...custom, quantity: 1.5 }, 'Field "quantity"'],
      [{ ...custom, unit_price_usd: "-1" }, 'Field "unit_price_usd": must not be negative'],
      [{ ...custom, unit_price_usd: "1.0000000001" }, 'Field "unit_price_usd": must have at most 9 decimals'],
      [{ ...custom, billing_period: "weekly" }, 'Field "billing_period"'],
      [{ ...custom, tpm_limit: -5 }, 'Field "tpm_limit"'],
      [{ ...custom, seats: 3 }, 'Unknown field "seats"'],
      [{ ...custom, effective_from: "2025-05-01", effective_to: "2025-04-01" }, 'Field "effective_to"'],
      [{ plan_name: "X", quantity: 1 }, 'Field "unit_price_usd": is required'],
    ];
    for (const [body, message] of cases) {
      const r = await h.request("POST", url("org_alpha"), { key, body });
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
      assert.ok(r.json.error.message.includes(message), `${r.json.error.message} should include ${message}`);
    }
    const sqlPath = url("org_alpha", `/${encodeURIComponent("TIER1' OR '1'='1")}`);
    for (const method of ["PUT", "DELETE"]) {
      const r = await h.request(method, sqlPath, { key, body: { quantity: 1 } });
      assert.equal(r.status, 400, `${method}: ${r.text}`);
      assert.match(r.json.error.message, /Field "plan_name"/);
    }
    assert.equal((await h.request("GET", url("org_alpha", "?plan_name=tier1"), { key })).status, 400);
    assert.equal(
      (await h.request("PUT", url("org_alpha", "/TIER1"), { key, body: { plan_name: "TIER9" } })).status,
      400,
    );
    assert.equal((await h.request("PUT", url("org_alpha", "/TIER1"), { key, body: {} })).status, 400);
    assert.ok(await h.deps.warehouse.tableExists("organizations", "org_openai_subscriptions"));
    assert.deepEqual(await tableRows(h, "org_alpha"), before);
  });
});

Deno.test("subscriptions exist only for openai: other providers answer 404", async () => {
  await withOrgs(async (h, key) => {
    for (const provider of ["anthropic", "gcp"]) {
      const r = await h.request("GET", `/api/v1/integrations/org_alpha/${provider}/subscriptions`, { key });
      assert.equal(r.status, 404);
      assert.equal(r.json.error.code, "NOT_FOUND");
    }
  });
});

Deno.test("another org's key is refused on every subscriptions route and neither org's changes touch the other", async () => {
  await withOrgs(async (h, keyA, keyB) => {
    await h.request("POST", url("org_alpha", "/reset"), { key: keyA });
    await h.request("POST", url("org_alpha"), { key: keyA, body: { ...custom, effective_from: "2025-01-01" } });
    const before = await tableRows(h, "org_alpha");
    const attempts: [string, string, unknown][] = [
      ["GET", url("org_alpha"), undefined],
      ["POST", url("org_alpha"), { ...custom, plan_name: "HIJACK" }],
      ["PUT", url("org_alpha", "/ENTERPRISE"), { quantity: 0 }],
      ["DELETE", url("org_alpha", "/ENTERPRISE"), undefined],
      ["POST", url("org_alpha", "/reset"), {}],
    ];
    for (const [method, path, body] of attempts) {
      const r = await h.request(method, path, { key: keyB, body });
      assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
      assert.equal(r.json.error.code, "FORBIDDEN");
    }
    assert.deepEqual(await tableRows(h, "org_alpha"), before);
    assert.equal((await h.request("POST", url("org_beta", "/reset"), { key: keyB })).json.deleted, 0);
    assert.equal((await h.request("DELETE", url("org_beta", "/ENTERPRISE"), { key: keyB })).status, 404);
    assert.equal((await h.request("DELETE", url("org_beta", "/FREE"), { key: keyB })).status, 200);
    assert.deepEqual(await tableRows(h, "org_alpha"), before);
  });
});

Deno.test("seedSubscriptions with onlyIfEmpty leaves an org's existing plans alone", async () => {
  await withOrgs(async (h) => {
    const now = new Date("2025-11-20T08:00:00Z");
    const opts = { onlyIfEmpty: true };
    const first = await h.deps.stores.prices.seedSubscriptions("org_alpha", seedRows(), now, opts);
    assert.deepEqual(first, { deleted: 0, inserted: seedRows().length, skipped: false });
    const second = await h.deps.stores.prices.seedSubscriptions("org_alpha", seedRows(), now, opts);
    assert.deepEqual(second, { deleted: 0, inserted: 0, skipped: true });
    assert.equal((await tableRows(h, "org_beta")).length, 0);
  });
});

Deno.test("two concurrent POSTs of a new plan answer one 201 and one 409 SUBSCRIPTION_EXISTS (10 races)", async () => {
  await withOrgs(async (h, key) => {
    for (let i = 0; i < 10; i++) {
      const plan_name = `RACE_${i}`;
      const post = (quantity: number) =>
        h.request("POST", url("org_alpha"), { key, body: { plan_name, quantity, unit_price_usd: "10" } });
      const [a, b] = await Promise.all([post(1), post(2)]);
      assert.deepEqual([a.status, b.status].sort(), [201, 409], `race ${i}: ${a.text} / ${b.text}`);
      const [winner, loser] = a.status === 201 ? [a, b] : [b, a];
      assert.equal(loser.json.error.code, "SUBSCRIPTION_EXISTS");
      const rows = (await tableRows(h, "org_alpha")).filter((r) => r.plan_name === plan_name);
      assert.deepEqual(rows.map((r) => Number(r.quantity)), [winner.json.quantity], `race ${i}: the winner only`);
    }
  });
});

Deno.test("concurrent first seeds and resets of the plans never duplicate a plan", async () => {
  await withOrgs(async (h, key) => {
    const now = new Date("2025-11-20T08:00:00Z");
    const seeds = await Promise.all(
      Array.from(
        { length: 6 },
        () => h.deps.stores.prices.seedSubscriptions("org_alpha", seedRows(), now, { onlyIfEmpty: true }),
      ),
    );
    assert.equal(seeds.filter((r) => !r.skipped).length, 1, JSON.stringify(seeds));
    const resets = await Promise.all(
      Array.from({ length: 4 }, () => h.request("POST", url("org_alpha", "/reset"), { key })),
    );
    for (const r of resets) assert.equal(r.status, 200, r.text);
    const rows = await tableRows(h, "org_alpha");
    assert.equal(rows.length, seedRows().length, "each reset replaced the rows; none added a second copy");
  });
});
