/** The pricing API: defaults from configs/, effective dating, exact decimals, validation and tenant isolation. */
import assert from "node:assert/strict";
import { pipelines } from "../../generated/manifest.ts";
import type { PipelineModule } from "../../src/pipeline/module.ts";
import { normaliseDecimal } from "../../src/pricing/mod.ts";
import { PRICED_SLUGS } from "../../src/providers/catalogue.ts";
import { type Harness, startHarness } from "./_harness.ts";

const PROVIDERS = PRICED_SLUGS;
const AMOUNTS = "input_per_1m cached_input_per_1m cache_write_5m_per_1m cache_write_1h_per_1m output_per_1m".split(" ");
const url = (org: string, provider = "openai", rest = "") => `/api/v1/integrations/${org}/${provider}/pricing${rest}`;

/** The seed rows compiled from configs/<provider>/seed/data/default_pricing.csv. */
function seedRows(provider: string): readonly Record<string, unknown>[] {
  const p = (pipelines as Record<string, PipelineModule>)[`integrations/${provider}/setup`]!;
  return p.steps.find((s) => s.psType === "integrations.seed" && s.seed?.table === "org_model_pricing")!.seed!.rows;
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

/** The warehouse's ORDER BY on strings: plain code-unit order. */
const byteOrder = (a: unknown, b: unknown) => String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;

/** Every pricing row of an org straight from the table. */
const tableRows = (h: Harness, org: string) =>
  h.deps.warehouse.query(
    `SELECT provider, model_id, input_per_1m, output_per_1m, effective_from, effective_to, source, notes
     FROM organizations.org_model_pricing WHERE org_slug = @org ORDER BY provider, model_id, effective_from`,
    { org },
  );

Deno.test("pricing reset loads the configs/ defaults of each provider and the list shows them in order", async () => {
  await withOrgs(async (h, key) => {
    for (const provider of PROVIDERS) {
      const reset = await h.request("POST", url("org_alpha", provider, "/reset"), { key });
      assert.equal(reset.status, 200, reset.text);
      const expected = [...seedRows(provider)].sort((a, b) =>
        byteOrder(a.model_id, b.model_id) || byteOrder(a.effective_from, b.effective_from)
      );
      assert.deepEqual(reset.json, {
        success: true,
        org_slug: "org_alpha",
        provider,
        deleted: 0,
        inserted: expected.length,
      });
      const list = await h.request("GET", url("org_alpha", provider), { key });
      assert.equal(list.status, 200);
      assert.equal(list.json.count, expected.length);
      assert.deepEqual(list.json.prices.map((p: { model_id: string }) => p.model_id), expected.map((r) => r.model_id));
      list.json.prices.forEach((p: Record<string, unknown>, i: number) => {
        const seed = expected[i]!;
        assert.equal(p.provider, provider);
        assert.equal(p.source, "seed");
        for (const k of ["effective_from", "effective_to", "currency", "notes"]) assert.equal(p[k], seed[k] ?? null, k);
        for (const k of AMOUNTS) {
          assert.equal(p[k], seed[k] == null ? null : normaliseDecimal(String(seed[k])), `${seed.model_id} ${k}`);
        }
      });
      const again = await h.request("POST", url("org_alpha", provider, "/reset"), { key, body: {} });
      assert.equal(again.json.deleted, expected.length, "a second reset replaces, never duplicates");
      assert.equal((await h.request("GET", url("org_alpha", provider), { key })).json.count, expected.length);
    }
  });
});

Deno.test("a price can be added, updated, deleted and reset, with amounts kept exact", async () => {
  await withOrgs(async (h, key) => {
    const body = {
      model_id: "acme-llm-1",
      input_per_1m: "123456.123456789",
      cached_input_per_1m: 1e-7,
      output_per_1m: 0.1,
      currency: "EUR",
      effective_from: "2025-03-01",
      notes: "custom",
    };
    const add = await h.request("POST", url("org_alpha"), { key, body });
    assert.equal(add.status, 201, add.text);
    assert.equal(add.json.org_slug, "org_alpha");
    assert.equal(add.json.input_per_1m, "123456.123456789");
    assert.equal(add.json.cached_input_per_1m, "0.0000001");
    assert.equal(add.json.output_per_1m, "0.1");
    assert.equal(add.json.cache_write_5m_per_1m, null);
    assert.equal(add.json.currency, "EUR");
    assert.equal(add.json.source, "user");
    assert.equal(add.json.effective_to, null);
    assert.equal(add.json.closed_previous, null);

    const put = await h.request("PUT", url("org_alpha", "openai", "/acme-llm-1"), {
      key,
      body: { output_per_1m: "2.000000001", cached_input_per_1m: null, notes: "edited" },
    });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json.output_per_1m, "2.000000001");
    assert.equal(put.json.cached_input_per_1m, null);
    assert.equal(put.json.input_per_1m, "123456.123456789", "fields not named stay");
    assert.equal(put.json.notes, "edited");
    const listed = await h.request("GET", url("org_alpha", "openai", "?model_id=acme-llm-1"), { key });
    assert.equal(listed.json.count, 1);
    assert.deepEqual(listed.json.prices[0], (({ org_slug: _, ...row }) => row)(put.json));

    const withSlash = await h.request("POST", url("org_alpha"), {
      key,
      body: { model_id: "accounts/acme/models/x", input_per_1m: 1, output_per_1m: 2 },
    });
    assert.equal(withSlash.status, 201, withSlash.text);
    const today = new Date().toISOString().slice(0, 10);
    assert.equal(withSlash.json.effective_from, today, "effective_from defaults to today (UTC)");
    assert.equal(withSlash.json.currency, "USD");
    const slashPut = await h.request("PUT", url("org_alpha", "openai", "/accounts%2Facme%2Fmodels%2Fx"), {
      key,
      body: { input_per_1m: "1.5" },
    });
    assert.equal(slashPut.status, 200, slashPut.text);
    assert.equal(slashPut.json.input_per_1m, "1.5");

    const del = await h.request("DELETE", url("org_alpha", "openai", "/acme-llm-1"), { key });
    assert.equal(del.status, 200);
    assert.deepEqual(del.json, {
      success: true,
      org_slug: "org_alpha",
      provider: "openai",
      model_id: "acme-llm-1",
      deleted: 1,
    });
    assert.equal((await h.request("DELETE", url("org_alpha", "openai", "/acme-llm-1"), { key })).status, 404);

    const reset = await h.request("POST", url("org_alpha", "openai", "/reset"), { key });
    assert.equal(reset.json.deleted, 1, "reset removes user rows of the provider");
    const models = (await tableRows(h, "org_alpha")).map((r) => r.model_id);
    assert.ok(!models.includes("accounts/acme/models/x"));
    assert.equal(models.length, seedRows("openai").length);
  });
});

