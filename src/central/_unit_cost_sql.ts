/**
 * The unit-cost SELECT: usage billed by a unit other than tokens (the meters of src/pricing/meters.ts) priced per UTC
 * day at the org's unit prices (organizations.org_unit_pricing), computed by one statement in the warehouse and
 * loaded into `<provider>_unit_cost_daily` (`Warehouse.replacePartitionsWith`). The SQL is the dialect DuckDB and
 * BigQuery share; org, provider, days and run travel as parameters; table and column names come from the meter
 * catalogue.
 *
 * - Usage: each meter's raw table that exists, summed per (day, model, variant, sub-account); rows of 0 are no charge.
 * - Price: the row in force on the day (`effective_from <= day < effective_to`) for the meter whose model is the
 *   exact id (best), the id without its date-snapshot suffix, or `*`, and whose variant is the exact one or `*`
 *   (exact first); none: UNPRICED, prices and costs null, never 0.
 * - list_cost = quantity x (unit_price / units_per_pricing_unit) rounded half away from zero to 9 decimals. The
 *   per-unit price is exact at 9 decimals (the seed and API checks refuse a price that is not), so the product is
 *   exact in both engines' NUMERIC(38, 9) and rounded once.
 * - Billed: where the provider reports a meter's cost on its own lines (Anthropic's cost report, `cost_type`
 *   web_search), their sum for the same day, model and sub-account.
 */
import { qualified } from "../warehouse/warehouse.ts";
import type { Meter } from "../pricing/meters.ts";
import { CENTRAL_DATASET } from "./tables.ts";

const NUM = (expr: string) => `CAST(${expr} AS NUMERIC(38, 9))`;
const NULL_STRING = "CAST(NULL AS STRING)";
/** The date-snapshot suffixes `modelCandidates` strips (src/processors/_prices.ts), as one RE2 pattern. */
const SNAPSHOT_SUFFIX = "-[0-9]{4}-[0-9]{2}-[0-9]{2}$|-[0-9]{8}$|-[0-9]{4}$";

/** A table of provider-billed lines of one meter: its day, model, sub-account and amount columns, which lines. */
export interface MeterBilled {
  readonly table: string;
  readonly meter: string;
  readonly model: string;
  readonly subAccount: string;
  readonly amount: string;
  /** The `cost_type` of the lines (passed as the `@billed_cost_type` parameter). */
  readonly costType: string;
}

/** The usage of one meter's table, summed per day, model, variant and sub-account. */
function usageSql(dataset: string, m: Meter): string {
  const quantity = m.factor ? `${NUM(m.quantity)} * ${NUM(`'${m.factor}'`)}` : NUM(m.quantity);
  const model = m.model ?? NULL_STRING;
  const variant = m.variant ?? NULL_STRING;
  return `SELECT usage_date AS day, '${m.meter}' AS meter, '${m.service}' AS service_name,
      '${m.consumedUnit}' AS consumed_unit, ${model} AS model, ${variant} AS variant, ${m.subAccount} AS sub_account_id,
      SUM(${quantity}) AS consumed_quantity
    FROM ${qualified(dataset, m.table)}
    WHERE usage_date BETWEEN CAST(@start AS DATE) AND CAST(@end AS DATE) AND ${m.quantity} <> 0
    GROUP BY ${["usage_date", m.model, m.variant, m.subAccount].filter((c) => c !== null).join(", ")}`;
}

/**
 * The SELECT of `<provider>_unit_cost_daily` rows over `meters` (those whose table exists), every column of the
 * table, for params `org_slug`, `provider`, `start`, `end`, `run_id`, `priced_at`; null when no meter has a table.
 */
