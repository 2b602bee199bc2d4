/**
 * The cost store: every read of an org's cost and usage tables (written by the pipelines' output steps): the
 * summary and FOCUS rows over the unified cost view (`GET /costs/{org_slug}`), the usage days a cost step prices,
 * and DeepSeek's spend derived from balance snapshots. Every sum is a NUMERIC(38, 9) SUM in the warehouse; days
 * travel as parameters; table names are validated identifiers.
 */
import { qualified, type Warehouse } from "../warehouse/warehouse.ts";
import { type Aggregate, type CostsRequest, GROUP_KEYS, money, shapeRow } from "../costs/query.ts";
import { toFocusRow, type UnifiedRow } from "../costs/unified.ts";
import { type UnpricedDay, unpricedUsage } from "../costs/unpriced.ts";
import { type FirstSnapshot, firstSnapshotNotices, type Notice } from "../costs/notices.ts";
import { type CreditColumns, withCreditLines } from "../costs/credits.ts";
import { type BilledSum, type ListSum, modelOfLine, type ReconciliationRequest } from "../costs/reconciliation.ts";
import { BILLED_SOURCES, billedSql, COST_SOURCES, FEE_CATEGORY, unifiedSql } from "./_cost_view.ts";
import { unitCostSql } from "./_unit_cost_sql.ts";
import { type MeteredProvider, metersOf } from "../pricing/meters.ts";
import type { LoadQuery } from "../warehouse/warehouse.ts";

/** Inclusive UTC days `YYYY-MM-DD`. */
export interface DayRange {
  readonly from: string;
  readonly to: string;
}

