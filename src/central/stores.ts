/**
 * The price and cost stores, built once at start-up from the warehouse and the central table schemas (the
 * bootstrap pipeline's `tables`, injected by runtime/), and handed to routes and processors.
 *
 * @example
 * ```ts
 * const stores = createPricingStores(wh, pipelines["setup/bootstrap"].tables);
 * await stores.prices.pricesInForce("acme", "openai", { from: "2025-01-01", to: "2025-01-31" });
 * ```
 */
import type { Warehouse } from "../warehouse/warehouse.ts";
import { CostStore } from "./costs.ts";
import { PriceStore, type PriceTables } from "./prices.ts";

export interface PricingStores {
  /** Model prices, subscription plans and their writer locks. */
  readonly prices: PriceStore;
  /** Reads of the orgs' cost and usage tables. */
  readonly costs: CostStore;
}

/** The stores over `warehouse`, writing the tables whose schemas `tables` holds. */
export function createPricingStores(warehouse: Warehouse, tables: PriceTables): PricingStores {
  return { prices: new PriceStore(warehouse, tables), costs: new CostStore(warehouse) };
}