Deno.test("a new price closes the open one at its start and as_of picks the price in force that day", async () => {
  await withOrgs(async (h, key) => {
    await h.request("POST", url("org_alpha", "openai", "/reset"), { key });
    const add = await h.request("POST", url("org_alpha"), {
      key,
      body: { model_id: "o3", input_per_1m: "1.80", output_per_1m: "7.20", effective_from: "2025-09-01" },
    });
    assert.equal(add.status, 201, add.text);
    assert.deepEqual(add.json.closed_previous, { effective_from: "2025-06-10", effective_to: "2025-09-01" });
    const asOf = async (day: string) => {
      const r = await h.request("GET", url("org_alpha", "openai", `?model_id=o3&as_of=${day}`), { key });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.count, 1, `one o3 price in force on ${day}`);
      return r.json.prices[0].input_per_1m;
    };
    assert.equal(await asOf("2025-05-01"), "10");
    assert.equal(await asOf("2025-06-09"), "10");
    assert.equal(await asOf("2025-06-10"), "2", "effective_to is exclusive");
    assert.equal(await asOf("2025-08-31"), "2");
    assert.equal(await asOf("2025-09-01"), "1.8");
    assert.equal(await asOf("2030-01-01"), "1.8");
    const before = await h.request("GET", url("org_alpha", "openai", "?model_id=o3&as_of=2025-01-01"), { key });
    assert.equal(before.json.count, 0);
    const day = await h.request("GET", url("org_alpha", "openai", "?as_of=2025-05-01"), { key });
    assert.ok(day.json.prices.every((p: { effective_from: string }) => p.effective_from <= "2025-05-01"));

    const overlaps = [
      { effective_from: "2025-05-01", effective_to: "2025-05-10" },
      { effective_from: "2025-09-01" },
      { effective_from: "2025-03-01", effective_to: "2025-04-17" },
    ];
    for (const range of overlaps) {
      const r = await h.request("POST", url("org_alpha"), {
        key,
        body: { model_id: "o3", input_per_1m: 1, output_per_1m: 1, ...range },
      });
      assert.equal(r.status, 409, `${JSON.stringify(range)}: ${r.text}`);
      assert.equal(r.json.error.code, range.effective_from === "2025-09-01" ? "PRICE_EXISTS" : "PRICE_OVERLAP");
    }
    const history = await h.request("POST", url("org_alpha"), {
      key,
      body: {
        model_id: "o3",
        input_per_1m: 9,
        output_per_1m: 9,
        effective_from: "2025-01-01",
        effective_to: "2025-04-16",
      },
    });
    assert.equal(history.status, 201, "a closed range before the first price fits");
    assert.equal(history.json.closed_previous, null);

    const move = await h.request("PUT", url("org_alpha", "openai", "/o3"), {
      key,
      body: { effective_from: "2025-08-01" },
    });
    assert.equal(move.status, 409, "moving the open price back over the closed one overlaps");
    const end = await h.request("PUT", url("org_alpha", "openai", "/o3"), {
      key,
      body: { effective_to: "2026-01-01" },
    });
    assert.equal(end.status, 200, end.text);
    assert.equal(end.json.effective_from, "2025-09-01", "PUT changes the open row");
    assert.equal(end.json.effective_to, "2026-01-01");
    const o3 = (await tableRows(h, "org_alpha")).filter((r) => r.model_id === "o3");
    assert.deepEqual(o3.map((r) => [r.effective_from, r.effective_to]), [
      ["2025-01-01", "2025-04-16"],
      ["2025-04-16", "2025-06-10"],
      ["2025-06-10", "2025-09-01"],
      ["2025-09-01", "2026-01-01"],
    ]);
  });
});

