/**
 * The default prices and plans compiled from configs/ (the seed rows of the integration setup pipelines), checked
 * before the price store (src/central/prices.ts) loads them into an org's rows: for the `integrations.seed`
 * processor (first setup: only where the org has none) and the reset routes (replace what the org has).
 */
import type { Row } from "../warehouse/warehouse.ts";
import { checkAmount } from "./decimal.ts";
import type { DatedTable } from "./dated_table.ts";
import type { PricedProvider } from "./prices.ts";
import { MAX_FEE } from "./subscriptions.ts";

export interface SeedOptions {
  /** Insert only when the org has no rows in scope yet (first setup); otherwise replace them (reset). */
  readonly onlyIfEmpty: boolean;
}

export interface SeedResult {
  /** Rows of the org removed first (always 0 with `onlyIfEmpty`). */
  readonly deleted: number;
  readonly inserted: number;
  /** True when `onlyIfEmpty` found rows and left them alone. */
  readonly skipped: boolean;
}

/** A seed row with its amounts checked and normalised. @throws {Error} naming the row and column */
export function checkedRow(t: DatedTable, row: Row, index: number): Row {
  const out: Row = { ...row };
  for (const f of t.schema.fields) {
    const v = row[f.name];
    if (f.type !== "NUMERIC" || v === null || v === undefined) continue;
    const r = checkAmount(v, MAX_FEE);
    if ("error" in r) throw new Error(`Seed row ${index + 1} of ${t.schema.table}: column "${f.name}" ${r.error}`);
    out[f.name] = r.value;
  }
  return out;
}

/**
 * The seed rows of one provider's prices, checked: a row naming another provider is refused.
 * @throws {Error} when a seed row names another provider or holds an invalid amount
 */
export function priceSeedRows(t: DatedTable, provider: PricedProvider, rows: readonly Row[]): Row[] {
  return rows.map((r, i) => {
    if (r.provider !== undefined && r.provider !== provider) {
      throw new Error(`Seed row ${i + 1} of ${t.schema.table} is for "${r.provider}", not "${provider}"`);
    }
    return checkedRow(t, r, i);
  });
}

/**
 * The response-field prefix of a seed of `table` (`<prefix>_initialized`, `<prefix>_rows`), shared by the seed step
 * and its response schema: `subscriptions`, `unit_pricing` or `pricing`.
 */
export function seedFlag(table: string | undefined): "subscriptions" | "unit_pricing" | "pricing" {
  if (table === "org_openai_subscriptions") return "subscriptions";
  return table === "org_unit_pricing" ? "unit_pricing" : "pricing";
}
