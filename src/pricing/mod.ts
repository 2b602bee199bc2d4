/**
 * Per-org, effective-dated model prices and OpenAI subscription plans: request schemas, exact decimal checks,
 * the effective-dating rules (a new version closes the open one; other overlaps are refused) and seeding from the
 * defaults compiled out of configs/.
 *
 * Pure: the reads and writes are the price store's (src/central/prices.ts).
 *
 * @example
 * ```ts
 * import { pricesTable, priceCreate } from "./src/pricing/mod.ts";
 * const body = priceCreate.parse({ model_id: "gpt-4o", input_per_1m: "2.5", output_per_1m: "10" });
 * ```
 * @module
 */
export { amount, checkAmount, day, isDay, MAX_AMOUNT, MAX_DECIMALS, normaliseDecimal, utcDay } from "./decimal.ts";
export { type DatedTable, type DateRange, fullRow, type ItemKey, lockScope, overlaps, planAdd } from "./dated_table.ts";
export { planRepair, type RepairPlan, type RepairResult, type RepairStep, type Unresolved } from "./repair.ts";
export {
  CURRENCIES,
  MODEL_ID,
  modelId,
  type ModelPrice,
  priceCreate,
  PRICED_PROVIDERS,
  type PricedProvider,
  priceQuery,
  pricesTable,
  priceUpdate,
} from "./prices.ts";
export {
  MAX_FEE,
  PLAN_NAME,
  planName,
  type PlanRow,
  subscriptionCreate,
  subscriptionQuery,
  subscriptionsTable,
  subscriptionUpdate,
} from "./subscriptions.ts";
export {
  ANY,
  checkMeter,
  perUnitProblem,
  unitItemQuery,
  unitPriceCreate,
  unitPriceQuery,
  unitPricesTable,
  unitPriceUpdate,
} from "./unit_prices.ts";
export { checkedRow, priceSeedRows, type SeedOptions, type SeedResult } from "./seed.ts";