Deno.test("invalid prices are refused with 400 naming the field and nothing is written", async () => {
  await withOrgs(async (h, key) => {
    await h.request("POST", url("org_alpha", "openai", "/reset"), { key });
    const before = await tableRows(h, "org_alpha");
    const valid = { model_id: "m1", input_per_1m: "1", output_per_1m: "2" };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...valid, input_per_1m: "-0.5" }, 'Field "input_per_1m": must not be negative'],
      [{ ...valid, output_per_1m: -3 }, 'Field "output_per_1m": must not be negative'],
      [{ ...valid, cached_input_per_1m: "0.1234567891" }, 'Field "cached_input_per_1m": must have at most 9 decimals'],
      [{ ...valid, input_per_1m: "1000000.01" }, 'Field "input_per_1m": must be at most 1000000'],
      [{ ...valid, input_per_1m: "1e3" }, 'Field "input_per_1m": must be a decimal string'],
      [{ ...valid, input_per_1m: true }, 'Field "input_per_1m": must be a decimal string or a number'],
      [{ model_id: "m1", input_per_1m: "1" }, 'Field "output_per_1m": is required'],
      [{ ...valid, currency: "GBP" }, 'Field "currency"'],
      [{ ...valid, price: "1" }, 'Unknown field "price"'],
      [{ ...valid, effective_from: "2025-02-30" }, 'Field "effective_from"'],
      [{ ...valid, effective_from: "2025-03-01", effective_to: "2025-02-01" }, 'Field "effective_to"'],
      [{ ...valid, effective_from: "2025-03-01", effective_to: "2025-03-01" }, 'Field "effective_to"'],
      [{ ...valid, model_id: "x'; DROP TABLE organizations.org_model_pricing--" }, 'Field "model_id"'],
      [{ ...valid, model_id: "-leading-dash" }, 'Field "model_id"'],
      [{ ...valid, model_id: "a".repeat(129) }, 'Field "model_id"'],
    ];
    for (const [body, message] of cases) {
      const r = await h.request("POST", url("org_alpha"), { key, body });
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
      assert.equal(r.json.error.code, "VALIDATION_ERROR");
      assert.ok(r.json.error.message.includes(message), `${r.json.error.message} should include ${message}`);
      assert.ok(r.json.error.request_id);
    }
    const sqlPath = url(
      "org_alpha",
      "openai",
      `/${encodeURIComponent("x'; DROP TABLE organizations.org_model_pricing--")}`,
    );
    for (const method of ["PUT", "DELETE"]) {
      const r = await h.request(method, sqlPath, { key, body: { notes: "x" } });
      assert.equal(r.status, 400, `${method}: ${r.text}`);
      assert.match(r.json.error.message, /Field "model_id"/);
    }
    const badQuery = await h.request("GET", url("org_alpha", "openai", "?model_id=x'%3B--"), { key });
    assert.equal(badQuery.status, 400);
    assert.equal((await h.request("GET", url("org_alpha", "openai", "?as_of=2025-13-01"), { key })).status, 400);
    assert.equal((await h.request("GET", url("org_alpha", "openai", "?sort=x"), { key })).status, 400);
    const empty = await h.request("PUT", url("org_alpha", "openai", "/gpt-4o"), { key, body: {} });
    assert.equal(empty.status, 400);
    const renamed = await h.request("PUT", url("org_alpha", "openai", "/gpt-4o"), { key, body: { model_id: "x" } });
    assert.match(renamed.json.error.message, /Unknown field "model_id"/);
    const badPut = await h.request("PUT", url("org_alpha", "openai", "/gpt-4o"), {
      key,
      body: { effective_to: "2024-01-01" },
    });
    assert.equal(badPut.status, 400, "effective_to before the row's effective_from");
    assert.match(badPut.json.error.message, /Field "effective_to"/);
    assert.equal((await h.request("POST", url("org_alpha", "openai", "/reset"), { key, body: { x: 1 } })).status, 400);
    assert.equal((await h.request("POST", url("org_alpha"), { key, raw: "{not json" })).status, 400);
    assert.ok(await h.deps.warehouse.tableExists("organizations", "org_model_pricing"));
    assert.deepEqual(await tableRows(h, "org_alpha"), before);
  });
});

