/**
 * The embedded warehouse: one DuckDB file, a dataset is a DuckDB schema.
 *
 * Concurrency: a small pool of connections, each serving one call at a
 * time; transactions hold their connection for the whole callback. DDL is
 * serialised (DuckDB catalog changes from two connections can conflict) and
 * partition replaces are serialised per table (two deletes of the same rows
 * from two transactions would conflict). Bulk writes go through the
 * appender in 2048-row data chunks inside one transaction.
 *
 * Types: NUMERIC -> DECIMAL(38,9), INT64 -> BIGINT, FLOAT64 -> DOUBLE,
 * TIMESTAMP -> TIMESTAMPTZ (sessions run in UTC), JSON -> JSON,
 * BYTES -> BLOB, REPEATED -> `T[]`, REQUIRED -> NOT NULL. No primary key
 * constraint or index is created: DuckDB checks unique indexes eagerly inside
 * a transaction, which breaks delete-then-insert of the same keys, and its
 * zone maps already serve the date-range scans.
 */
import {
  DATE,
  dateValue,
  type DuckDBConnection,
  DuckDBDataChunk,
  DuckDBInstance,
  type DuckDBValue,
  TIMESTAMPTZ,
  timestampTZValue,
} from "@duckdb/node-api";
import type { TableSchema } from "../schema/table_schema.ts";
import { KeyedLock, Pool } from "./_pool.ts";
import { type Cell, checkSchema, epochDays, normalizeForReplace, normalizeRows, parseTimestamp } from "./_rows.ts";
import { scanParams, usedParams } from "./_sql.ts";
import { columnDdl, fillChunk, paramValues, resultConverter } from "./_duckdb_values.ts";
import {
  assertIdentifier,
  type DayRange,
  type QueryParams,
  type Row,
  type Warehouse,
  type WarehouseTx,
} from "./warehouse.ts";

/** Options of {@link openDuckDB}. */
export interface DuckDBOptions {
  /** Connections in the pool (default 4). */
  readonly connections?: number;
}

const CHUNK_ROWS = 2048;

/**
 * Opens (creating when missing) a DuckDB warehouse file, or `":memory:"`.
 * @throws {Error} when the file cannot be opened (e.g. locked by another process)
 * @example
 * ```ts
 * const wh = await openDuckDB(`${dataDir}/warehouse.duckdb`);
 * ```
 */
export async function openDuckDB(path: string, options: DuckDBOptions = {}): Promise<DuckDBWarehouse> {
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(path);
  } catch (e) {
    throw new Error(`Cannot open DuckDB warehouse ${JSON.stringify(path)}: ${(e as Error).message}`, { cause: e });
  }
  const wh = new DuckDBWarehouse(instance, options.connections ?? 4);
  await wh.ping();
  return wh;
}

/** DuckDB implementation of {@link Warehouse}; create it with {@link openDuckDB}. */
export class DuckDBWarehouse implements Warehouse {
  readonly kind = "duckdb" as const;
  readonly #instance: DuckDBInstance;
  readonly #pool: Pool<DuckDBConnection>;
  readonly #ddl = new KeyedLock();
  readonly #writes = new KeyedLock();

