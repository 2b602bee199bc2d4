/** Model prices (org_model_pricing): request schemas and the table's effective-dating definition. */
import { z } from "zod";
import type { TableSchema } from "../schema/table_schema.ts";
import { amount, day } from "./decimal.ts";
import type { DatedTable } from "./dated_table.ts";
import { PRICED_SLUGS, type PricedSlug } from "../providers/catalogue.ts";

/** Providers whose models are priced per token (the catalogue's `PRICED_SLUGS`). */
export const PRICED_PROVIDERS = PRICED_SLUGS;
export type PricedProvider = PricedSlug;

/** A model id: a letter or digit, then letters, digits and `._:/-`; at most 128 characters. */
export const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;
export const modelId = z.string().regex(MODEL_ID, "must be a letter or digit, then letters, digits or ._:/- (max 128)");

/** Currencies a price may be given in. */
export const CURRENCIES = ["USD", "CNY", "EUR"] as const;

const rate = () => amount();
const optionalRate = () => amount().nullable().optional();
const notes = z.string().max(500).nullable().optional();

/** POST body: a new price version. `effective_from` defaults to today (UTC), `currency` to USD. */
export const priceCreate = z.strictObject({
  model_id: modelId,
  input_per_1m: rate(),
  cached_input_per_1m: optionalRate(),
  cache_write_5m_per_1m: optionalRate(),
  cache_write_1h_per_1m: optionalRate(),
  output_per_1m: rate(),
  currency: z.enum(CURRENCIES).default("USD"),
  effective_from: day.optional(),
  effective_to: day.nullable().optional(),
  notes,
});
export type PriceCreate = z.output<typeof priceCreate>;

/** PUT body: the fields to change on the model's current price (at least one). */
export const priceUpdate = z.strictObject({
  input_per_1m: rate().optional(),
  cached_input_per_1m: optionalRate(),
  cache_write_5m_per_1m: optionalRate(),
  cache_write_1h_per_1m: optionalRate(),
  output_per_1m: rate().optional(),
  currency: z.enum(CURRENCIES).optional(),
  effective_from: day.optional(),
  effective_to: day.nullable().optional(),
  notes,
}).refine((v) => Object.keys(v).length > 0, { message: "Request body names no field to update" });
export type PriceUpdate = z.output<typeof priceUpdate>;

/** GET query: only this model, only the rows in force on this UTC day. */
export const priceQuery = z.strictObject({ model_id: modelId.optional(), as_of: day.optional() });

/** org_model_pricing as an effective-dated table: one item per (provider, model_id), one writer lock per provider. */
export function pricesTable(schema: TableSchema): DatedTable {
  return {
    schema,
    keys: ["provider", "model_id"],
    lockKeys: ["provider"],
    overlapCode: "PRICE_OVERLAP",
    existsCode: "PRICE_EXISTS",
    describe: (k) => `Model "${k.model_id}" of ${k.provider}`,
  };
}

/** One org_model_pricing version as costing reads it; amounts are decimal strings, days `YYYY-MM-DD`. */
export interface ModelPrice {
  readonly model_id: string;
  readonly input_per_1m: string;
  readonly cached_input_per_1m: string | null;
  readonly cache_write_5m_per_1m: string | null;
  readonly cache_write_1h_per_1m: string | null;
  readonly output_per_1m: string;
  readonly currency: string;
  readonly effective_from: string;
  readonly effective_to: string | null;
}