Deno.test("pricing answers 404 for gcp, unknown providers and models without a price", async () => {
  await withOrgs(async (h, key) => {
    for (const provider of ["gcp", "aws", "OPENAI"]) {
      for (const [method, rest] of [["GET", ""], ["POST", ""], ["POST", "/reset"], ["PUT", "/m"], ["DELETE", "/m"]]) {
        const r = await h.request(method!, url("org_alpha", provider, rest), { key, body: { notes: "x" } });
        assert.equal(r.status, 404, `${method} ${provider}${rest}: ${r.text}`);
        assert.equal(r.json.error.code, "NOT_FOUND");
        assert.ok(r.json.error.request_id);
      }
    }
    const put = await h.request("PUT", url("org_alpha", "anthropic", "/claude-none"), { key, body: { notes: "x" } });
    assert.equal(put.status, 404);
    assert.match(put.json.error.message, /claude-none/);
    // DeepSeek has no usage to price (its spend is the drop in its balance): its pricing routes say so.
    for (const [method, rest] of [["GET", ""], ["POST", "/reset"], ["DELETE", "/deepseek-chat"]]) {
      const r = await h.request(method!, url("org_alpha", "deepseek", rest), { key, body: {} });
      assert.equal(r.status, 404, `${method} deepseek${rest}`);
      assert.match(
        r.json.error.message,
        /Provider "deepseek" has no model pricing: it has no usage API; its spend is the drop in its account balance/,
      );
    }
  });
});

