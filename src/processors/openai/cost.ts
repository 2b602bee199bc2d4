/**
 * `openai.cost`: prices the raw usage of the run's days at the org's effective prices (org_model_pricing), one
 * openai_cost_daily row per day, model, project and batch flag, with the billed amount of the costs table beside it.
 *
 * - Uncached input (`input_tokens - input_cached_tokens`) at `input_per_1m`, cached input at
 *   `cached_input_per_1m` (at `input_per_1m` when the model has no cache discount), output at `output_per_1m`;
 *   audio tokens are not priced here (see the raw table).
 * - Batch API rows (`batch = true`) are charged half of every rate, OpenAI's published Batch discount; the
 *   `*_price_per_1m` columns show the rates actually applied.
 * - A model without a price in force that day is `UNPRICED`: prices and costs stay null, never 0.
 * - Billed cost: the costs API has no batch dimension, and its line items name the model as their first part
 *   (`"gpt-4o-2024-08-06, cached input"`). Lines are summed per (day, model, project); that sum is attached only
 *   where exactly one cost row has that (day, model, project), i.e. usage is not split into batch and non-batch,
 *   counting token lines only (`quantity_unit` tokens, or none reported; metered lines belong to `usage.unit_cost`),
 *   and the currencies agree. Anything else would be a guess, so billed_cost is null there (the raw table keeps
 *   every line for reconciliation).
 * - Usage is read and priced a window of days at a time and streamed to the output, so any range runs in bounded
 *   memory; every grouping key includes the day, so windows never split a group.
 */
import { openaiCostSpec } from "../specs.ts";
import { defineProcessor } from "../registry.ts";
import {
  appliedPrice,
  chargePeriod,
  type DayRange,
  dayRange,
  dayWindows,
  type Factor,
  FULL_PRICE,
  int,
  intOut,
  orgOf,
  PriceBook,
  sumDecimals,
  tokenCost,
} from "../_cost.ts";

/** OpenAI's Batch API charges half the standard rates. */
export const BATCH_DISCOUNT: Factor = { num: 1n, den: 2n };

/** A usage row as the cost step reads it. */
export interface OpenAIUsageInput {
  readonly usage_date: string;
  readonly model: string | null;
  readonly project_id: string | null;
  readonly batch: boolean | null;
  readonly input_tokens: unknown;
  readonly input_cached_tokens: unknown;
  readonly output_tokens: unknown;
  readonly num_model_requests: unknown;
}

/** A billed line as the cost step reads it. */
export interface OpenAIBilledInput {
  readonly usage_date: string;
  readonly line_item: string | null;
  readonly project_id: string | null;
  readonly amount: string;
  readonly currency: string;
  /** `tokens` for a token line; metered lines (images, seconds, tool calls) are priced by `usage.unit_cost`. */
  readonly quantity_unit?: string | null;
}

interface Group {
  day: string;
  model: string;
  project_id: string | null;
  batch: boolean | null;
  input: bigint;
  cached: bigint;
  output: bigint;
  requests: bigint;
}

const attributionKey = (day: string, model: string | null, project: string | null) =>
  JSON.stringify([day, model, project]);

/** Billed amounts per (day, model, project) and currency. */
function billedByGroup(billed: readonly OpenAIBilledInput[]): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  for (const b of billed) {
    if (!b.line_item || (b.quantity_unit ?? "tokens") !== "tokens") continue;
    const key = attributionKey(b.usage_date, b.line_item.split(",")[0]!.trim(), b.project_id);
    const byCurrency = out.get(key) ?? new Map<string, string[]>();
    byCurrency.set(b.currency, [...(byCurrency.get(b.currency) ?? []), b.amount]);
    out.set(key, byCurrency);
  }
  return out;
}

/**
 * Prices usage rows (pure: no I/O). Rows are grouped by (day, model, project, batch) first, so extra usage
 * dimensions (api key, user) are summed.
 */
