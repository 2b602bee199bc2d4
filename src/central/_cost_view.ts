/**
 * The unified cost view's SQL: each provider cost table's columns as the unified row (the mapping is documented in
 * src/costs/unified.ts), one `SELECT ... UNION ALL ...` over the org's tables that exist.
 */
import { qualified } from "../warehouse/warehouse.ts";
import { providerBySlug } from "../providers/catalogue.ts";
import { type CostProvider, UNIFIED_COLUMNS, type UnifiedColumn } from "../costs/unified.ts";
import { metersOf } from "../pricing/meters.ts";
import { CREDITS_COLUMN } from "../costs/credits.ts";

/** A provider cost table and the SQL expression of each unified column over it. */
export interface CostSource {
  readonly provider: CostProvider;
  readonly table: string;
  readonly select: Readonly<Record<UnifiedColumn, string>>;
  /** The DATE column the day range applies to; default `usage_date`. */
  readonly dateColumn?: string;
  /** An extra condition on the rows, e.g. leaving out zero fees. */
  readonly where?: string;
  /**
   * Provider-billed lines with no usage behind them in Convergence (Anthropic code execution): shown in `/costs` at
   * their billed amount, left out of the reconciliation's list side (they are its billed lines without usage).
   */
  readonly billedOnly?: boolean;
  /** The column listing the credits already netted into the source's costs (JSON `[{name, amount, type}]`). */
  readonly credits?: string;
}

const NUM = (expr: string) => `CAST(${expr} AS NUMERIC(38, 9))`;
const NULL_STRING = "CAST(NULL AS STRING)";
const NULL_NUM = NUM("NULL");

/** FOCUS ChargeCategory of a fixed fee (a subscription plan). */
export const FEE_CATEGORY = "Purchase";

/** The FOCUS ProviderName of a provider, as an SQL string literal. */
const focusName = (provider: CostProvider) => `'${providerBySlug(provider)!.focusName}'`;

function tokenTable(provider: CostProvider, subAccount: string): CostSource {
  return {
    provider,
    table: `${provider}_cost_daily`,
    select: {
      charge_date: "usage_date",
      charge_period_start: "charge_period_start",
      charge_period_end: "charge_period_end",
      provider: `'${provider}'`,
      provider_name: focusName(provider),
      service_name: "service_name",
      model: "model",
      sku_id: "model",
      sub_account_id: subAccount,
      consumed_quantity: NUM("total_tokens"),
      consumed_unit: "'Tokens'",
      list_cost: NUM("list_cost"),
      effective_cost: NUM("cost"),
      billed_cost: NUM("billed_cost"),
      billing_currency: "currency",
      charge_category: "'Usage'",
    },
  };
}

/** A `<provider>_unit_cost_daily` table (usage priced by meter, src/central/_unit_cost_sql.ts). */
function unitTable(provider: CostProvider): CostSource {
  return {
    provider,
    table: `${provider}_unit_cost_daily`,
    select: {
      charge_date: "usage_date",
      charge_period_start: "charge_period_start",
      charge_period_end: "charge_period_end",
      provider: `'${provider}'`,
      provider_name: focusName(provider),
      service_name: "service_name",
      model: "model",
      sku_id: "COALESCE(model, meter)",
      sub_account_id: "sub_account_id",
      consumed_quantity: NUM("consumed_quantity"),
      consumed_unit: "consumed_unit",
      list_cost: NUM("list_cost"),
      effective_cost: NUM("cost"),
      billed_cost: NUM("billed_cost"),
      billing_currency: "currency",
      charge_category: "'Usage'",
    },
  };
}

/** Anthropic cost-report `cost_type`s priced from usage: tokens, and the meters billed on lines of their own. */
const ANTHROPIC_PRICED_COST_TYPES = ["tokens", ...metersOf("anthropic").flatMap((m) => m.billedLines?.costType ?? [])];