Deno.test("another org's key is refused on every pricing route and neither org's changes touch the other", async () => {
  await withOrgs(async (h, keyA, keyB) => {
    for (const p of PROVIDERS) await h.request("POST", url("org_alpha", p, "/reset"), { key: keyA });
    const before = await tableRows(h, "org_alpha");
    assert.ok(before.length > 0);
    const attempts: [string, string, unknown][] = [
      ["GET", url("org_alpha"), undefined],
      ["POST", url("org_alpha"), {
        model_id: "gpt-4o",
        input_per_1m: 0,
        output_per_1m: 0,
        effective_from: "2030-01-01",
      }],
      ["PUT", url("org_alpha", "openai", "/gpt-4o"), { input_per_1m: 0 }],
      ["DELETE", url("org_alpha", "openai", "/gpt-4o"), undefined],
      ["POST", url("org_alpha", "openai", "/reset"), {}],
      ["DELETE", url("org_alpha", "anthropic", "/claude-opus-4-7"), undefined],
    ];
    for (const [method, path, body] of attempts) {
      const r = await h.request(method, path, { key: keyB, body });
      assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
      assert.equal(r.json.error.code, "FORBIDDEN");
    }
    assert.deepEqual(await tableRows(h, "org_alpha"), before);

    await h.request("POST", url("org_beta", "openai", "/reset"), { key: keyB });
    const own = await h.request("POST", url("org_beta"), {
      key: keyB,
      body: { model_id: "gpt-4o", input_per_1m: 0, output_per_1m: 0, effective_from: "2030-01-01" },
    });
    assert.equal(own.status, 201, "org B's rows are its own: no overlap with org A's");
    assert.equal((await h.request("DELETE", url("org_beta", "openai", "/gpt-4o"), { key: keyB })).status, 200);
    assert.equal((await h.request("POST", url("org_beta", "openai", "/reset"), { key: keyB })).status, 200);
    assert.equal(
      (await h.request("DELETE", url("org_beta", "anthropic", "/claude-opus-4-7"), { key: keyB })).status,
      404,
    );
    assert.deepEqual(await tableRows(h, "org_alpha"), before);
    const seenByB = await h.request("GET", url("org_beta", "anthropic"), { key: keyB });
    assert.equal(seenByB.json.count, 0, "org B sees none of org A's rows");
  });
});

Deno.test("seedPricing with onlyIfEmpty loads the defaults once and keeps the org's own prices", async () => {
  await withOrgs(async (h, key) => {
    const now = new Date("2025-11-20T08:00:00Z");
    const first = await h.deps.stores.prices.seedPricing("org_alpha", "anthropic", seedRows("anthropic"), now, {
      onlyIfEmpty: true,
    });
    assert.deepEqual(first, { deleted: 0, inserted: seedRows("anthropic").length, skipped: false });
    await h.request("PUT", url("org_alpha", "anthropic", "/claude-opus-4-7"), { key, body: { notes: "negotiated" } });
    const second = await h.deps.stores.prices.seedPricing("org_alpha", "anthropic", seedRows("anthropic"), now, {
      onlyIfEmpty: true,
    });
    assert.deepEqual(second, { deleted: 0, inserted: 0, skipped: true });
    const rows = await tableRows(h, "org_alpha");
    assert.equal(rows.find((r) => r.model_id === "claude-opus-4-7")?.notes, "negotiated");
    assert.equal(rows.length, seedRows("anthropic").length);
    await assert.rejects(
      h.deps.stores.prices.seedPricing("org_alpha", "openai", seedRows("anthropic"), now, { onlyIfEmpty: true }),
      /is for "anthropic", not "openai"/,
    );
  });
});
