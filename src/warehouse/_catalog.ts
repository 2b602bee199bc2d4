/**
 * The datasets and tables a warehouse object knows exist because it created or found them, so `ensureTable`,
 * `tableExists` and friends skip the catalog once they have seen a name (DuckDB's information_schema grows slow
 * with thousands of tenant tables, and its DDL is serialised). Only positive answers are kept; dropping a dataset,
 * or any DROP / ALTER / RENAME sent as plain SQL, forgets what it may have removed.
 */
export class KnownCatalog {
  readonly #datasets = new Set<string>();
  readonly #tables = new Set<string>();

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
    this.#tables.add(`${dataset}.${table}`);
  }

  dropDataset(dataset: string): void {
    this.#datasets.delete(dataset);
    for (const key of this.#tables) if (key.startsWith(`${dataset}.`)) this.#tables.delete(key);
  }

  /** Forgets everything when `sql` may remove or rename a dataset or table. */
  seeSql(sql: string): void {
    if (/\b(DROP|ALTER|RENAME)\b/i.test(sql)) {
      this.#datasets.clear();
      this.#tables.clear();
    }
  }
}
