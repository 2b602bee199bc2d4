/** The flat billing export row both sources (file, BigQuery table) return, and its `gcp_billing_daily_raw` form. */

/** One export row as read: amounts are DECIMAL strings computed in SQL, labels still `[{key, value}]`. */
export interface ExportRow {
  usage_date: string;
  billing_account_id: string | null;
  service_id: string | null;
  service_description: string | null;
  sku_id: string | null;
  sku_description: string | null;
  project_id: string | null;
  project_name: string | null;
  location_region: string | null;
  usage_start_time: string;
  usage_end_time: string | null;
  usage_amount: string | null;
  usage_unit: string | null;
  usage_amount_in_pricing_units: string | null;
  pricing_unit: string | null;
  list_cost: string | null;
  cost: string | null;
  credits: unknown;
  credits_total: string;
  net_cost: string | null;
  currency: string | null;
  currency_conversion_rate: string | null;
  invoice_month: string | null;
  cost_type: string | null;
  labels: unknown;
  project_labels: unknown;
  export_time: string | null;
}

/**
 * Export labels (`[{key, value}]`) as the `{key: value}` object the table stores; null when there are none to
 * speak of. A later duplicate key wins (the export never repeats one).
 */
export function labelsObject(value: unknown): Record<string, string> | null {
  if (value === null || value === undefined) return null;
  if (!Array.isArray(value)) return typeof value === "object" ? value as Record<string, string> : null;
  const out: Record<string, string> = {};
  for (const item of value) {
    if (item && typeof item === "object" && typeof (item as { key?: unknown }).key === "string") {
      const { key, value: v } = item as { key: string; value?: unknown };
      out[key] = v === null || v === undefined ? "" : String(v);
    }
  }
  return out;
}

/** The `gcp_billing_daily_raw` row for an export row; REQUIRED columns left null fail the write, naming the row. */
export function billingRow(r: ExportRow, runId: string, now: string): Record<string, unknown> {
  return {
    usage_date: r.usage_date,
    billing_account_id: r.billing_account_id,
    service_id: r.service_id,
    service_description: r.service_description,
    sku_id: r.sku_id,
    sku_description: r.sku_description,
    project_id: r.project_id,
    project_name: r.project_name,
    location_region: r.location_region,
    usage_start_time: r.usage_start_time,
    usage_end_time: r.usage_end_time,
    usage_amount: r.usage_amount,
    usage_unit: r.usage_unit,
    usage_amount_in_pricing_units: r.usage_amount_in_pricing_units,
    pricing_unit: r.pricing_unit,
    list_cost: r.list_cost,
    cost: r.cost,
    credits_total: r.credits_total,
    net_cost: r.net_cost,
    credits: Array.isArray(r.credits) ? r.credits : [],
    currency: r.currency,
    currency_conversion_rate: r.currency_conversion_rate,
    invoice_month: r.invoice_month,
    cost_type: r.cost_type,
    labels: labelsObject(r.labels),
    project_labels: labelsObject(r.project_labels),
    export_time: r.export_time,
    run_id: runId,
    ingested_at: now,
  };
}
