/**
 * Shared by the LLM usage and cost processors, one module per concern: exact decimal money math
 * (`_decimal.ts`), the org's effective-dated model prices with model-id matching (`_prices.ts`), UTC day ranges
 * (`_days.ts`), and provider calls bound to the run (`_pages.ts`). The warehouse reads are the stores'
 * (`ctx.stores.prices.pricesInForce`, `ctx.stores.costs.readDays`).
 */
export * from "./_decimal.ts";
export * from "./_prices.ts";
export * from "./_days.ts";
export * from "./_pages.ts";