  constructor(instance: DuckDBInstance, connections: number) {
    this.#instance = instance;
    this.#pool = new Pool(
      async () => {
        const c = await instance.connect();
        await c.run("SET TimeZone = 'UTC'");
        return c;
      },
      (c) => c.closeSync(),
      connections,
    );
  }

  async ping(): Promise<void> {
    await this.#run("Cannot reach the DuckDB warehouse", (c) => c.run("SELECT 1"));
  }

  async datasetExists(dataset: string): Promise<boolean> {
    assertIdentifier(dataset, "dataset");
    const rows = await this.query<{ n: number }>(
      "SELECT count(*) AS n FROM information_schema.schemata WHERE catalog_name = current_database() AND schema_name = @s",
      { s: dataset },
    );
    return (rows[0]?.n ?? 0) > 0;
  }

  async ensureDataset(dataset: string): Promise<void> {
    assertIdentifier(dataset, "dataset");
    await this.#ddl.run(
      "ddl",
      () => this.#run(`Cannot create dataset "${dataset}"`, (c) => c.run(`CREATE SCHEMA IF NOT EXISTS "${dataset}"`)),
    );
  }

  async dropDataset(dataset: string): Promise<void> {
    assertIdentifier(dataset, "dataset");
    await this.#ddl.run(
      "ddl",
      () => this.#run(`Cannot drop dataset "${dataset}"`, (c) => c.run(`DROP SCHEMA IF EXISTS "${dataset}" CASCADE`)),
    );
  }

  async tableExists(dataset: string, table: string): Promise<boolean> {
    assertIdentifier(dataset, "dataset");
    assertIdentifier(table, "table");
    const rows = await this.query<{ n: number }>(
      "SELECT count(*) AS n FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = @s AND table_name = @t",
      { s: dataset, t: table },
    );
    return (rows[0]?.n ?? 0) > 0;
  }

  async ensureTable(dataset: string, schema: TableSchema): Promise<void> {
    checkSchema(dataset, schema);
    const ddl = `CREATE TABLE IF NOT EXISTS "${dataset}"."${schema.table}" (${
      schema.fields.map(columnDdl).join(", ")
    })`;
    await this.#ddl.run("ddl", () => this.#run(`Cannot create table "${dataset}.${schema.table}"`, (c) => c.run(ddl)));
  }

  async insertRows(dataset: string, schema: TableSchema, rows: Row[]): Promise<number> {
    const cells = normalizeRows(dataset, schema, rows);
    if (cells.length === 0) return 0;
    return await this.#pool.use((c) =>
      inTransaction(c, `Cannot insert into "${dataset}.${schema.table}"`, () => append(c, dataset, schema, cells))
    );
  }

  async replacePartitions(dataset: string, schema: TableSchema, range: DayRange, rows: Row[]): Promise<number> {
    const { cells, column } = normalizeForReplace(dataset, schema, range, rows);
    const field = schema.fields[column]!;
    const isDate = field.type === "DATE";
    const upper = isDate ? range.to : nextDay(range.to);
    const lo: DuckDBValue = isDate ? dateValue(epochDays(range.from)) : timestampTZValue(parseTimestamp(range.from)!);
    const hi: DuckDBValue = isDate ? dateValue(epochDays(range.to)) : timestampTZValue(parseTimestamp(upper)!);
    const where = isDate ? `"${field.name}" BETWEEN $lo AND $hi` : `"${field.name}" >= $lo AND "${field.name}" < $hi`;
    const sql = `DELETE FROM "${dataset}"."${schema.table}" WHERE ${where}`;
    const type = isDate ? DATE : TIMESTAMPTZ;
    const key = `${dataset}.${schema.table}`;
    return await this.#writes.run(
      key,
      () =>
        this.#pool.use((c) =>
          inTransaction(c, `Cannot replace partitions of "${key}"`, async () => {
            await c.run(sql, { lo, hi }, { lo: type, hi: type });
            return await append(c, dataset, schema, cells);
          })
        ),
    );
  }

  query<T = Row>(sql: string, params?: QueryParams): Promise<T[]> {
    return this.#pool.use((c) => runQuery<T>(c, sql, params));
  }

  execute(sql: string, params?: QueryParams): Promise<number> {
    return this.#pool.use((c) => runExecute(c, sql, params));
  }

  async transaction<T>(fn: (tx: WarehouseTx) => Promise<T>): Promise<T> {
    return await this.#pool.use(async (c) => {
      // Calls made concurrently inside fn share one connection: run them one at a time.
      const serial = new KeyedLock();
      const tx: WarehouseTx = {
        query: <R = Row>(sql: string, params?: QueryParams) => serial.run("tx", () => runQuery<R>(c, sql, params)),
        execute: (sql, params) => serial.run("tx", () => runExecute(c, sql, params)),
        insertRows: (dataset, schema, rows) => {
          const cells = normalizeRows(dataset, schema, rows);
          return serial.run("tx", () => append(c, dataset, schema, cells));
        },
      };
      return await inTransaction(c, "Transaction failed", () => fn(tx), false);
    });
  }

  close(): Promise<void> {
    this.#pool.close();
    this.#instance.closeSync();
    return Promise.resolve();
  }

  async #run<T>(context: string, fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    try {
      return await this.#pool.use(fn);
    } catch (e) {
      throw wrap(context, e);
    }
  }
}

function wrap(context: string, e: unknown): Error {
  return new Error(`${context}: ${(e as Error).message ?? String(e)}`, { cause: e });
}

function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

/** Runs fn between BEGIN and COMMIT, rolling back when it throws. */
async function inTransaction<T>(
  c: DuckDBConnection,
  context: string,
  fn: () => Promise<T>,
  wrapErrors = true,
): Promise<T> {
  await c.run("BEGIN TRANSACTION");
  let result: T;
  try {
    result = await fn();
    await c.run("COMMIT");
  } catch (e) {
    await c.run("ROLLBACK").catch(() => {});
    throw wrapErrors ? wrap(context, e) : e;
  }
  return result;
}

/** Appends canonical rows with the appender, in data chunks; the caller owns the transaction. */
async function append(c: DuckDBConnection, dataset: string, schema: TableSchema, cells: Cell[][]): Promise<number> {
  if (cells.length === 0) return 0;
  const appender = await c.createAppender(schema.table, dataset);
  try {
    if (appender.columnCount !== schema.fields.length) {
      throw new Error(
        `table has ${appender.columnCount} columns but its schema has ${schema.fields.length}; it was created from another schema`,
      );
    }
    const types = schema.fields.map((_, i) => appender.columnType(i));
    for (let start = 0; start < cells.length; start += CHUNK_ROWS) {
      const count = Math.min(CHUNK_ROWS, cells.length - start);
      const chunk = DuckDBDataChunk.create(types, count);
      fillChunk(chunk, schema.fields, cells, start, count);
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
  } finally {
    try {
      appender.closeSync();
    } catch { /* the flush error above is the one to report */ }
  }
  return cells.length;
}

function bindings(sql: string, params: QueryParams | undefined) {
  const scanned = scanParams(sql, (name) => `$${name}`);
  const { values, types } = paramValues(usedParams(scanned.names, params));
  return { sql: scanned.sql, values: scanned.names.length ? values : undefined, types };
}

async function runQuery<T>(c: DuckDBConnection, sql: string, params: QueryParams | undefined): Promise<T[]> {
  const b = bindings(sql, params);
  try {
    const reader = await c.runAndReadAll(b.sql, b.values, b.types);
    // Convert with the result's column types: chunk vectors drop the JSON alias.
    const names = reader.deduplicatedColumnNames();
    const types = reader.columnTypes();
    return reader.getRows().map((values) => {
      const row: Row = {};
      values.forEach((v, i) => (row[names[i]!] = resultConverter(v, types[i]!, resultConverter)));
      return row as T;
    });
  } catch (e) {
    throw wrap("DuckDB query failed", e);
  }
}

async function runExecute(c: DuckDBConnection, sql: string, params: QueryParams | undefined): Promise<number> {
  const b = bindings(sql, params);
  try {
    const result = await c.run(b.sql, b.values, b.types);
    return result.rowsChanged;
  } catch (e) {
    throw wrap("DuckDB statement failed", e);
  }
}
