/**
 * Checks that an org's GCP billing export is readable. BigQuery: a `project.dataset.table` id read through
 * the tables API with the service account's token. Embedded default: a JSONL, CSV or Parquet file in the
 * org's own folder `${DATA_DIR}/imports/{org_slug}/` (any other path is refused) that DuckDB can read.
 */
import { resolve, sep } from "node:path";
import { type ProcessorContext } from "../context.ts";
import { AppError } from "../../errors/mod.ts";
import { probeExportFile } from "../../warehouse/billing_export_file.ts";
import { invalid, requireOrg } from "./_credential.ts";

const TABLE_ID = /^([a-z][a-z0-9-]{4,28}[a-z0-9])\.([A-Za-z0-9_]{1,1024})\.([A-Za-z0-9_$-]{1,1024})$/;
const FILE = /\.(jsonl|ndjson|json|csv|parquet)$/i;

/** The folder an org's export files go in: `${DATA_DIR}/imports/{org_slug}/` (one org never names another's). */
export function importsRoot(dataDir: string, orgSlug: string): string {
  return resolve(dataDir, "imports", orgSlug);
}

/** The absolute path of an org's import file, or a 400 when it is not a plain file name in the org's folder. */
export function importPath(dataDir: string, orgSlug: string, name: string): string {
  const root = importsRoot(dataDir, orgSlug);
  const full = resolve(root, name);
  if (!full.startsWith(root + sep) || !FILE.test(full)) {
    throw new AppError(
      "VALIDATION_ERROR",
      `Field "billing_export_table": in the embedded default it must name a .jsonl, .csv or .parquet file under DATA_DIR/imports/${orgSlug}/`,
    );
  }
  return full;
}

/**
 * The real path of an existing import file, following symlinks, or undefined when it is missing or leads
 * outside the org's folder.
 */
export async function realImportPath(dataDir: string, orgSlug: string, name: string): Promise<string | undefined> {
  const path = importPath(dataDir, orgSlug, name);
  try {
    const real = await Deno.realPath(path);
    const root = await Deno.realPath(importsRoot(dataDir, orgSlug));
    return real.startsWith(root + sep) ? real : undefined;
  } catch {
    return undefined;
  }
}

export async function checkBillingExport(
  ctx: ProcessorContext,
  table: string,
  accessToken: string,
): Promise<Record<string, unknown>> {
  if (!table) throw invalid("GCP_SA", "No billing_export_table is configured for this service account");
  if (ctx.warehouse.kind === "duckdb") {
    const org = requireOrg(ctx);
    const path = await realImportPath(ctx.env.dataDir, org.slug, table);
    if (!path) {
      throw invalid("GCP_SA", `Billing export file "${table}" does not exist under DATA_DIR/imports/${org.slug}/`);
    }
    try {
      // The path is ours (resolved under imports/ and matched against a strict pattern), never raw input.
      await probeExportFile(ctx.warehouse, path);
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
    throw new AppError("PROVIDER_UNAVAILABLE", `BigQuery answered ${res.status} for the billing export table`);
  }
  return { billing_export_table: table, billing_export_kind: "bigquery" };
}
