/**
 * `anthropic.cost`: prices the raw usage of the run's days at the org's effective prices (org_model_pricing), one
 * anthropic_cost_daily row per day, model, workspace and service tier (summed over API keys and context windows,
 * the grain of the cost report), with the billed amount of the cost report beside it.
 *
 * - Each token class at its own rate: uncached input at `input_per_1m`, cache reads at `cached_input_per_1m`,
 *   5-minute and 1-hour cache writes at `cache_write_5m_per_1m` / `cache_write_1h_per_1m`, output at
 *   `output_per_1m`. A missing cache-read rate means no discount (input rate); a missing cache-write rate falls
 *   back to Anthropic's published multipliers of the input rate (1.25x for 5m, 2x for 1h).
 * - The `batch` service tier is charged half of every rate (the Message Batches discount); the
 *   `*_price_per_1m` columns show the rates applied. Long-context premiums are not modelled.
 * - A model without a price in force that day is `UNPRICED`: prices and costs stay null, never 0.
 * - Billed cost: the cost report's token lines (`cost_type` tokens) of the same day, model, workspace and tier,
 *   summed exactly in dollars; null when the report has no matching line or reports another currency. Lines of
 *   other cost types are their own cost lines: web search beside its priced usage (`usage.unit_cost`), the rest
 *   in the unified view (src/central/_cost_view.ts).
 */
import { anthropicCostSpec } from "../specs.ts";
import { defineProcessor } from "../registry.ts";
import {
  appliedPrice,
  chargePeriod,
  dayRange,
  type Factor,
  FULL_PRICE,
  int,
  intOut,
  orgOf,
  PriceBook,
  sumDecimals,
  tokenCost,
} from "../_cost.ts";

/** Message Batches are charged half the standard rates. */
export const BATCH_TIER_DISCOUNT: Factor = { num: 1n, den: 2n };
const WRITE_5M_OF_INPUT: Factor = { num: 5n, den: 4n };
const WRITE_1H_OF_INPUT: Factor = { num: 2n, den: 1n };

/** A usage row as the cost step reads it. */
export interface AnthropicUsageInput {
  readonly usage_date: string;
  readonly model: string | null;
  readonly workspace_id: string | null;
  readonly service_tier: string | null;
  readonly uncached_input_tokens: unknown;
  readonly cache_creation_5m_tokens: unknown;
  readonly cache_creation_1h_tokens: unknown;
  readonly cache_read_input_tokens: unknown;
  readonly output_tokens: unknown;
}

/** A cost report line as the cost step reads it. */
export interface AnthropicBilledInput {
  readonly usage_date: string;
  readonly model: string | null;
  readonly workspace_id: string | null;
  readonly service_tier: string | null;
  readonly amount_usd: string;
  readonly currency: string;
  /** `tokens`, `web_search`, `code_execution`, ...; null in reports from before the field existed (tokens). */
  readonly cost_type?: string | null;
}

interface Group {
  day: string;
  model: string;
  workspace_id: string | null;
  service_tier: string | null;
  uncached: bigint;
  read: bigint;
  write5m: bigint;
  write1h: bigint;
  output: bigint;
}

const groupKey = (day: string, model: string | null, workspace: string | null, tier: string | null) =>
  JSON.stringify([day, model, workspace, tier]);

