/**
 * Bringing an existing DuckDB table up to its schema: read its columns (`pragma_table_info`, which binds the one
 * table, unlike `duckdb_columns()` which walks the whole catalog), then `ALTER TABLE ... ADD COLUMN IF NOT EXISTS`
 * each NULLABLE or REPEATED column the schema declares and the table lacks. Added columns go last, so a table
 * upgraded this way has its columns in another order than its schema: writers by position (the appender) follow
 * the table's layout.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type { Column } from "../schema/table_schema.ts";
import type { ExistingColumn } from "./_catalog.ts";
import { columnDdl } from "./_duckdb_values.ts";

/** The table's columns in table order with their catalog types; undefined when the table does not exist. */
export async function describeTable(
  c: DuckDBConnection,
  dataset: string,
  table: string,
): Promise<ExistingColumn[] | undefined> {
  try {
    // Identifiers are validated (assertIdentifier), so the quoted name is a safe literal.
    const reader = await c.runAndReadAll(
      `SELECT name, type FROM pragma_table_info('"${dataset}"."${table}"') ORDER BY cid`,
    );
    return reader.getRowObjects().map((r) => ({ name: String(r.name), type: String(r.type) }));
  } catch (e) {
    if (/does not exist/i.test((e as Error).message ?? "")) return undefined;
    throw e;
  }
}

/** Whether `dataset.table` is a view (`pragma_table_info` describes views too); asked only before altering. */
export async function isView(c: DuckDBConnection, dataset: string, table: string): Promise<boolean> {
  const reader = await c.runAndReadAll(
    `SELECT count(*) AS n FROM duckdb_views()
     WHERE database_name = current_database() AND schema_name = '${dataset}' AND view_name = '${table}'`,
  );
  return Number(reader.getRowObjects()[0]?.n ?? 0) > 0;
}

/** The statement adding one column (IF NOT EXISTS: two processes upgrading at once both succeed). */
export function addColumnDdl(dataset: string, table: string, f: Column): string {
  return `ALTER TABLE "${dataset}"."${table}" ADD COLUMN IF NOT EXISTS ${columnDdl(f)}`;
}