/** Every provider cost table the view reads. */
export const COST_SOURCES: readonly CostSource[] = [
  tokenTable("openai", "project_id"),
  tokenTable("anthropic", "workspace_id"),
  unitTable("openai"),
  unitTable("anthropic"),
  {
    // Anthropic cost-report lines of other cost types (code execution, session usage, ...): their own service line,
    // e.g. "Claude API: code_execution", at the billed amount (FOCUS EffectiveCost falls back to billed).
    provider: "anthropic",
    table: "anthropic_cost_report_daily_raw",
    where: `COALESCE(cost_type, 'tokens') NOT IN (${ANTHROPIC_PRICED_COST_TYPES.map((t) => `'${t}'`).join(", ")})`,
    billedOnly: true,
    select: {
      charge_date: "usage_date",
      charge_period_start: "bucket_start_time",
      charge_period_end: "bucket_end_time",
      provider: "'anthropic'",
      provider_name: focusName("anthropic"),
      service_name: "CONCAT('Claude API: ', cost_type)",
      model: "model",
      sku_id: "COALESCE(model, cost_type)",
      sub_account_id: "workspace_id",
      consumed_quantity: NULL_NUM,
      consumed_unit: NULL_STRING,
      list_cost: NULL_NUM,
      effective_cost: NUM("amount_usd"),
      billed_cost: NUM("amount_usd"),
      billing_currency: "currency",
      charge_category: "'Usage'",
    },
  },
  {
    provider: "deepseek",
    table: "deepseek_cost_daily",
    select: {
      charge_date: "usage_date",
      charge_period_start: "charge_period_start",
      charge_period_end: "charge_period_end",
      provider: "'deepseek'",
      provider_name: focusName("deepseek"),
      service_name: "service_name",
      model: "model",
      sku_id: NULL_STRING,
      sub_account_id: NULL_STRING,
      consumed_quantity: NULL_NUM,
      consumed_unit: NULL_STRING,
      list_cost: NUM("list_cost"),
      effective_cost: NUM("cost"),
      billed_cost: NUM("billed_cost"),
      billing_currency: "currency",
      charge_category: "'Usage'",
    },
  },
  {
    provider: "gcp",
    table: "gcp_billing_daily_raw",
    credits: "credits",
    select: {
      charge_date: "usage_date",
      charge_period_start: "usage_start_time",
      charge_period_end: "usage_end_time",
      provider: "'gcp'",
      provider_name: focusName("gcp"),
      service_name: "COALESCE(service_description, service_id)",
      model: NULL_STRING,
      sku_id: "sku_id",
      sub_account_id: "project_id",
      consumed_quantity: NUM("usage_amount"),
      consumed_unit: "usage_unit",
      list_cost: NUM("list_cost"),
      effective_cost: NUM("net_cost"),
      billed_cost: NUM("net_cost"),
      billing_currency: "currency",
      charge_category:
        "CASE LOWER(cost_type) WHEN 'tax' THEN 'Tax' WHEN 'adjustment' THEN 'Adjustment' WHEN 'rounding_error' THEN 'Adjustment' ELSE 'Usage' END",
    },
  },
  {
    // OpenAI plan fees (openai/subscriptions): each month's fee charged on the month's first day, one line per plan.
    provider: "openai",
    table: "openai_subscriptions_monthly",
    dateColumn: "month_start",
    where: "list_cost <> 0",
    select: {
      charge_date: "month_start",
      charge_period_start: "CAST(month_start AS TIMESTAMP)",
      charge_period_end: "CAST(DATE_ADD(month_start, INTERVAL 1 MONTH) AS TIMESTAMP)",
      provider: "'openai'",
      provider_name: focusName("openai"),
      service_name: "CONCAT('Subscription: ', plan_name)",
      model: NULL_STRING,
      sku_id: "plan_name",
      sub_account_id: NULL_STRING,
      consumed_quantity: NUM("quantity"),
      consumed_unit: "'Units'",
      list_cost: NUM("list_cost"),
      effective_cost: NUM("cost"),
      billed_cost: NUM("cost"),
      billing_currency: "currency",
      charge_category: `'${FEE_CATEGORY}'`,
    },
  },
];

/**
 * Tables of provider-reported lines, read by the reconciliation as the billed side of their provider's usage
 * (every other cost row, and the fees, bring their billed amount in the unified view): the day, the line's label
 * (the model, or OpenAI's line item that starts with it), the amount and its currency.
 */
export interface BilledSource {
  readonly provider: CostProvider;
  readonly table: string;
  readonly label: string;
  readonly amount: string;
}
export const BILLED_SOURCES: readonly BilledSource[] = [
  { provider: "openai", table: "openai_costs_daily_raw", label: "line_item", amount: "amount" },
  { provider: "anthropic", table: "anthropic_cost_report_daily_raw", label: "model", amount: "amount_usd" },
];

/** The billed lines of `source` per day, label and currency for the days [@start, @end]. */
export function billedSql(dataset: string, source: BilledSource): string {
  return `SELECT usage_date AS day, ${source.label} AS label, UPPER(currency) AS currency,
      SUM(${NUM(source.amount)}) AS billed_cost
    FROM ${qualified(dataset, source.table)}
    WHERE usage_date BETWEEN CAST(@start AS DATE) AND CAST(@end AS DATE)
    GROUP BY usage_date, ${source.label}, UPPER(currency)`;
}

/**
 * The unified view over `sources` (the tables that exist in `dataset`) for the days [@start, @end], as a SELECT
 * usable in a `WITH unified AS (...)`; null when there is no source at all. With `credits`, every row also has
 * the credits netted into it, `x_credits` (null where a source nets none).
 */
export function unifiedSql(
  dataset: string,
  sources: readonly CostSource[],
  opts: { credits?: boolean } = {},
): string | null {
  if (sources.length === 0) return null;
  const credits = (s: CostSource) => opts.credits ? `, ${s.credits ?? "CAST(NULL AS JSON)"} AS ${CREDITS_COLUMN}` : "";
  return sources.map((s) =>
    `SELECT ${UNIFIED_COLUMNS.map((c) => `${s.select[c]} AS ${c}`).join(", ")}${credits(s)}
    FROM ${qualified(dataset, s.table)}
    WHERE ${s.dateColumn ?? "usage_date"} BETWEEN CAST(@start AS DATE) AND CAST(@end AS DATE)${
      s.where ? ` AND ${s.where}` : ""
    }`
  ).join("\nUNION ALL\n");
}
