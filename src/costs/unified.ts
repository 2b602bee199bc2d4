/**
 * One cost view over every provider's cost table, shaped after the FinOps FOCUS specification (v1.x): each
 * provider table maps its columns onto the same unified row, and {@link toFocusRow} renames that row to FOCUS
 * column names, so a FOCUS export is a projection, not a translation.
 *
 * | unified column        | FOCUS column       | openai / anthropic          | deepseek           | gcp                           |
 * |-----------------------|--------------------|-----------------------------|--------------------|-------------------------------|
 * | charge_date           | (ChargePeriodStart as a day) | usage_date        | usage_date         | usage_date                    |
 * | charge_period_start/end | ChargePeriodStart/End | day bounds             | snapshot times     | usage_start/end_time          |
 * | provider              | x_ProviderId       | 'openai' / 'anthropic'      | 'deepseek'         | 'gcp'                         |
 * | provider_name         | ProviderName       | OpenAI / Anthropic          | DeepSeek           | Google Cloud                  |
 * | service_name          | ServiceName        | service_name                | service_name       | service.description           |
 * | model                 | x_Model            | model                       | null (no usage API)| null                          |
 * | sku_id                | SkuId              | model                       | null               | sku.id                        |
 * | sub_account_id        | SubAccountId       | project_id / workspace_id   | null               | project.id                    |
 * | consumed_quantity/unit| ConsumedQuantity/Unit | total_tokens, 'Tokens'   | null               | usage.amount, usage.unit      |
 * | list_cost             | ListCost           | list_cost                   | list_cost          | cost_at_list (when exported)  |
 * | effective_cost        | EffectiveCost      | cost (tokens x list price)  | cost (balance drop)| net_cost (cost + credits)     |
 * | billed_cost           | BilledCost         | billed_cost (reported)      | billed_cost        | net_cost                      |
 * | billing_currency      | BillingCurrency    | currency                    | currency (CNY/USD) | currency                      |
 * | charge_category       | ChargeCategory     | 'Usage'                     | 'Usage'            | cost_type -> Usage/Tax/Adjustment |
 *
 * Amounts stay NUMERIC(38, 9) all the way; nothing is converted between currencies.
 */
import { qualified } from "../warehouse/warehouse.ts";
import { normaliseDecimal } from "../pricing/decimal.ts";
import { PROVIDER_SLUGS, providerBySlug, type ProviderSlug } from "../providers/catalogue.ts";

/** Providers with a cost table, as the API names them: every provider of the catalogue. */
export const COST_PROVIDERS = PROVIDER_SLUGS;
export type CostProvider = ProviderSlug;

/** Columns of the unified cost row, in SELECT order. */
export const UNIFIED_COLUMNS = [
  "charge_date",
  "charge_period_start",
  "charge_period_end",
  "provider",
  "provider_name",
  "service_name",
  "model",
  "sku_id",
  "sub_account_id",
  "consumed_quantity",
  "consumed_unit",
  "list_cost",
  "effective_cost",
  "billed_cost",
  "billing_currency",
  "charge_category",
] as const;
export type UnifiedColumn = typeof UNIFIED_COLUMNS[number];

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

/** A unified row as read back from the warehouse. */
export type UnifiedRow = Record<UnifiedColumn, string | number | null>;

/** The FOCUS column names of a unified row (custom columns carry FOCUS's `x_` prefix). */
export const FOCUS_NAMES: Readonly<Record<UnifiedColumn, string>> = {
  charge_date: "x_ChargeDate",
  charge_period_start: "ChargePeriodStart",
  charge_period_end: "ChargePeriodEnd",
  provider: "x_ProviderId",
  provider_name: "ProviderName",
  service_name: "ServiceName",
  model: "x_Model",
  sku_id: "SkuId",
  sub_account_id: "SubAccountId",
  consumed_quantity: "ConsumedQuantity",
  consumed_unit: "ConsumedUnit",
  list_cost: "ListCost",
  effective_cost: "EffectiveCost",
  billed_cost: "BilledCost",
  billing_currency: "BillingCurrency",
  charge_category: "ChargeCategory",
};

const DECIMAL_COLUMNS = new Set<UnifiedColumn>(["consumed_quantity", "list_cost", "effective_cost", "billed_cost"]);

/**
 * A unified row with FOCUS column names (PublisherName and InvoiceIssuerName are the provider itself); amounts
 * as exact decimal strings without trailing zeros.
 */
export function toFocusRow(row: UnifiedRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of UNIFIED_COLUMNS) {
    const v = row[c] ?? null;
    out[FOCUS_NAMES[c]] = v !== null && DECIMAL_COLUMNS.has(c) ? normaliseDecimal(String(v)) : v;
  }
  out.PublisherName = row.provider_name;
  out.InvoiceIssuerName = row.provider_name;
  return out;
}
