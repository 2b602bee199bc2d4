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
 * would claim "nothing was spent"). A gap of missed days is charged to the day after the gap, and
 * `previous_snapshot_date` shows how far back it reaches.
 */
import { qualified } from "../../warehouse/warehouse.ts";
import { dayRange } from "../_cost.ts";
import { deepseekCostSpec } from "../specs.ts";
import { defineProcessor } from "../registry.ts";

interface SpendRow {
  usage_date: string;
  snapshot_at: string;
  currency: string;
  previous_snapshot_date: string;
  previous_snapshot_at: string;
  opening_balance: string;
  closing_balance: string;
  spend: string;
  top_up: string;
}

const ZERO = "CAST(0 AS NUMERIC(38, 9))";

/** The snapshot days of [@start, @end] with their previous snapshot per currency (history before @start included). */
function spendSql(source: string): string {
  return `SELECT usage_date, snapshot_at, currency, previous_snapshot_date, previous_snapshot_at,
      opening_balance, closing_balance,
      CASE WHEN opening_balance > closing_balance THEN opening_balance - closing_balance ELSE ${ZERO} END AS spend,
      CASE WHEN closing_balance > opening_balance THEN closing_balance - opening_balance ELSE ${ZERO} END AS top_up
    FROM (
      SELECT snapshot_date AS usage_date, snapshot_at, currency,
        CAST(total_balance AS NUMERIC(38, 9)) AS closing_balance,
        LAG(snapshot_date) OVER w AS previous_snapshot_date,
        LAG(snapshot_at) OVER w AS previous_snapshot_at,
        CAST(LAG(total_balance) OVER w AS NUMERIC(38, 9)) AS opening_balance
      FROM ${source}
      WHERE snapshot_date <= CAST(@end AS DATE)
      WINDOW w AS (PARTITION BY currency ORDER BY snapshot_date)
    ) AS s
    WHERE usage_date >= CAST(@start AS DATE) AND previous_snapshot_date IS NOT NULL
    ORDER BY usage_date, currency`;
}

export const deepseekCostProcessor = defineProcessor(deepseekCostSpec, async (ctx, config) => {
  if (!ctx.org) throw new Error(`Step "${ctx.step.id}" needs an org`);
  const { from, to } = dayRange(config.start_date, config.end_date);
  const range = { from, to };
  if (!(await ctx.warehouse.tableExists(ctx.org.dataset, config.source_table))) return { rows: [], range };
  const found = await ctx.warehouse.query<SpendRow>(spendSql(qualified(ctx.org.dataset, config.source_table)), {
    start: config.start_date,
    end: config.end_date,
  });
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
