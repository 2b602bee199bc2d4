/**
 * Unit prices (org_unit_pricing): the table's effective-dating definition, the request schemas of the unit-pricing
 * routes and the rules every version obeys, whether seeded or written through the API. A unit price names a meter of
 * src/pricing/meters.ts, a model (or `*`) and a variant (or `*`); the unit-cost SQL picks the most specific row in
 * force on each day (src/central/_unit_cost_sql.ts).
 *
 * The price of one consumed unit (`unit_price / units_per_pricing_unit`) must be exact at 9 decimals: the warehouse
 * multiplies quantities by it in NUMERIC(38, 9), so a price that is not (e.g. 1 per 3 units) would be rounded before
 * it is applied and costs would drift from the provider's. Such a version is refused with the per-unit price named.
 */
import { z } from "zod";
import type { TableSchema } from "../schema/table_schema.ts";
import type { DatedTable } from "./dated_table.ts";
import type { Row } from "../warehouse/warehouse.ts";
import { type MeteredProvider, meterIds } from "./meters.ts";
import { checkedRow } from "./seed.ts";
import { amount, day, MAX_DECIMALS } from "./decimal.ts";
import { CURRENCIES, MODEL_ID } from "./prices.ts";
import { AppError } from "../errors/mod.ts";

/** A model id or variant that matches any. */
export const ANY = "*";

const SCALE = 10n ** BigInt(MAX_DECIMALS);

/** A non-negative decimal string as an integer count of 1e-9 (at most 9 decimals, as the amount checks ensure). */
function scaled(text: string): bigint {
  const [whole = "0", fraction = ""] = text.split(".");
  return BigInt(whole + fraction.padEnd(MAX_DECIMALS, "0").slice(0, MAX_DECIMALS));
}

/**
 * Why `unitPrice / units` is not a usable per-unit price (units not positive, or the quotient not exact at 9
 * decimals), or null when it is.
 */
export function perUnitProblem(unitPrice: string, units: string): string | null {
  const p = scaled(String(unitPrice)), u = scaled(String(units));
  if (u <= 0n) return `"units_per_pricing_unit" must be positive`;
  if ((p * SCALE) % u !== 0n) {
    return `"unit_price" ${unitPrice} per ${units} units is not a price per unit exact at ${MAX_DECIMALS} decimals; ` +
      `give the price of a pricing unit whose per-unit price has at most ${MAX_DECIMALS} decimals`;
  }
  return null;
}

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
    checkRow(row) {
      const problem = perUnitProblem(String(row.unit_price), String(row.units_per_pricing_unit));
      if (problem) throw new AppError("VALIDATION_ERROR", `Field ${problem}`);
    },
  };
}

/**
 * The seed rows of one provider's unit prices, checked: a row naming another provider or a meter the provider does
 * not have is refused, amounts are normalised, and the per-unit price must be exact ({@link perUnitProblem}).
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
    const problem = perUnitProblem(String(row.unit_price), String(row.units_per_pricing_unit ?? "0"));
    if (problem) throw new Error(`${where}: column ${problem}`);
    return row;
  });
}

/** A model id, or `*` for any model. */
const modelOrAny = z.union([z.literal(ANY), z.string().regex(MODEL_ID)], {
  error: 'must be "*" or a model id (a letter or digit, then letters, digits or ._:/-, max 128)',
});
/** A variant (image size, speech model, ...), or `*` for any. */
const variantOrAny = z.string().regex(/^(\*|[A-Za-z0-9][A-Za-z0-9._:/-]{0,63})$/, {
  message: 'must be "*" or a variant such as "1024x1024" (letters, digits, ._:/-, max 64)',
});
const notes = z.string().max(500).nullable().optional();
const pricingUnit = z.string().min(1).max(64);
/** The most units one pricing unit may hold (e.g. 1,000,000 characters). */
const MAX_UNITS = "1000000000";

/**
 * Refuses a meter the provider does not have (the body schema cannot know the path's provider).
 * @throws {AppError} VALIDATION_ERROR naming the field and the provider's meters
 */
export function checkMeter(provider: MeteredProvider, meter: string): void {
  const meters = meterIds(provider);
  if (!meters.includes(meter)) {
    throw new AppError(
      "VALIDATION_ERROR",
      `Field "meter": "${meter}" is not a meter of ${provider}; expected one of ${meters.join(", ")}`,
    );
  }
}

/** POST body of a new unit price version; model and variant default to `*`, currency to USD, from to today. */
export const unitPriceCreate = z.strictObject({
  meter: z.string().min(1).max(64),
  model_id: modelOrAny.default(ANY),
  variant: variantOrAny.default(ANY),
  unit_price: amount(),
  pricing_unit: pricingUnit,
  units_per_pricing_unit: amount(MAX_UNITS).default("1"),
  currency: z.enum(CURRENCIES).default("USD"),
  effective_from: day.optional(),
  effective_to: day.nullable().optional(),
  notes,
});

/** PUT body: the fields to change on the item's current version (at least one). */
export const unitPriceUpdate = z.strictObject({
  unit_price: amount().optional(),
  pricing_unit: pricingUnit.optional(),
  units_per_pricing_unit: amount(MAX_UNITS).optional(),
  currency: z.enum(CURRENCIES).optional(),
  effective_from: day.optional(),
  effective_to: day.nullable().optional(),
  notes,
}).refine((v) => Object.keys(v).length > 0, { message: "Request body names no field to update" });

/** GET query: only this meter, model or variant, only the rows in force on this UTC day. */
export const unitPriceQuery = z.strictObject({
  meter: z.string().max(64).optional(),
  model_id: modelOrAny.optional(),
  variant: variantOrAny.optional(),
  as_of: day.optional(),
});

/** PUT and DELETE name the item by its model and variant in the query (default `*`). */
export const unitItemQuery = z.strictObject({
  model_id: modelOrAny.default(ANY),
  variant: variantOrAny.default(ANY),
});
