/**
 * The unified cost view's SQL: each provider cost table's columns as the unified row (the mapping is documented in
 * src/costs/unified.ts), one `SELECT ... UNION ALL ...` over the org's tables that exist.
 */
import { qualified } from "../warehouse/warehouse.ts";
import { providerBySlug } from "../providers/catalogue.ts";
import { type CostProvider, UNIFIED_COLUMNS, type UnifiedColumn } from "../costs/unified.ts";

/** A provider cost table and the SQL expression of each unified column over it. */
export interface CostSource {
  readonly provider: CostProvider;
  readonly table: string;
  readonly select: Readonly<Record<UnifiedColumn, string>>;
}

const NUM = (expr: string) => `CAST(${expr} AS NUMERIC(38, 9))`;
const NULL_STRING = "CAST(NULL AS STRING)";
const NULL_NUM = NUM("NULL");

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

/** Every provider cost table the view reads. */
export const COST_SOURCES: readonly CostSource[] = [
  tokenTable("openai", "project_id"),
  tokenTable("anthropic", "workspace_id"),
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
];

/**
 * The unified view over `sources` (the tables that exist in `dataset`) for the days [@start, @end], as a SELECT
 * usable in a `WITH unified AS (...)`; null when there is no source at all.
 */
export function unifiedSql(dataset: string, sources: readonly CostSource[]): string | null {
  if (sources.length === 0) return null;
  return sources.map((s) =>
    `SELECT ${UNIFIED_COLUMNS.map((c) => `${s.select[c]} AS ${c}`).join(", ")}
    FROM ${qualified(dataset, s.table)}
    WHERE usage_date BETWEEN CAST(@start AS DATE) AND CAST(@end AS DATE)`
  ).join("\nUNION ALL\n");
}