/** One snapshot day of a DeepSeek balance with the previous snapshot of its currency and the change between. */
export interface SpendRow {
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

const SUMS = `SUM(effective_cost) AS cost, SUM(billed_cost) AS billed_cost,
  COUNT(*) AS records, COUNT(effective_cost) AS priced, COUNT(billed_cost) AS billed`;
const ZERO_NUM = "CAST(0 AS NUMERIC(38, 9))";

/**
 * The unified view over the org's cost tables that exist (and match the provider filter); null when none do.
 * `usageOnly` leaves out the billed-only sources (the reconciliation's list side).
 */
function view(
  wh: Warehouse,
  dataset: string,
  req: Pick<CostsRequest, "provider">,
  usageOnly = false,
  credits = false,
): Promise<string | null> {
  const wanted = COST_SOURCES.filter((s) =>
    (req.provider === null || s.provider === req.provider) && !(usageOnly && s.billedOnly)
  );
  return Promise.all(wanted.map((s) => wh.tableExists(dataset, s.table))).then((present) =>
    unifiedSql(dataset, wanted.filter((_, i) => present[i]), { credits })
  );
}

/** The days of usage without a price in force (no cost) over the unified view, per provider, model and unit. */
function unpricedDays(wh: Warehouse, unified: string, params: Record<string, string>): Promise<UnpricedDay[]> {
  return wh.query<UnpricedDay>(
    `WITH unified AS (${unified})
     SELECT provider, model, consumed_unit AS unit, charge_date AS day, SUM(consumed_quantity) AS quantity,
       COUNT(*) AS records
     FROM unified WHERE effective_cost IS NULL
     GROUP BY provider, model, consumed_unit, charge_date
     ORDER BY provider, model ASC NULLS LAST, unit ASC NULLS LAST, day`,
    params,
  );
}

/** DeepSeek's balance snapshots, from which its spend is derived (configs/deepseek/usage_cost.yml). */
const DEEPSEEK_SNAPSHOTS = "deepseek_balance_daily";

/** The first snapshot of each DeepSeek currency, where it falls in `[start, end]`; none without a snapshot table. */
async function firstSnapshots(
  wh: Warehouse,
  dataset: string,
  start: string,
  end: string,
): Promise<FirstSnapshot[]> {
  if (!(await wh.tableExists(dataset, DEEPSEEK_SNAPSHOTS))) return [];
  return await wh.query<FirstSnapshot>(
    `SELECT currency, CAST(snapshot_date AS STRING) AS day, CAST(total_balance AS NUMERIC(38, 9)) AS balance
     FROM (
       SELECT currency, snapshot_date, total_balance,
         ROW_NUMBER() OVER (PARTITION BY currency ORDER BY snapshot_date) AS nth
       FROM ${qualified(dataset, DEEPSEEK_SNAPSHOTS)}
     ) AS s
     WHERE nth = 1 AND snapshot_date BETWEEN CAST(@start AS DATE) AND CAST(@end AS DATE)
     ORDER BY currency`,
    { start, end },
  );
}

/** The notices of a period (src/costs/notices.ts), for every provider or only `provider`. */
async function notices(
  wh: Warehouse,
  dataset: string,
  req: { start: string; end: string; provider: string | null },
): Promise<Notice[]> {
  if (req.provider !== null && req.provider !== "deepseek") return [];
  return firstSnapshotNotices(await firstSnapshots(wh, dataset, req.start, req.end));
}

/** The cost summary: rows grouped by `groupBy`, totals, the other currencies' sums kept apart, unpriced usage. */
async function costSummary(wh: Warehouse, dataset: string, req: CostsRequest) {
  const unified = await view(wh, dataset, req);
  const params = { start: req.start, end: req.end };
  let grouped: Aggregate[] = [];
  let totals: Aggregate[] = [];
  let unpriced: UnpricedDay[] = [];
  if (unified !== null) {
    unpriced = await unpricedDays(wh, unified, params);
    const keys = req.groupBy.map((k) => `${GROUP_KEYS[k]} AS ${k}`);
    const order = req.groupBy.map((k) => `${k} ASC NULLS LAST`);
    [grouped, totals] = await Promise.all([
      wh.query<Aggregate>(
        `WITH unified AS (${unified})
         SELECT billing_currency AS currency${keys.map((k) => `, ${k}`).join("")}, ${SUMS}
         FROM unified GROUP BY ${["billing_currency", ...req.groupBy.map((k) => GROUP_KEYS[k])].join(", ")}
         ORDER BY ${["currency", ...order].join(", ")}`,
        params,
      ),
      wh.query<Aggregate>(
        `WITH unified AS (${unified}) SELECT billing_currency AS currency, ${SUMS}
         FROM unified GROUP BY billing_currency ORDER BY currency`,
        params,
      ),
    ]);
  }
  const section = (currency: string) => {
    const total = totals.find((t) => t.currency === currency);
    return {
      rows: grouped.filter((g) => g.currency === currency).map((g) => shapeRow(g, req.groupBy)),
      total_cost: total ? money(total.cost) : "0",
      total_billed_cost: money(total?.billed_cost),
    };
  };
  return {
    currency: req.currency,
    start: req.start,
    end: req.end,
    group_by: req.groupBy,
    provider: req.provider,
    ...section(req.currency),
    other_currencies: totals.filter((t) => t.currency !== req.currency).map((t) => ({
      currency: t.currency,
      ...section(t.currency),
    })),
    unpriced: unpricedUsage(unpriced),
    notices: await notices(wh, dataset, req),
  };
}

/**
 * Both sides of the reconciliation: usage priced from the unified view per provider, day, model and currency,
 * and the billed amounts: the provider-reported lines of BILLED_SOURCES (their model read from the line), and the
 * unified view's billed amount for every other provider and for fixed fees.
 */
async function reconciliationSides(wh: Warehouse, dataset: string, req: ReconciliationRequest) {
  const unified = await view(wh, dataset, req, true);
  const params = { start: req.start, end: req.end };
  const raw = BILLED_SOURCES.filter((s) => req.provider === null || s.provider === req.provider);
  const present = await Promise.all(raw.map((s) => wh.tableExists(dataset, s.table)));
  const [list, viewBilled, unpriced, ...rawBilled] = await Promise.all([
    unified === null ? [] : wh.query<ListSum & { records: number | string; priced: number | string }>(
      `WITH unified AS (${unified})
       SELECT provider, charge_date AS day, model, billing_currency AS currency, SUM(effective_cost) AS list_cost,
         COUNT(*) AS records, COUNT(effective_cost) AS priced
       FROM unified GROUP BY provider, charge_date, model, billing_currency`,
      params,
    ),
    unified === null ? [] : wh.query<BilledSum>(
      `WITH unified AS (${unified})
       SELECT provider, charge_date AS day, model, billing_currency AS currency, SUM(billed_cost) AS billed_cost
       FROM unified
       WHERE billed_cost IS NOT NULL
         AND (provider NOT IN (SELECT * FROM UNNEST(@raw)) OR charge_category = '${FEE_CATEGORY}')
       GROUP BY provider, charge_date, model, billing_currency`,
      { ...params, raw: BILLED_SOURCES.map((s) => s.provider) },
    ),
    unified === null ? [] : unpricedDays(wh, unified, params),
    ...raw.map((s, i) =>
      present[i]
        ? wh.query<{ day: string; label: string | null; currency: string; billed_cost: string }>(
          billedSql(dataset, s),
          params,
        ).then((rows) => rows.map((r) => ({ provider: s.provider, ...r, model: modelOfLine(s.provider, r.label) })))
        : Promise.resolve([])
    ),
  ]);
  return {
    list: list.map((l) => ({
      ...l,
      list_cost: Number(l.priced) ? l.list_cost : null,
      records: Number(l.records),
      unpriced_records: Number(l.records) - Number(l.priced),
    })),
    billed: [...viewBilled, ...rawBilled.flat()] as BilledSum[],
    unpriced: unpricedUsage(unpriced),
    notices: await notices(wh, dataset, req),
  };
}

/** One FOCUS-named row per charge (cost table row) in the range, at most `limit`; `truncated` when more exist. */
async function focusExport(wh: Warehouse, dataset: string, req: CostsRequest) {
  const lines = req.credits === "lines";
  const unified = await view(wh, dataset, req, false, lines);
  const found = unified === null ? [] : await wh.query<UnifiedRow & CreditColumns>(
    `WITH unified AS (${unified}) SELECT * FROM unified
     ORDER BY charge_date, provider, service_name ASC NULLS LAST, sku_id ASC NULLS LAST, sub_account_id ASC NULLS LAST
     LIMIT ${req.limit + 1}`,
    { start: req.start, end: req.end },
  );
  // Credit lines follow their charge, so the first `limit` rows of the expansion hold every charge they list.
  const rows = lines ? found.flatMap(withCreditLines) : found.map(toFocusRow);
  return {
    format: "focus",
    focus_version: "1.2",
    start: req.start,
    end: req.end,
    provider: req.provider,
    credits: req.credits,
    rows: rows.slice(0, req.limit),
    truncated: rows.length > req.limit,
  };
}

/** The snapshot days of [@start, @end] with their previous snapshot per currency (history before @start included). */
function spendSql(source: string): string {
  return `SELECT usage_date, snapshot_at, currency, previous_snapshot_date, previous_snapshot_at,
      opening_balance, closing_balance,
      CASE WHEN opening_balance > closing_balance THEN opening_balance - closing_balance ELSE ${ZERO_NUM} END AS spend,
      CASE WHEN closing_balance > opening_balance THEN closing_balance - opening_balance ELSE ${ZERO_NUM} END AS top_up
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

export class CostStore {
  constructor(private readonly wh: Warehouse) {}

  /** The cost summary of `dataset`: rows grouped by `req.groupBy`, totals, the other currencies' sums kept apart. */
  costSummary(dataset: string, req: CostsRequest): ReturnType<typeof costSummary> {
    return costSummary(this.wh, dataset, req);
  }

  /** Both sides of the reconciliation of `dataset` (src/costs/reconciliation.ts joins them), and unpriced usage. */
  reconciliationSides(dataset: string, req: ReconciliationRequest): ReturnType<typeof reconciliationSides> {
    return reconciliationSides(this.wh, dataset, req);
  }

  /** One FOCUS-named row per charge in the range, at most `req.limit`; `truncated` when more exist. */
  focusExport(dataset: string, req: CostsRequest): ReturnType<typeof focusExport> {
    return focusExport(this.wh, dataset, req);
  }

  /**
   * The load of `<provider>_unit_cost_daily` for `range`: the provider's meters whose raw table exists in `dataset`,
   * priced at the org's unit prices in one statement (src/central/_unit_cost_sql.ts), with the billed lines of
   * `billedTable` where a meter is billed on lines of its own; null when no meter's table exists yet.
   */
  async unitCostLoad(
    org: { slug: string; dataset: string },
    provider: MeteredProvider,
    range: DayRange,
    run: { runId: string; pricedAt: string },
    billedTable?: string,
  ): Promise<LoadQuery | null> {
    const meters = metersOf(provider);
    const present = await Promise.all(meters.map((m) => this.wh.tableExists(org.dataset, m.table)));
    const used = meters.filter((_, i) => present[i]);
    const billedMeter = used.find((m) => m.billedLines);
    const billed = billedMeter?.billedLines && billedTable && await this.wh.tableExists(org.dataset, billedTable)
      ? {
        table: billedTable,
        meter: billedMeter.meter,
        model: billedMeter.model ?? "model",
        subAccount: billedMeter.subAccount,
        amount: billedMeter.billedLines.amount,
        costType: billedMeter.billedLines.costType,
      }
      : null;
    const sql = unitCostSql(org.dataset, provider, used, billed);
    if (sql === null) return null;
    const params = {
      org_slug: org.slug,
      provider,
      start: range.from,
      end: range.to,
      run_id: run.runId,
      priced_at: run.pricedAt,
      ...(billed ? { billed_cost_type: billed.costType } : {}),
    };
    return { sql, params };
  }

  /**
   * `columns` (a validated column list) of the rows of `dataset.table` whose `usage_date` lies in `range`; no rows
   * when the table does not exist yet.
   */
  async readDays<T>(dataset: string, table: string, columns: string, range: DayRange): Promise<T[]> {
    if (!await this.wh.tableExists(dataset, table)) return [];
    return await this.queryDays<T>(dataset, table, columns, range);
  }

  /** {@link readDays} of a table known to exist. */
  async queryDays<T>(dataset: string, table: string, columns: string, range: DayRange): Promise<T[]> {
    return await this.wh.query<T>(
      `SELECT ${columns} FROM ${qualified(dataset, table)}
       WHERE usage_date >= CAST(@from AS DATE) AND usage_date <= CAST(@to AS DATE)`,
      { from: range.from, to: range.to },
    );
  }

  /**
   * DeepSeek's balance snapshot days of `range` in `dataset.table` with the previous snapshot of their currency,
   * the spend (a drop) and top-up (a rise) between, computed as DECIMAL; null when the table does not exist yet.
   */
  /** The first balance snapshot of each DeepSeek currency that falls in `range` (src/costs/notices.ts). */
  deepseekFirstSnapshots(dataset: string, range: DayRange): Promise<FirstSnapshot[]> {
    return firstSnapshots(this.wh, dataset, range.from, range.to);
  }

  async deepseekSpend(dataset: string, table: string, range: DayRange): Promise<SpendRow[] | null> {
    if (!(await this.wh.tableExists(dataset, table))) return null;
    return await this.wh.query<SpendRow>(spendSql(qualified(dataset, table)), { start: range.from, end: range.to });
  }
}
