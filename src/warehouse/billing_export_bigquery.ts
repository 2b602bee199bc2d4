/**
 * Reads the org's Cloud Billing export table in BigQuery with the org's own service account (its access token,
 * never the platform's credentials): one parameterised query job in the service account's project, dates as
 * `@start`/`@end`, the table id validated strictly before it is put in backticks. Amounts are cast to
 * NUMERIC(38, 9) and net cost = cost + sum(credits[].amount) is computed in the query. The result is read page by
 * page (`maxResults`/`pageToken`). Used by the `gcp.bq_etl` processor (rows typed as its `ExportRow`).
 */
import { BigQuery } from "@google-cloud/bigquery";
import { BigQueryWarehouse } from "./bigquery.ts";
import type { Row } from "./warehouse.ts";

/** `project.dataset.table`; a project may be domain-scoped (`example.com:project`). */
const TABLE_ID =
  /^((?:[a-z][a-z0-9.-]{0,61}[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9])\.([A-Za-z0-9_]{1,1024})\.([A-Za-z0-9_]{1,1024})$/;

/** The parts of a billing export table id, or null when it is not a plain `project.dataset.table`. */
export function parseTableId(id: string): { project: string; dataset: string; table: string } | null {
  const m = TABLE_ID.exec(id);
  return m ? { project: m[1]!, dataset: m[2]!, table: m[3]! } : null;
}

const NUM = "NUMERIC(38, 9)";
/** Rows per result page read from the export table: what the reader and the write hold at a time. */
export const EXPORT_PAGE_ROWS = 10_000;

/** The query over a validated export table; `hasListCost` when the export carries `cost_at_list`. */
export function exportTableSql(
  table: { project: string; dataset: string; table: string },
  hasListCost: boolean,
): string {
  const ref = `\`${table.project}.${table.dataset}.${table.table}\``;
  return `SELECT *, cost + credits_total AS net_cost FROM (
    SELECT DATE(usage_start_time) AS usage_date, billing_account_id,
      service.id AS service_id, service.description AS service_description,
      sku.id AS sku_id, sku.description AS sku_description,
      project.id AS project_id, project.name AS project_name, location.region AS location_region,
      usage_start_time, usage_end_time,
      CAST(usage.amount AS ${NUM}) AS usage_amount, usage.unit AS usage_unit,
      CAST(usage.amount_in_pricing_units AS ${NUM}) AS usage_amount_in_pricing_units, usage.pricing_unit AS pricing_unit,
      ${hasListCost ? `CAST(cost_at_list AS ${NUM})` : `CAST(NULL AS ${NUM})`} AS list_cost,
      CAST(cost AS ${NUM}) AS cost,
      TO_JSON(credits) AS credits,
      (SELECT CAST(IFNULL(SUM(CAST(c.amount AS ${NUM})), 0) AS ${NUM}) FROM UNNEST(credits) AS c) AS credits_total,
      currency, CAST(currency_conversion_rate AS ${NUM}) AS currency_conversion_rate,
      invoice.month AS invoice_month, cost_type,
      TO_JSON(labels) AS labels, TO_JSON(project.labels) AS project_labels, export_time
    FROM ${ref}
    WHERE DATE(usage_start_time) BETWEEN CAST(@start AS DATE) AND CAST(@end AS DATE)
  ) AS x`;
}

/** Options of {@link readExportTable}. */
export interface ExportTableOptions {
  /** `project.dataset.table` as stored in the credential metadata. */
  readonly tableId: string;
  /** Project the query job runs (and is billed) in: the service account's own. */
  readonly jobProject: string;
  readonly accessToken: string;
  readonly start: string;
  readonly end: string;
  /** REST endpoint override (a local stand-in); default BigQuery's. */
  readonly apiEndpoint?: string;
}

/**
 * The export rows of [start, end] from the org's BigQuery export table, in pages of at most `pageSize` rows (the
 * query job's result pages), so memory stays bounded by a page whatever the table's size. Unsorted: an ORDER BY
 * over a month of a large account would make BigQuery sort it on one worker for nothing.
 * @throws {Error} when the id is not a plain table id, or BigQuery refuses (message only: no request, no token)
 */
export async function* exportTablePages<T = Row>(
  options: ExportTableOptions,
  pageSize = EXPORT_PAGE_ROWS,
): AsyncGenerator<T[]> {
  const table = parseTableId(options.tableId);
  if (!table) throw new Error(`The billing export table "${options.tableId}" is not a project.dataset.table id`);
  const authClient = {
    getRequestHeaders: () => Promise.resolve(new Headers({ authorization: `Bearer ${options.accessToken}` })),
  };
  const endpoint = options.apiEndpoint ? { apiEndpoint: options.apiEndpoint.replace(/\/+$/, "") } : {};
  const bq = new BigQuery(
    { projectId: options.jobProject, authClient, ...endpoint } as ConstructorParameters<
      typeof BigQuery
    >[0],
  );
  let metadata: { location?: string; schema?: { fields?: { name: string }[] } };
  try {
    [metadata] = await bq.dataset(table.dataset, { projectId: table.project }).table(table.table).getMetadata();
  } catch (e) {
    const err = e as { message?: string; code?: number };
    throw new Error(
      `Reading the billing export table "${options.tableId}": ${err.message ?? "failed"}${
        err.code ? ` (HTTP ${err.code})` : ""
      }`,
    );
  }
  const fields = new Set((metadata.schema?.fields ?? []).map((f) => f.name));
  const wh = new BigQueryWarehouse({
    projectId: options.jobProject,
    location: metadata.location ?? "US",
    authClient,
    ...endpoint,
  });
  const sql = exportTableSql(table, fields.has("cost_at_list"));
  yield* wh.queryPages<T>(sql, { start: options.start, end: options.end }, pageSize);
}

/**
 * Every export row of [start, end] at once (a small range, or a test); {@link exportTablePages} for a large one.
 * @throws {Error} as {@link exportTablePages}
 */
export async function readExportTable<T = Row>(options: ExportTableOptions): Promise<T[]> {
  const rows: T[] = [];
  for await (const page of exportTablePages<T>(options)) rows.push(...page);
  return rows;
}
