/**
 * Unit prices (org_unit_pricing): the table's effective-dating definition and the seed check. A unit price names a
 * meter of src/pricing/meters.ts, a model (or `*`) and a variant (or `*`); the unit-cost SQL picks the most
 * specific row in force on each day (src/central/_unit_cost_sql.ts).
 */
import type { TableSchema } from "../schema/table_schema.ts";
import type { DatedTable } from "./dated_table.ts";
import type { Row } from "../warehouse/warehouse.ts";
import { type MeteredProvider, meterIds } from "./meters.ts";
import { checkedRow } from "./seed.ts";

/** A model id or variant that matches any. */
export const ANY = "*";

/** org_unit_pricing as an effective-dated table: one item per (provider, meter, model_id, variant). */
export function unitPricesTable(schema: TableSchema): DatedTable {
  return {
    schema,
    keys: ["provider", "meter", "model_id", "variant"],
    lockKeys: ["provider"],
    overlapCode: "PRICE_OVERLAP",
    existsCode: "PRICE_EXISTS",
    describe: (k) =>
      `Unit price of ${k.provider} meter "${k.meter}" for model "${k.model_id}" and variant "${k.variant}"`,
  };
}

/**
 * The seed rows of one provider's unit prices, checked: a row naming another provider or a meter the provider does
 * not have is refused, amounts are normalised, and a pricing unit must hold a positive number of consumed units.
 * @throws {Error} naming the row and column
 */
export function unitPriceSeedRows(t: DatedTable, provider: MeteredProvider, rows: readonly Row[]): Row[] {
  const meters = meterIds(provider);
  return rows.map((r, i) => {
    const where = `Seed row ${i + 1} of ${t.schema.table}`;
    if (r.provider !== undefined && r.provider !== provider) {
      throw new Error(`${where} is for "${r.provider}", not "${provider}"`);
    }
    if (!meters.includes(String(r.meter))) {
      throw new Error(`${where}: meter "${r.meter}" is not one of ${provider}'s (${meters.join(", ")})`);
    }
    const row = checkedRow(t, r, i);
    if (!(Number(row.units_per_pricing_unit) > 0)) {
      throw new Error(`${where}: column "units_per_pricing_unit" must be positive`);
    }
    return row;
  });
}