export function unitCostSql(
  dataset: string,
  provider: string,
  meters: readonly Meter[],
  billed: MeterBilled | null,
): string | null {
  if (meters.length === 0) return null;
  const prices = qualified(CENTRAL_DATASET, "org_unit_pricing");
  const key = "u.day, u.meter, u.model, u.variant, u.sub_account_id";
  const billedJoin = billed
    ? `LEFT JOIN (
        SELECT usage_date AS day, ${billed.model} AS model, ${billed.subAccount} AS sub_account_id,
          UPPER(currency) AS currency, SUM(${NUM(billed.amount)}) AS billed_cost
        FROM ${qualified(dataset, billed.table)}
        WHERE usage_date BETWEEN CAST(@start AS DATE) AND CAST(@end AS DATE) AND cost_type = @billed_cost_type
        GROUP BY usage_date, ${billed.model}, ${billed.subAccount}, UPPER(currency)
      ) AS b ON m.meter = '${billed.meter}' AND b.day = m.day AND b.model = m.model
        AND b.sub_account_id IS NOT DISTINCT FROM m.sub_account_id AND b.currency = COALESCE(m.currency, 'USD')`
    : "";
  return `WITH usage AS (
      ${meters.map((m) => usageSql(dataset, m)).join("\n      UNION ALL\n      ")}
    ),
    prices AS (
      SELECT meter, model_id, variant, unit_price, pricing_unit, units_per_pricing_unit, currency, effective_from,
        effective_to
      FROM ${prices}
      WHERE org_slug = @org_slug AND provider = @provider AND effective_from <= CAST(@end AS DATE)
        AND (effective_to IS NULL OR effective_to > CAST(@start AS DATE))
    ),
    ranked AS (
      SELECT u.*, p.model_id AS price_model_id, p.variant AS price_variant, p.unit_price, p.pricing_unit,
        p.units_per_pricing_unit, p.currency, p.effective_from AS price_effective_from,
        ROW_NUMBER() OVER (
          PARTITION BY ${key}
          ORDER BY CASE WHEN p.model_id = u.model THEN 2 WHEN p.model_id = '*' THEN 0 WHEN p.model_id IS NULL THEN -1
              ELSE 1 END DESC,
            CASE WHEN p.variant = u.variant THEN 1 ELSE 0 END DESC
        ) AS rank_in_key
      FROM usage AS u
      LEFT JOIN prices AS p ON p.meter = u.meter
        AND (p.model_id = '*' OR p.model_id = u.model OR p.model_id = REGEXP_REPLACE(u.model, '${SNAPSHOT_SUFFIX}', ''))
        AND (p.variant = '*' OR p.variant = u.variant)
        AND p.effective_from <= u.day AND (p.effective_to IS NULL OR p.effective_to > u.day)
    ),
    m AS (
      SELECT *, ${NUM(`unit_price / units_per_pricing_unit`)} AS price_per_unit FROM ranked WHERE rank_in_key = 1
    )
    SELECT m.day AS usage_date, CAST(m.day AS TIMESTAMP) AS charge_period_start,
      CAST(DATE_ADD(m.day, INTERVAL 1 DAY) AS TIMESTAMP) AS charge_period_end, '${provider}' AS provider,
      m.service_name, m.meter, m.model, m.variant, m.sub_account_id, ${NUM("m.consumed_quantity")} AS consumed_quantity,
      m.consumed_unit,
      CASE WHEN m.unit_price IS NULL THEN NULL
        ELSE ${NUM("m.consumed_quantity / m.units_per_pricing_unit")} END
        AS pricing_quantity,
      m.pricing_unit, ${NUM("m.unit_price")} AS unit_price, m.price_model_id, m.price_variant, m.price_effective_from,
      CASE WHEN m.unit_price IS NULL THEN 'UNPRICED' ELSE 'PRICED' END AS pricing_status,
      ${NUM("ROUND(m.consumed_quantity * m.price_per_unit, 9)")} AS list_cost,
      ${NUM("ROUND(m.consumed_quantity * m.price_per_unit, 9)")} AS cost,
      ${billed ? "b.billed_cost" : NUM("NULL")} AS billed_cost, COALESCE(m.currency, 'USD') AS currency,
      @run_id AS run_id, CAST(@priced_at AS TIMESTAMP) AS priced_at
    FROM m ${billedJoin}`;
}