export function priceOpenAIUsage(
  usage: readonly OpenAIUsageInput[],
  book: PriceBook,
  billed: readonly OpenAIBilledInput[],
  meta: { runId: string; pricedAt: string },
): Record<string, unknown>[] {
  const groups = new Map<string, Group>();
  for (const u of usage) {
    const model = u.model ?? "unknown";
    const key = JSON.stringify([u.usage_date, model, u.project_id, u.batch]);
    const g = groups.get(key) ??
      {
        day: u.usage_date,
        model,
        project_id: u.project_id,
        batch: u.batch,
        input: 0n,
        cached: 0n,
        output: 0n,
        requests: 0n,
      };
    g.input += int(u.input_tokens);
    g.cached += int(u.input_cached_tokens);
    g.output += int(u.output_tokens);
    g.requests += int(u.num_model_requests);
    groups.set(key, g);
  }
  const rowsPerAttribution = new Map<string, number>();
  for (const g of groups.values()) {
    const k = attributionKey(g.day, g.model, g.project_id);
    rowsPerAttribution.set(k, (rowsPerAttribution.get(k) ?? 0) + 1);
  }
  const billedSums = billedByGroup(billed);
  return [...groups.values()].map((g) => {
    const price = book.find(g.model, g.day);
    const factor = g.batch === true ? BATCH_DISCOUNT : FULL_PRICE;
    const uncached = g.input - g.cached;
    const k = attributionKey(g.day, g.model, g.project_id);
    const billedHere = rowsPerAttribution.get(k) === 1 ? billedSums.get(k) : undefined;
    const currency = price?.currency ?? [...(billedHere?.keys() ?? [])][0] ?? "USD";
    const amounts = billedHere?.get(currency);
    const prices = price && {
      input: price.input_per_1m,
      cached: price.cached_input_per_1m ?? price.input_per_1m,
      output: price.output_per_1m,
    };
    const listCost = prices
      ? tokenCost([
        { tokens: uncached, pricePer1m: prices.input },
        { tokens: g.cached, pricePer1m: prices.cached },
        { tokens: g.output, pricePer1m: prices.output },
      ], factor)
      : null;
    return {
      usage_date: g.day,
      ...chargePeriod(g.day),
      provider: "openai",
      service_name: "OpenAI API",
      model: g.model,
      project_id: g.project_id,
      batch: g.batch,
      input_tokens: intOut(g.input),
      uncached_input_tokens: intOut(uncached),
      cached_input_tokens: intOut(g.cached),
      output_tokens: intOut(g.output),
      total_tokens: intOut(g.input + g.output),
      num_model_requests: intOut(g.requests),
      input_price_per_1m: prices ? appliedPrice(prices.input, factor) : null,
      cached_input_price_per_1m: prices ? appliedPrice(prices.cached, factor) : null,
      output_price_per_1m: prices ? appliedPrice(prices.output, factor) : null,
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

/** Days read and priced at a time: a run holds one window of usage and its priced rows, whatever its range. */
const WINDOW_DAYS = 3;

export const openaiCostProcessor = defineProcessor(openaiCostSpec, async (ctx, config) => {
  const org = orgOf(ctx);
  const range = dayRange(config.start_date, config.end_date);
  const book = new PriceBook(await ctx.stores.prices.pricesInForce(org.slug, "openai", range));
  const hasUsage = await ctx.warehouse.tableExists(org.dataset, config.source_table);
  const billedTable = config.billed_table && await ctx.warehouse.tableExists(org.dataset, config.billed_table)
    ? config.billed_table
    : undefined;
  const meta = { runId: ctx.run?.id ?? "adhoc", pricedAt: ctx.now().toISOString() };
  const read = (window: DayRange) =>
    Promise.all([
      ctx.stores.costs.queryDays<OpenAIUsageInput>(
        org.dataset,
        config.source_table,
        "usage_date, model, project_id, batch, input_tokens, input_cached_tokens, output_tokens, num_model_requests",
        window,
      ),
      billedTable
        ? ctx.stores.costs.queryDays<OpenAIBilledInput>(
          org.dataset,
          billedTable,
          "usage_date, line_item, project_id, amount, currency, quantity_unit",
          window,
        )
        : [],
    ]);
  async function* priced(): AsyncGenerator<Record<string, unknown>[]> {
    const totals = { rows: 0, usage_rows: 0, billed_rows: 0 };
    const unpriced = new Set<unknown>();
    const windows = hasUsage ? dayWindows(range, WINDOW_DAYS) : [];
    let next = windows.length ? read(windows[0]!) : undefined;
    for (let i = 0; next; i++) {
      const [usage, billed] = await next;
      // The warehouse reads the next window while this one is priced and written.
      next = i + 1 < windows.length ? read(windows[i + 1]!) : undefined;
      next?.catch(() => {});
      const rows = priceOpenAIUsage(usage, book, billed, meta);
      for (const r of rows) if (r.pricing_status === "UNPRICED") unpriced.add(r.model);
      totals.rows += rows.length;
      totals.usage_rows += usage.length;
      totals.billed_rows += billed.length;
      yield rows;
    }
    if (unpriced.size) ctx.logger.warn("models without a price in force", { models: [...unpriced] });
    ctx.logger.info("usage priced", totals);
  }
  return { rows: priced(), range };
});
