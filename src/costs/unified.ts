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
 * Amounts stay NUMERIC(38, 9) all the way; nothing is converted between currencies. The SQL of that mapping is the
 * cost store's (src/central/_cost_view.ts); this module holds the names and the FOCUS renaming.
 */
import { normaliseDecimal } from "../pricing/decimal.ts";
import { PROVIDER_SLUGS, type ProviderSlug } from "../providers/catalogue.ts";

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
