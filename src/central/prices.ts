/**
 * The price store, the one writer of the org's effective-dated model prices (organizations.org_model_pricing),
 * unit prices (org_unit_pricing), OpenAI subscription plans (org_openai_subscriptions) and their writer locks (org_reference_locks). Constructed
 * with the warehouse and those table schemas; the effective-dating rules, request schemas and seed checks are
 * pure and live in src/pricing/.
 *
 * @example
 * ```ts
 * const prices = new PriceStore(wh, tables);
 * await prices.seedPricing("acme", "openai", seedRows, new Date(), { onlyIfEmpty: true });
 * ```
 */
import { CENTRAL_DATASET } from "./tables.ts";
import { qualified, type Row, type Warehouse } from "../warehouse/warehouse.ts";
import { type DatedTable, type DateRange, fullRow, type ItemKey } from "../pricing/dated_table.ts";
import { type ModelPrice, type PricedProvider, pricesTable } from "../pricing/prices.ts";
import { type PlanRow, subscriptionsTable } from "../pricing/subscriptions.ts";
import type { RepairResult } from "../pricing/repair.ts";
import { checkedRow, priceSeedRows, type SeedOptions, type SeedResult } from "../pricing/seed.ts";
import { unitPriceSeedRows, unitPricesTable } from "../pricing/unit_prices.ts";
import type { MeteredProvider } from "../pricing/meters.ts";
import type { LockTarget } from "./_lock.ts";
import {
  addVersion,
  countVersions,
  deleteItem,
  deleteVersions,
  listVersions,
  updateVersion,
  withItemLock,
} from "./_dated_table.ts";
import { repairOverlaps } from "./_repair.ts";
import { tableOf, type TableSchemas } from "./tables.ts";

/** Inclusive UTC days `YYYY-MM-DD`. */
export interface DaySpan {
  readonly from: string;
  readonly to: string;
}

export class PriceStore {
  /** org_model_pricing: one item per (provider, model_id), one writer lock per provider. */
  readonly prices: DatedTable;
  /** org_openai_subscriptions: one item per plan_name, one writer lock per org. */
  readonly subscriptions: DatedTable;
  /** org_unit_pricing: one item per (provider, meter, model_id, variant), one writer lock per provider. */
  readonly unitPrices: DatedTable;
  readonly #at: LockTarget;

  /** @throws {Error} naming a table `tables` lacks (org_model_pricing, org_unit_pricing, org_openai_subscriptions, org_reference_locks) */
  constructor(private readonly wh: Warehouse, tables: TableSchemas) {
    this.prices = pricesTable(tableOf(tables, "org_model_pricing"));
    this.subscriptions = subscriptionsTable(tableOf(tables, "org_openai_subscriptions"));
    this.unitPrices = unitPricesTable(tableOf(tables, "org_unit_pricing"));
    this.#at = { warehouse: wh, locks: tableOf(tables, "org_reference_locks") };
  }

  /** The org's versions of `t` matching `filter` (any subset of the keys), optionally only those in force on `asOf`. */
  listVersions(t: DatedTable, org: string, filter: ItemKey, asOf?: string): Promise<Row[]> {
    return listVersions(this.wh, t, org, filter, asOf);
  }

