/**
 * The datasets and tables a warehouse object knows exist because it created or found them, so `ensureTable`,
 * `tableExists` and friends skip the catalog once they have seen a name (DuckDB's information_schema grows slow
 * with thousands of tenant tables, and its DDL is serialised). Only positive answers are kept; dropping a dataset,
 * or any DROP / ALTER / RENAME sent as plain SQL, forgets what it may have removed.
 *
 * A table is "ensured" for a schema once `ensureTable` compared it with that schema (and added the columns it
 * lacked), so the comparison costs one catalog read per table per process; the table's column order found then is
 * kept too (`layout`), for writers that address columns by position (DuckDB's appender). {@link upgradePlan}
 * is that comparison, shared by both adapters.
 */
import { AppError } from "../errors/mod.ts";
import type { Column, TableSchema } from "../schema/table_schema.ts";

interface TableState {
  /** Signature of the schema the table was last ensured for. */
  ensured?: string;
  /** The table's column names in table order, when read. */
  layout?: readonly string[];
}

export class KnownCatalog {
  readonly #datasets = new Set<string>();
  readonly #tables = new Map<string, TableState>();

  hasDataset(dataset: string): boolean {
    return this.#datasets.has(dataset);
  }

  hasTable(dataset: string, table: string): boolean {
    return this.#tables.has(`${dataset}.${table}`);
  }

  addDataset(dataset: string): void {
    this.#datasets.add(dataset);
  }

  addTable(dataset: string, table: string): void {
    this.#datasets.add(dataset);
    const key = `${dataset}.${table}`;
    if (!this.#tables.has(key)) this.#tables.set(key, {});
  }

  /** Whether `ensureTable` already brought the table up to this schema (same fields) in this process. */
  isEnsured(dataset: string, schema: TableSchema): boolean {
    return this.#tables.get(`${dataset}.${schema.table}`)?.ensured === signature(schema);
  }

  /** Notes that the table matches `schema` and has the columns `layout`, in that order. */
  markEnsured(dataset: string, schema: TableSchema, layout: readonly string[]): void {
    this.#datasets.add(dataset);
    this.#tables.set(`${dataset}.${schema.table}`, { ensured: signature(schema), layout });
  }

  /** The table's column names in table order, when known. */
  layout(dataset: string, table: string): readonly string[] | undefined {
    return this.#tables.get(`${dataset}.${table}`)?.layout;
  }

  /** Notes the table's column order (read by a writer). */
  setLayout(dataset: string, table: string, layout: readonly string[]): void {
    this.#datasets.add(dataset);
    const key = `${dataset}.${table}`;
    this.#tables.set(key, { ...this.#tables.get(key), layout });
  }

  dropDataset(dataset: string): void {
    this.#datasets.delete(dataset);
    for (const key of this.#tables.keys()) if (key.startsWith(`${dataset}.`)) this.#tables.delete(key);
  }

  /** Forgets everything when `sql` may remove, rename or alter a dataset or table. */
  seeSql(sql: string): void {
    if (/\b(DROP|ALTER|RENAME)\b/i.test(sql)) {
      this.#datasets.clear();
      this.#tables.clear();
    }
  }
}

const signatures = new WeakMap<TableSchema, string>();

/** The fields of a schema as one string (names, types, modes), memoised per schema object. */
function signature(schema: TableSchema): string {
  let s = signatures.get(schema);
  if (s === undefined) {
    s = schema.fields.map((f) => `${f.name}:${f.type}:${f.mode}`).join(",");
    signatures.set(schema, s);
  }
  return s;
}

/** A column of an existing table, its type spelled as the backend's `typeOf` spells a schema column's. */
export interface ExistingColumn {
  readonly name: string;
  readonly type: string;
}

/** Why an existing table cannot be brought up to its schema by adding columns (`TABLE_UPGRADE_REFUSED`). */
function upgradeRefused(message: string): AppError {
  return new AppError("TABLE_UPGRADE_REFUSED", message);
}

/**
 * The schema columns `existing` lacks, to be added (all NULLABLE or REPEATED), in schema order.
 * @param where `dataset.table`, for messages
 * @param typeOf the backend type a schema column maps to, comparable with {@link ExistingColumn.type}
 * @throws {AppError} `TABLE_UPGRADE_REFUSED` naming the table and column when a missing column is REQUIRED (it cannot be added
 *   to a table that may hold rows) or when a column's type differs from the schema's (it cannot be changed in place)
 */
export function upgradePlan(
  where: string,
  schema: TableSchema,
  existing: readonly ExistingColumn[],
  typeOf: (f: Column) => string,
): Column[] {
  const byName = new Map(existing.map((c) => [c.name, c]));
  const missing: Column[] = [];
  for (const f of schema.fields) {
    const found = byName.get(f.name);
    if (!found) {
      if (f.mode === "REQUIRED") {
        throw upgradeRefused(
          `Cannot upgrade table "${where}": column "${f.name}" is REQUIRED in its schema but missing from the ` +
            `table, and a REQUIRED column cannot be added to an existing table; declare it NULLABLE in the schema, ` +
            `or recreate the table (for the central tables: POST /api/v1/admin/bootstrap with ` +
            `force_recreate_dataset, which drops their rows)`,
        );
      }
      missing.push(f);
      continue;
    }
    const expected = typeOf(f);
    if (found.type !== expected) {
      throw upgradeRefused(
        `Cannot upgrade table "${where}": column "${f.name}" is ${found.type} in the table but the schema ` +
          `declares ${expected}, and a column's type cannot be changed in place; restore the old type in the ` +
          `schema, or migrate the table by hand (copy its rows into a table created from the new schema)`,
      );
    }
  }
  return missing;
}
