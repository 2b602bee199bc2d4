/** Unit price rules: the per-unit price must be exact at 9 decimals, and the seeds check meters and providers. */
import assert from "node:assert/strict";
import { centralTables } from "../../generated/tables.ts";
import { perUnitProblem, unitPriceSeedRows, unitPricesTable } from "../../src/pricing/unit_prices.ts";
import { defaultRows } from "../../runtime/routes/pricing.ts";

const TABLE = unitPricesTable(centralTables.org_unit_pricing);

Deno.test("perUnitProblem accepts a per-unit price exact at 9 decimals and names the one that is not", () => {
  assert.equal(perUnitProblem("10", "1000"), null, "0.01 per call");
  assert.equal(perUnitProblem("15", "1000000"), null, "0.000015 per character");
  assert.equal(perUnitProblem("0.006", "60"), null, "0.0001 per second");
  assert.equal(perUnitProblem("0.000000001", "1"), null);
  assert.match(perUnitProblem("1", "3")!, /"unit_price" 1 per 3 units is not a price per unit exact at 9 decimals/);
  assert.match(perUnitProblem("0.000000001", "10")!, /not a price per unit exact/, "1e-10 per unit");
  assert.match(perUnitProblem("2", "0")!, /"units_per_pricing_unit" must be positive/);
  assert.equal(perUnitProblem("2", "0.5"), null, "4 per unit: a fractional pricing unit is fine when exact");
});

Deno.test("the unit price seeds in configs/ pass the rules, and a bad seed row is refused by row and column", () => {
  for (const provider of ["openai", "anthropic"] as const) {
    const rows = defaultRows(`integrations/${provider}/setup`, TABLE.schema.table);
    assert.equal(unitPriceSeedRows(TABLE, provider, rows).length, rows.length);
  }
  const good = {
    provider: "openai",
    meter: "image",
    model_id: "*",
    variant: "*",
    unit_price: "1",
    units_per_pricing_unit: "1",
  };
  assert.throws(
    () => unitPriceSeedRows(TABLE, "openai", [good, { ...good, units_per_pricing_unit: "3" }]),
    /Seed row 2 of org_unit_pricing: column "unit_price" 1 per 3 units is not a price per unit exact/,
  );
  assert.throws(
    () => unitPriceSeedRows(TABLE, "openai", [{ ...good, meter: "web_search_request", units_per_pricing_unit: "1" }]),
    /Seed row 1 of org_unit_pricing: meter "web_search_request" is not one of openai's/,
  );
  assert.throws(
    () => unitPriceSeedRows(TABLE, "anthropic", [{ ...good, units_per_pricing_unit: "1" }]),
    /Seed row 1 of org_unit_pricing is for "openai", not "anthropic"/,
  );
});