/** Prices usage rows (pure: no I/O). */
export function priceAnthropicUsage(
  usage: readonly AnthropicUsageInput[],
  book: PriceBook,
  billed: readonly AnthropicBilledInput[],
  meta: { runId: string; pricedAt: string },
): Record<string, unknown>[] {
  const groups = new Map<string, Group>();
  for (const u of usage) {
    const model = u.model ?? "unknown";
    const key = groupKey(u.usage_date, model, u.workspace_id, u.service_tier);
    const g = groups.get(key) ?? {
      day: u.usage_date,
      model,
      workspace_id: u.workspace_id,
      service_tier: u.service_tier,
      uncached: 0n,
      read: 0n,
      write5m: 0n,
      write1h: 0n,
      output: 0n,
    };
    g.uncached += int(u.uncached_input_tokens);
    g.read += int(u.cache_read_input_tokens);
    g.write5m += int(u.cache_creation_5m_tokens);
    g.write1h += int(u.cache_creation_1h_tokens);
    g.output += int(u.output_tokens);
    groups.set(key, g);
  }
  const billedSums = new Map<string, Map<string, string[]>>();
  for (const b of billed) {
    if ((b.cost_type ?? "tokens") !== "tokens") continue;
    const key = groupKey(b.usage_date, b.model, b.workspace_id, b.service_tier);
    const byCurrency = billedSums.get(key) ?? new Map<string, string[]>();
    byCurrency.set(b.currency, [...(byCurrency.get(b.currency) ?? []), b.amount_usd]);
    billedSums.set(key, byCurrency);
  }
  return [...groups.values()].map((g) => {
    const price = book.find(g.model, g.day);
    const factor = g.service_tier === "batch" ? BATCH_TIER_DISCOUNT : FULL_PRICE;
    const billedHere = billedSums.get(groupKey(g.day, g.model, g.workspace_id, g.service_tier));
    const currency = price?.currency ?? [...(billedHere?.keys() ?? [])][0] ?? "USD";
    const amounts = billedHere?.get(currency);
    const rates = price && {
      input: price.input_per_1m,
      read: price.cached_input_per_1m ?? price.input_per_1m,
      write5m: price.cache_write_5m_per_1m ?? appliedPrice(price.input_per_1m, WRITE_5M_OF_INPUT),
      write1h: price.cache_write_1h_per_1m ?? appliedPrice(price.input_per_1m, WRITE_1H_OF_INPUT),
      output: price.output_per_1m,
    };
    const listCost = rates
      ? tokenCost([
        { tokens: g.uncached, pricePer1m: rates.input },
        { tokens: g.read, pricePer1m: rates.read },
        { tokens: g.write5m, pricePer1m: rates.write5m },
        { tokens: g.write1h, pricePer1m: rates.write1h },
        { tokens: g.output, pricePer1m: rates.output },
      ], factor)
      : null;
    const input = g.uncached + g.read + g.write5m + g.write1h;
    const shown = (rate: string | undefined) => (rate === undefined ? null : appliedPrice(rate, factor));
    return {
      usage_date: g.day,
      ...chargePeriod(g.day),
      provider: "anthropic",
      service_name: "Claude API",
      model: g.model,
      workspace_id: g.workspace_id,
      service_tier: g.service_tier,
      input_tokens: intOut(input),
      uncached_input_tokens: intOut(g.uncached),
      cached_input_tokens: intOut(g.read),
      cache_write_5m_tokens: intOut(g.write5m),
      cache_write_1h_tokens: intOut(g.write1h),
      cache_write_tokens: intOut(g.write5m + g.write1h),
      output_tokens: intOut(g.output),
      total_tokens: intOut(input + g.output),
      input_price_per_1m: shown(rates?.input),
      cached_input_price_per_1m: shown(rates?.read),
      cache_write_5m_price_per_1m: shown(rates?.write5m),
      cache_write_1h_price_per_1m: shown(rates?.write1h),
      output_price_per_1m: shown(rates?.output),
      price_effective_from: price?.effective_from ?? null,
      pricing_status: price ? "PRICED" : "UNPRICED",
      list_cost: listCost,
      cost: listCost,
      billed_cost: amounts ? sumDecimals(amounts) : null,
      currency,
      run_id: meta.runId,
      priced_at: meta.pricedAt,
    };
  });
}

export const anthropicCostProcessor = defineProcessor(anthropicCostSpec, async (ctx, config) => {
  const org = orgOf(ctx);
  const range = dayRange(config.start_date, config.end_date);
  const usage = await ctx.stores.costs.readDays<AnthropicUsageInput>(
    org.dataset,
    config.source_table,
    `usage_date, model, workspace_id, service_tier, uncached_input_tokens, cache_creation_5m_tokens,
     cache_creation_1h_tokens, cache_read_input_tokens, output_tokens`,
    range,
  );
  const billed = config.billed_table
    ? await ctx.stores.costs.readDays<AnthropicBilledInput>(
      org.dataset,
      config.billed_table,
      "usage_date, model, workspace_id, service_tier, amount_usd, currency, cost_type",
      range,
    )
    : [];
  const book = new PriceBook(await ctx.stores.prices.pricesInForce(org.slug, "anthropic", range));
  const rows = priceAnthropicUsage(usage, book, billed, {
    runId: ctx.run?.id ?? "adhoc",
    pricedAt: ctx.now().toISOString(),
  });
  const unpriced = [...new Set(rows.filter((r) => r.pricing_status === "UNPRICED").map((r) => r.model))];
  if (unpriced.length) ctx.logger.warn("models without a price in force", { models: unpriced });
  ctx.logger.info("usage priced", { rows: rows.length, usage_rows: usage.length, billed_rows: billed.length });
  return { rows, range };
});
