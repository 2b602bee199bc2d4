/**
 * Loading the default prices and plans compiled from configs/ (the seed rows of the integration setup pipelines)
 * into an org's rows. Shared by the `integrations.seed` processor (first setup: only where the org has none) and
 * the reset routes (replace what the org has). Both hold the writer lock of the provider's prices (or the org's
 * plans), so concurrent first setups seed once and a reset never interleaves with another write.
 */
import type { TableSchema } from "../schema/table_schema.ts";
import { CENTRAL_DATASET } from "../orgs/api_keys.ts";
import type { Row, Warehouse } from "../warehouse/warehouse.ts";
import { checkAmount } from "./decimal.ts";
import { countVersions, type DatedTable, deleteVersions, fullRow, withItemLock } from "./dated_table.ts";
import { type PricedProvider, pricesTable } from "./prices.ts";
import { MAX_FEE, subscriptionsTable } from "./subscriptions.ts";

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
function checkedRow(t: DatedTable, row: Row, index: number): Row {
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

async function seed(
  wh: Warehouse,
  t: DatedTable,
  orgSlug: string,
  scope: Readonly<Record<string, string>>,
  rows: readonly Row[],
  now: Date,
  opts: SeedOptions,
): Promise<SeedResult> {
  const full = rows.map((r) => fullRow(t, orgSlug, { ...r, ...scope }, "seed", now));
  // Under the writer lock: of N concurrent first setups one seeds, the others find its rows and skip.
  return await withItemLock(wh, t, orgSlug, scope, now, async (tx) => {
    if (opts.onlyIfEmpty && await countVersions(tx, t, orgSlug, scope) > 0) {
      return { deleted: 0, inserted: 0, skipped: true };
    }
    const deleted = opts.onlyIfEmpty ? 0 : await deleteVersions(tx, t, orgSlug, scope);
    const inserted = full.length ? await tx.insertRows(CENTRAL_DATASET, t.schema, full) : 0;
    return { deleted, inserted, skipped: false };
  });
}

/**
 * Loads default model prices for one provider into the org's rows of org_model_pricing (source `seed`).
 * @param schema the org_model_pricing table schema (from the generated pipeline's `tables`)
 * @param rows the seed rows of the provider's setup step; a row naming another provider is refused
 * @throws {Error} when a seed row names another provider or holds an invalid amount
 * @example
 * ```ts
 * await seedPricing(wh, tables.org_model_pricing, "acme", "openai", step.seed.rows, new Date(), { onlyIfEmpty: true });
 * ```
 */
export async function seedPricing(
  wh: Warehouse,
  schema: TableSchema,
  orgSlug: string,
  provider: PricedProvider,
  rows: readonly Row[],
  now: Date,
  opts: SeedOptions,
): Promise<SeedResult> {
  const t = pricesTable(schema);
  const checked = rows.map((r, i) => {
    if (r.provider !== undefined && r.provider !== provider) {
      throw new Error(`Seed row ${i + 1} of ${schema.table} is for "${r.provider}", not "${provider}"`);
    }
    return checkedRow(t, r, i);
  });
  return await seed(wh, t, orgSlug, { provider }, checked, now, opts);
}

/**
 * Loads the default OpenAI plans into the org's rows of org_openai_subscriptions (source `seed`).
 * @throws {Error} when a seed row holds an invalid amount
 */
export async function seedSubscriptions(
  wh: Warehouse,
  schema: TableSchema,
  orgSlug: string,
  rows: readonly Row[],
  now: Date,
  opts: SeedOptions,
): Promise<SeedResult> {
  const t = subscriptionsTable(schema);
  return await seed(wh, t, orgSlug, {}, rows.map((r, i) => checkedRow(t, r, i)), now, opts);
}

/**
 * Seeds whichever table a setup step's `seed` targets: org_model_pricing or org_openai_subscriptions.
 * @throws {Error} for any other table
 */
export async function seedDefaults(
  wh: Warehouse,
  schema: TableSchema,
  orgSlug: string,
  provider: PricedProvider,
  rows: readonly Row[],
  now: Date,
  opts: SeedOptions,
): Promise<SeedResult> {
  if (schema.table === "org_model_pricing") return await seedPricing(wh, schema, orgSlug, provider, rows, now, opts);
  if (schema.table === "org_openai_subscriptions") return await seedSubscriptions(wh, schema, orgSlug, rows, now, opts);
  throw new Error(`Cannot seed table "${schema.table}": only org_model_pricing and org_openai_subscriptions`);
}
