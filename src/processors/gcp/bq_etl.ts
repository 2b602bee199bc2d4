/**
 * `gcp.bq_etl`: the org's Cloud Billing export rows for [start_date, end_date] (the UTC day of
 * `usage_start_time`), flattened into `gcp_billing_daily_raw` with credits summed and
 * net_cost = cost + credits_total, all in DECIMAL. On the embedded default no row passes through JavaScript: the
 * step hands the executor the SELECT over the file and DuckDB inserts its rows itself (`StepResult.load`, checks
 * counted in SQL). On BigQuery the rows come in result pages of 10,000, handed to the executor as row batches. So
 * memory is bounded whatever the export's size. The executor replaces those day partitions, so re-running a range picks up late
 * export rows without duplicating any.
 *
 * Where the export lives follows the warehouse, as at integration setup: the embedded default reads the file the
 * credential metadata names under `${DATA_DIR}/imports/` with DuckDB; on BigQuery the `project.dataset.table`
 * export is queried with the org's service account.
 */
import { mintAccessToken, parseServiceAccount } from "../../providers/gcp.ts";
import { gcpBillingSpec } from "../specs.ts";
import { defineProcessor } from "../registry.ts";
import type { ProcessorContext, RowBatches } from "../context.ts";
import { realImportPath } from "../integrations/billing_export.ts";
import { dayRange } from "../_cost.ts";
import { exportFileLoad } from "../../warehouse/billing_export_file.ts";
import type { LoadQuery } from "../../warehouse/warehouse.ts";
import { exportTablePages } from "../../warehouse/billing_export_bigquery.ts";
import { billingRow, type ExportRow } from "./_export_row.ts";
import { AppError } from "../../errors/mod.ts";

const GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token";

/** Checks the rendered dates: real days, in order, at most 366 of them (as every cost step does). */
export function checkRange(start: string, end: string): { from: string; to: string } {
  const { from, to } = dayRange(start, end);
  return { from, to };
}

function exportTable(ctx: ProcessorContext): string {
  const metadata = ctx.state.get("credential_metadata") as Record<string, unknown> | undefined;
  const table = metadata?.billing_export_table;
  if (typeof table !== "string" || table === "") {
    throw new AppError(
      "INTEGRATION_NOT_READY",
      "The GCP integration names no billing_export_table: set it up again with one",
    );
  }
  return table;
}

type Pages = AsyncIterable<ExportRow[]>;

/** The SELECT the warehouse runs over the export file to write the output rows itself. */
async function fromFile(
  ctx: ProcessorContext,
  name: string,
  range: { from: string; to: string },
  run: { runId: string; now: string },
): Promise<LoadQuery> {
  const org = ctx.org!.slug;
  // realImportPath checks the name and follows symlinks: nothing outside the org's folder is read.
  const real = await realImportPath(ctx.env.dataDir, org, name);
  if (!real) {
    throw new AppError(
      "BILLING_EXPORT_MISSING",
      `Billing export file "${name}" no longer exists under DATA_DIR/imports/${org}/ (or leads outside it)`,
    );
  }
  try {
    return await exportFileLoad(ctx.warehouse, real, range, run);
  } catch (cause) {
    throw new Error(`Reading billing export file "${name}"`, { cause });
  }
}

async function fromBigQuery(ctx: ProcessorContext, tableId: string, start: string, end: string): Promise<Pages> {
  const secret = ctx.state.get("credential");
  if (typeof secret !== "string") throw new Error(`Step "${ctx.step.id}" has no GCP credential`);
  const sa = parseServiceAccount(secret);
  const production = ctx.env.environment === "production";
  const tokenUri = !production && ctx.env.gcpTokenUri
    ? ctx.env.gcpTokenUri
    : production
    ? GOOGLE_TOKEN_URI
    : sa.token_uri;
  let token;
  try {
    token = await mintAccessToken(sa, { tokenUri, timeoutMs: 30_000, maxRetries: 3 });
  } catch (cause) {
    throw new Error("Minting an access token for the GCP service account", { cause });
  }
  return exportTablePages<ExportRow>({
    tableId,
    jobProject: sa.project_id,
    accessToken: token.access_token,
    start,
    end,
  });
}

/** The `gcp_billing_daily_raw` rows of the export pages, page by page; logs the count once the last one is read. */
async function* billingBatches(
  ctx: ProcessorContext,
  pages: Pages,
  range: { from: string; to: string },
  run: { runId: string; now: string },
): RowBatches {
  let rows = 0;
  for await (const page of pages) {
    rows += page.length;
    yield page.map((r) => billingRow(r, run.runId, run.now));
  }
  ctx.logger.info("GCP billing export read", { rows, from: range.from, to: range.to });
}

export const gcpBillingProcessor = defineProcessor(gcpBillingSpec, async (ctx, config) => {
  const range = checkRange(config.start_date, config.end_date);
  const table = exportTable(ctx);
  const run = { runId: ctx.run?.id ?? "adhoc", now: ctx.now().toISOString() };
  if (ctx.warehouse.kind === "duckdb") return { load: await fromFile(ctx, table, range, run), range };
  const pages = await fromBigQuery(ctx, table, range.from, range.to);
  return { rows: billingBatches(ctx, pages, range, run), range };
});
