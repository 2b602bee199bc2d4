/**
 * `deepseek.cost`: daily spend per currency derived from balance snapshots. For every snapshot day in
 * [start_date, end_date] the previous snapshot is the latest earlier one of the same currency, and
 *
 * - spend (`list_cost` = `cost` = `billed_cost`) = max(opening - closing, 0)
 * - `top_up_amount` = max(closing - opening, 0): a rise is a top-up or grant, never negative spend
 *
 * all computed in the warehouse as DECIMAL, so amounts stay exact. The first snapshot of a currency has no
 * previous one: the spend up to it is unknown (the balance before Convergence started reading it was never
 * seen), so that day gets no cost row rather than a made-up 0 (the table's cost columns are REQUIRED, and a 0
 * would claim "nothing was spent"); the run log says so, and `GET /costs` lists it as a notice
 * (src/costs/notices.ts). A gap of missed days is charged to the day after the gap, and
 * `previous_snapshot_date` shows how far back it reaches. The cost store reads the snapshots
 * (`CostStore.deepseekSpend`).
 */
import { dayRange } from "../_cost.ts";
import { firstSnapshotMessage } from "../../costs/notices.ts";
import { deepseekCostSpec } from "../specs.ts";
import { defineProcessor } from "../registry.ts";

export const deepseekCostProcessor = defineProcessor(deepseekCostSpec, async (ctx, config) => {
  if (!ctx.org) throw new Error(`Step "${ctx.step.id}" needs an org`);
  const { from, to } = dayRange(config.start_date, config.end_date);
  const range = { from, to };
  const found = await ctx.stores.costs.deepseekSpend(ctx.org.dataset, config.source_table, {
    from: config.start_date,
    to: config.end_date,
  });
  if (found === null) return { rows: [], range };
  for (const first of await ctx.stores.costs.deepseekFirstSnapshots(ctx.org.dataset, range)) {
    ctx.logger.warn(firstSnapshotMessage(first), { currency: first.currency, day: first.day });
  }
  const now = ctx.now().toISOString();
  const rows = found.map((r) => ({
    usage_date: r.usage_date,
    charge_period_start: r.previous_snapshot_at,
    charge_period_end: r.snapshot_at,
    provider: "deepseek",
    service_name: "DeepSeek API",
    model: null,
    previous_snapshot_date: r.previous_snapshot_date,
    opening_balance: r.opening_balance,
    closing_balance: r.closing_balance,
    top_up_amount: r.top_up,
    list_cost: r.spend,
    cost: r.spend,
    billed_cost: r.spend,
    currency: r.currency,
    run_id: ctx.run?.id ?? "adhoc",
    priced_at: now,
  }));
  ctx.logger.info("DeepSeek spend derived", { rows: rows.length, from: range.from, to: range.to });
  return { rows, range };
});
