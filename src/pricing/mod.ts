/**
 * Per-org, effective-dated model prices and OpenAI subscription plans: request schemas, exact decimal checks,
 * the effective-dating rules (a new version closes the open one; other overlaps are refused) and seeding from the
 * defaults compiled out of configs/.
 *
 * @example
 * ```ts
 * import { seedPricing } from "./src/pricing/mod.ts";
 * await seedPricing(wh, tables.org_model_pricing, "acme", "openai", seedRows, new Date(), { onlyIfEmpty: true });
 * ```
 * @module
 */
export { amount, checkAmount, day, isDay, MAX_AMOUNT, MAX_DECIMALS, normaliseDecimal, utcDay } from "./decimal.ts";
export {
  addVersion,
  countVersions,
  type DatedTable,
  type DateRange,
  deleteItem,
  deleteVersions,
  fullRow,
  type ItemKey,
  listVersions,
  lockScope,
  overlaps,
  planAdd,
  updateVersion,
  withItemLock,
} from "./dated_table.ts";
export {
  planRepair,
  repairOverlaps,
  type RepairPlan,
  type RepairResult,
  type RepairStep,
  type Unresolved,
} from "./repair.ts";
export { LOCK_SCHEMA, lockedWrite, WRITE_ATTEMPTS } from "./lock.ts";
export {
  CURRENCIES,
  MODEL_ID,
  modelId,
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
  subscriptionCreate,
  subscriptionQuery,
  subscriptionsTable,
  subscriptionUpdate,
} from "./subscriptions.ts";
export { seedDefaults, type SeedOptions, seedPricing, type SeedResult, seedSubscriptions } from "./seed.ts";
