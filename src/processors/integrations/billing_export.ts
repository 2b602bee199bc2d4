/**
 * Checks that an org's GCP billing export is readable. BigQuery: a `project.dataset.table` id read through
 * the tables API with the service account's token. Embedded default: a JSONL, CSV or Parquet file under
 * `${DATA_DIR}/imports/` (any other path is refused) that DuckDB can read.
 */
import { resolve, sep } from "node:path";
import { type ProcessorContext, ProcessorError } from "../context.ts";
import { invalid } from "./_credential.ts";

const TABLE_ID = /^([a-z][a-z0-9-]{4,28}[a-z0-9])\.([A-Za-z0-9_]{1,1024})\.([A-Za-z0-9_$-]{1,1024})$/;
const FILE = /\.(jsonl|ndjson|json|csv|parquet)$/i;

/** The absolute path of an import file, or a 400 when it is not a plain file name under imports/. */
export function importPath(dataDir: string, name: string): string {
  const root = resolve(dataDir, "imports");
  const full = resolve(root, name);
  if (!full.startsWith(root + sep) || !FILE.test(full)) {
    throw new ProcessorError(
      400,
      "VALIDATION_ERROR",
      `Field "billing_export_table": in the embedded default it must name a .jsonl, .csv or .parquet file under DATA_DIR/imports/`,
    );
  }
  return full;
}

/** DuckDB's reader for an import file, by extension. */
export function readerFor(path: string): string {
  if (/\.parquet$/i.test(path)) return "read_parquet";
  if (/\.csv$/i.test(path)) return "read_csv_auto";
  return "read_json_auto";
}

export async function checkBillingExport(
  ctx: ProcessorContext,
  table: string,
  accessToken: string,
): Promise<Record<string, unknown>> {
  if (!table) throw invalid("GCP_SA", "No billing_export_table is configured for this service account");
  if (ctx.warehouse.kind === "duckdb") {
    const path = importPath(ctx.env.dataDir, table);
    try {
      // A symlink under imports/ must not lead outside it.
      const real = await Deno.realPath(path);
      const root = await Deno.realPath(resolve(ctx.env.dataDir, "imports"));
      if (!real.startsWith(root + sep)) throw new Error("outside");
    } catch {
      throw invalid("GCP_SA", `Billing export file "${table}" does not exist under DATA_DIR/imports/`);
    }
    try {
      // The path is ours (resolved under imports/ and matched against a strict pattern), never raw input.
      await ctx.warehouse.query(`SELECT * FROM ${readerFor(path)}('${path.replaceAll("'", "''")}') LIMIT 1`);
    } catch {
      throw invalid("GCP_SA", `Billing export file "${table}" is not a readable JSONL, CSV or Parquet file`);
    }
    return { billing_export_table: table, billing_export_kind: "file" };
  }
  const m = TABLE_ID.exec(table);
  if (!m) {
    throw invalid(
      "GCP_SA",
      `billing_export_table must look like project.dataset.gcp_billing_export_v1_XXXX, not "${table}"`,
    );
  }
  const url = `https://bigquery.googleapis.com/bigquery/v2/projects/${m[1]}/datasets/${m[2]}/tables/${
    encodeURIComponent(m[3]!)
  }`;
  const res = await fetch(url, {
    headers: { Authorization: `Bearer ${accessToken}` },
    signal: AbortSignal.timeout(15_000),
  });
  await res.body?.cancel();
  if (res.status === 403 || res.status === 404) {
    throw invalid("GCP_SA", `The service account cannot read billing export table "${table}" (${res.status})`);
  }
  if (!res.ok) {
    throw new ProcessorError(
      502,
      "PROVIDER_UNAVAILABLE",
      `BigQuery answered ${res.status} for the billing export table`,
    );
  }
  return { billing_export_table: table, billing_export_kind: "bigquery" };
}
