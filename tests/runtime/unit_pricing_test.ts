/** The unit-pricing API: defaults from configs/, effective dating, the exact per-unit rule, validation, isolation. */
import assert from "node:assert/strict";
import { defaultRows } from "../../runtime/routes/pricing.ts";
import { type Harness, startHarness } from "./_harness.ts";

const url = (org: string, provider = "openai", rest = "") =>
  `/api/v1/integrations/${org}/${provider}/unit_pricing${rest}`;

async function withOrgs(fn: (h: Harness, keyA: string, keyB: string) => Promise<void>): Promise<void> {
  const h = await startHarness({ RATE_LIMIT_ENABLED: "false" });
  try {
    await h.bootstrap();
    await fn(h, await h.onboard("org_alpha"), await h.onboard("org_beta"));
  } finally {
    await h.close();
  }
}

/** Every unit price row of an org straight from the table. */
const tableRows = (h: Harness, org: string) =>
  h.deps.warehouse.query<Record<string, string | null>>(
    `SELECT provider, meter, model_id, variant, CAST(unit_price AS VARCHAR) AS unit_price,
       CAST(effective_from AS VARCHAR) AS effective_from, CAST(effective_to AS VARCHAR) AS effective_to, source
     FROM organizations.org_unit_pricing WHERE org_slug = @org ORDER BY provider, meter, model_id, variant,
       effective_from`,
    { org },
  );

Deno.test("unit pricing reset loads each metered provider's configs/ defaults and the list filters them", async () => {
  await withOrgs(async (h, key) => {
    for (const provider of ["openai", "anthropic"]) {
      const seeds = defaultRows(`integrations/${provider}/setup`, "org_unit_pricing");
      const reset = await h.request("POST", url("org_alpha", provider, "/reset"), { key, body: {} });
      assert.equal(reset.status, 200, reset.text);
      assert.equal(reset.json.inserted, seeds.length);
      assert.equal(reset.json.deleted, 0);
      const all = await h.request("GET", url("org_alpha", provider), { key });
      assert.equal(all.json.count, seeds.length);
      assert.ok(all.json.unit_prices.every((r: { source: string }) => r.source === "seed"));
    }
    const images = await h.request("GET", url("org_alpha", "openai", "?meter=image&model_id=dall-e-3"), { key });
    assert.equal(images.status, 200, images.text);
    assert.deepEqual(
      images.json.unit_prices.map((r: { variant: string; unit_price: string }) => [r.variant, r.unit_price]),
      [["1024x1024", "0.04"], ["1024x1792", "0.08"], ["1792x1024", "0.08"]],
    );
    const again = await h.request("POST", url("org_alpha", "openai", "/reset"), { key, body: {} });
    assert.equal(again.json.deleted, again.json.inserted, "a second reset replaces the defaults one for one");
  });
});

Deno.test("an added unit price closes the open version, PUT changes it, DELETE removes the item", async () => {
  await withOrgs(async (h, key) => {
    await h.request("POST", url("org_alpha", "openai", "/reset"), { key, body: {} });
    const body = {
      meter: "web_search_call",
      unit_price: "12.5",
      pricing_unit: "1K Calls",
      units_per_pricing_unit: 1000,
    };
    const added = await h.request("POST", url("org_alpha"), { key, body: { ...body, effective_from: "2026-03-01" } });
    assert.equal(added.status, 201, added.text);
    assert.equal(added.json.model_id, "*");
    assert.equal(added.json.variant, "*");
    assert.equal(added.json.unit_price, "12.5");
    assert.equal(added.json.source, "user");
    assert.deepEqual(added.json.closed_previous, { effective_from: "2020-01-01", effective_to: "2026-03-01" });
    const versions = (await tableRows(h, "org_alpha")).filter((r) =>
      r.meter === "web_search_call" && r.model_id === "*"
    );
    assert.deepEqual(versions.map((r) => [r.unit_price, r.effective_from, r.effective_to]), [
      ["10.000000000", "2020-01-01", "2026-03-01"],
      ["12.500000000", "2026-03-01", null],
    ]);
    const same = await h.request("POST", url("org_alpha"), { key, body: { ...body, effective_from: "2026-03-01" } });
    assert.equal(same.status, 409);
    assert.equal(same.json.error.code, "PRICE_EXISTS");

    const put = await h.request("PUT", url("org_alpha", "openai", "/web_search_call"), {
      key,
      body: { unit_price: "11" },
    });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json.unit_price, "11");
    assert.equal(put.json.effective_from, "2026-03-01", "the open version is the one changed");

    const del = await h.request("DELETE", url("org_alpha", "openai", "/image?model_id=dall-e-2&variant=256x256"), {
      key,
    });
    assert.equal(del.status, 200, del.text);
    assert.deepEqual(del.json, {
      success: true,
      org_slug: "org_alpha",
      provider: "openai",
      meter: "image",
      model_id: "dall-e-2",
      variant: "256x256",
      deleted: 1,
    });
    const gone = await h.request("DELETE", url("org_alpha", "openai", "/image?model_id=dall-e-2&variant=256x256"), {
      key,
    });
    assert.equal(gone.status, 404);
    assert.match(gone.json.error.message, /meter "image" for model "dall-e-2" and variant "256x256"/);
  });
});

