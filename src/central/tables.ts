/**
 * The central dataset and the table schemas the central stores are built with. The schemas come from the
 * compiled configs (the bootstrap module's `tables`), handed in at start-up: nothing under `src/` reads
 * `generated/` itself.
 */
import type { TableSchema } from "../schema/table_schema.ts";

/** The dataset of the platform's own tables (orgs, keys, credentials, runs, quotas, prices, queue). */
export const CENTRAL_DATASET = "organizations";

/** Table schemas by table name, as the compiler emits them. */
export type TableSchemas = Readonly<Record<string, TableSchema | undefined>>;

/**
 * The schema of `name` from `tables`.
 * @throws {Error} naming the table when the schemas given to a store lack it
 */
export function tableOf(tables: TableSchemas, name: string): TableSchema {
  const schema = tables[name];
  if (!schema) throw new Error(`The table schemas given to the central stores lack "${name}"`);
  return schema;
}