  /**
   * Adds a version (source `user`). An open version that starts earlier is closed at the new `effective_from`.
   * @throws {AppError} VALIDATION_ERROR when effective_to is not after effective_from, the overlap code on any other overlap
   */
  addVersion(
    t: DatedTable,
    org: string,
    key: ItemKey,
    values: Row & DateRange,
    now: Date,
  ): Promise<{ row: Row; closed: DateRange | null }> {
    return addVersion(this.#at, t, org, key, values, now);
  }

  /**
   * Changes the current version of an item (the open one, else the latest) with `patch`; its source becomes `user`.
   * @throws {AppError} NOT_FOUND when the item has no version, VALIDATION_ERROR on a bad range, the overlap code when it would overlap another
   */
  updateVersion(t: DatedTable, org: string, key: ItemKey, patch: Row, now: Date): Promise<Row> {
    return updateVersion(this.#at, t, org, key, patch, now);
  }

  /**
   * Deletes every version of one item and returns how many rows went (0: it had none).
   * @throws {AppError} `WRITE_CONFLICT` when concurrent writers kept winning
   */
  deleteItem(t: DatedTable, org: string, key: ItemKey, now: Date): Promise<number> {
    return deleteItem(this.#at, t, org, key, now);
  }

  /**
   * Repairs the overlapping versions of `t` where that is unambiguous; the rest is returned (and passed to `warn`).
   * A missing table (not bootstrapped yet) has nothing to repair.
   */
  repairOverlaps(
    t: DatedTable,
    now: Date,
    warn: (message: string, fields: Record<string, unknown>) => void,
  ): Promise<RepairResult> {
    return repairOverlaps(this.#at, t, now, warn);
  }

  /**
   * Loads default model prices for one provider into the org's rows (source `seed`).
   * @param rows the seed rows of the provider's setup step; a row naming another provider is refused
   * @throws {Error} when a seed row names another provider or holds an invalid amount
   */
  async seedPricing(
    org: string,
    provider: PricedProvider,
    rows: readonly Row[],
    now: Date,
    opts: SeedOptions,
  ): Promise<SeedResult> {
    return await this.#seed(this.prices, org, { provider }, priceSeedRows(this.prices, provider, rows), now, opts);
  }

  /**
   * Loads the default OpenAI plans into the org's rows (source `seed`).
   * @throws {Error} when a seed row holds an invalid amount
   */
  async seedSubscriptions(org: string, rows: readonly Row[], now: Date, opts: SeedOptions): Promise<SeedResult> {
    const t = this.subscriptions;
    return await this.#seed(t, org, {}, rows.map((r, i) => checkedRow(t, r, i)), now, opts);
  }

  /**
   * Seeds whichever table a setup step's `seed` targets: org_model_pricing, org_unit_pricing (created first when a
   * central dataset bootstrapped by an earlier release lacks it) or org_openai_subscriptions.
   * @throws {Error} for any other table
   */
  async seedDefaults(
    table: string,
    org: string,
    provider: PricedProvider,
    rows: readonly Row[],
    now: Date,
    opts: SeedOptions,
  ): Promise<SeedResult> {
    if (table === this.prices.schema.table) return await this.seedPricing(org, provider, rows, now, opts);
    if (table === this.subscriptions.schema.table) return await this.seedSubscriptions(org, rows, now, opts);
    if (table === this.unitPrices.schema.table) {
      const t = this.unitPrices;
      await this.ensureUnitPriceTable();
      const checked = unitPriceSeedRows(t, provider as MeteredProvider, rows);
      return await this.#seed(t, org, { provider }, checked, now, opts);
    }
    throw new Error(
      `Cannot seed table "${table}": only org_model_pricing, org_unit_pricing and org_openai_subscriptions`,
    );
  }

  /** Creates org_unit_pricing when a central dataset bootstrapped by an earlier release lacks it (no rows: unpriced). */
  async ensureUnitPriceTable(): Promise<void> {
    await this.wh.ensureTable(CENTRAL_DATASET, this.unitPrices.schema);
  }

  /** The org's price versions of `provider` in force on any day of `span`, by model then effective_from. */
  async pricesInForce(org: string, provider: PricedProvider, span: DaySpan): Promise<ModelPrice[]> {
    return await this.wh.query<ModelPrice>(
      `SELECT model_id, input_per_1m, cached_input_per_1m, cache_write_5m_per_1m, cache_write_1h_per_1m,
         output_per_1m, currency, effective_from, effective_to
       FROM ${qualified(CENTRAL_DATASET, this.prices.schema.table)}
       WHERE org_slug = @org_slug AND provider = @provider AND effective_from <= CAST(@to AS DATE)
         AND (effective_to IS NULL OR effective_to > CAST(@from AS DATE))
       ORDER BY model_id, effective_from`,
      { org_slug: org, provider, from: span.from, to: span.to },
    );
  }

  /** The org's OpenAI plan versions in force on any day of `span`, by plan then effective_from. */
  async plansInForce(org: string, span: DaySpan): Promise<PlanRow[]> {
    return await this.wh.query<PlanRow>(
      `SELECT plan_name, quantity, unit_price_usd, billing_period, rpm_limit, tpm_limit, monthly_spend_limit_usd,
         effective_from, effective_to
       FROM ${qualified(CENTRAL_DATASET, this.subscriptions.schema.table)}
       WHERE org_slug = @org_slug AND effective_from <= CAST(@last AS DATE)
         AND (effective_to IS NULL OR effective_to > CAST(@first AS DATE))
       ORDER BY plan_name, effective_from`,
      { org_slug: org, first: span.from, last: span.to },
    );
  }

  /** Seeds `rows` into the org's items of `scope` under their writer lock (of N concurrent first setups one seeds). */
  async #seed(
    t: DatedTable,
    org: string,
    scope: ItemKey,
    rows: readonly Row[],
    now: Date,
    opts: SeedOptions,
  ): Promise<SeedResult> {
    const full = rows.map((r) => fullRow(t, org, { ...r, ...scope }, "seed", now));
    return await withItemLock(this.#at, t, org, scope, now, async (tx) => {
      if (opts.onlyIfEmpty && await countVersions(tx, t, org, scope) > 0) {
        return { deleted: 0, inserted: 0, skipped: true };
      }
      const deleted = opts.onlyIfEmpty ? 0 : await deleteVersions(tx, t, org, scope);
      const inserted = full.length ? await tx.insertRows(CENTRAL_DATASET, t.schema, full) : 0;
      return { deleted, inserted, skipped: false };
    });
  }
}