Deno.test("unit prices refuse a per-unit price not exact at 9 decimals, an unknown meter or provider", async () => {
  await withOrgs(async (h, key) => {
    await h.request("POST", url("org_alpha", "openai", "/reset"), { key, body: {} });
    const before = await tableRows(h, "org_alpha");
    const thirds = { meter: "image", model_id: "x-image", unit_price: "1", pricing_unit: "3 Images" };
    const inexact = await h.request("POST", url("org_alpha"), { key, body: { ...thirds, units_per_pricing_unit: 3 } });
    assert.equal(inexact.status, 400, inexact.text);
    assert.equal(inexact.json.error.code, "VALIDATION_ERROR");
    assert.match(inexact.json.error.message, /"unit_price" 1 per 3 units is not a price per unit exact at 9 decimals/);
    const zero = await h.request("POST", url("org_alpha"), { key, body: { ...thirds, units_per_pricing_unit: "0" } });
    assert.equal(zero.status, 400);
    assert.match(zero.json.error.message, /units_per_pricing_unit/);
    const meter = await h.request("POST", url("org_alpha"), { key, body: { ...thirds, meter: "tokens" } });
    assert.equal(meter.status, 400);
    assert.match(meter.json.error.message, /Field "meter": "tokens" is not a meter of openai; expected one of .*image/);
    const anthropicMeter = await h.request("POST", url("org_alpha", "anthropic"), { key, body: thirds });
    assert.equal(anthropicMeter.status, 400, "image is OpenAI's meter, not Anthropic's");
    const patch = await h.request("PUT", url("org_alpha", "openai", "/speech_character?model_id=tts-1"), {
      key,
      body: { units_per_pricing_unit: "7" },
    });
    assert.equal(patch.status, 400, patch.text);
    assert.match(patch.json.error.message, /per 7 units is not a price per unit exact/);
    const deepseek = await h.request("GET", url("org_alpha", "deepseek"), { key });
    assert.equal(deepseek.status, 404);
    assert.match(deepseek.json.error.message, /Provider "deepseek" has no usage priced per unit/);
    assert.deepEqual(await tableRows(h, "org_alpha"), before, "nothing was written by a refused request");
  });
});

Deno.test("an org sees and writes only its own unit prices", async () => {
  await withOrgs(async (h, keyA, keyB) => {
    await h.request("POST", url("org_alpha", "openai", "/reset"), { key: keyA, body: {} });
    const other = await h.request("GET", url("org_alpha"), { key: keyB });
    assert.equal(other.status, 403);
    const write = await h.request("POST", url("org_alpha", "openai", "/reset"), { key: keyB, body: {} });
    assert.equal(write.status, 403);
    const own = await h.request("GET", url("org_beta"), { key: keyB });
    assert.equal(own.status, 200);
    assert.equal(own.json.count, 0, "org_alpha's reset wrote nothing of org_beta's (seeded at integration setup)");
    assert.deepEqual(await tableRows(h, "org_beta"), []);
    assert.ok((await tableRows(h, "org_alpha")).length > 0);
  });
});
