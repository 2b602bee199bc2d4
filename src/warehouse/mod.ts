/**
 * Warehouse: one interface over DuckDB (embedded default) and BigQuery.
 *
 * @example
 * ```ts
 * const wh = await openWarehouse({ kind: "duckdb", path: `${dataDir}/warehouse.duckdb` });
 * const rows = await wh.query(
 *   `SELECT * FROM ${qualified("organizations", "org_profiles")} WHERE org_slug = @org_slug`,
 *   { org_slug },
 * );
 * ```
 */
import { BigQueryWarehouse } from "./bigquery.ts";
import { openDuckDB } from "./duckdb.ts";
import type { Warehouse } from "./warehouse.ts";

export { assertIdentifier, qualified } from "./warehouse.ts";
export type { DayRange, QueryParams, Row, RowStream, Warehouse, WarehouseTx } from "./warehouse.ts";
export { DuckDBWarehouse, openDuckDB } from "./duckdb.ts";
export type { DuckDBOptions } from "./duckdb.ts";
export { BigQueryWarehouse } from "./bigquery.ts";
export type { BigQueryOptions } from "./bigquery.ts";

/** Which warehouse to open: a DuckDB file (or ":memory:") or a BigQuery project. */
export type WarehouseConfig =
  | { readonly kind: "duckdb"; readonly path: string; readonly connections?: number }
  | {
    readonly kind: "bigquery";
    readonly projectId: string;
    readonly location: string;
    readonly apiEndpoint?: string;
    readonly credentials?: Record<string, unknown>;
  };

/**
 * Opens the configured warehouse and checks that it answers.
 * DuckDB: opens or creates the file (`connections` default 4).
 * BigQuery: uses `credentials` or Application Default Credentials.
 * @throws {Error} when the backend cannot be opened or reached
 */
export async function openWarehouse(config: WarehouseConfig): Promise<Warehouse> {
  if (config.kind === "duckdb") {
    return await openDuckDB(config.path, config.connections ? { connections: config.connections } : {});
  }
  if (config.kind === "bigquery") {
    const wh = new BigQueryWarehouse(config);
    await wh.ping();
    return wh;
  }
  throw new Error(`Unknown warehouse kind ${JSON.stringify((config as { kind: unknown }).kind)}`);
}
