/**
 * The embedded warehouse: one DuckDB file, a dataset is a DuckDB schema.
 *
 * Concurrency: a small pool of connections, each serving one call at a
 * time; transactions hold their connection for the whole callback. DDL is
 * serialised (DuckDB catalog changes from two connections can conflict) and
 * partition replaces are serialised per table (two deletes of the same rows
 * from two transactions would conflict). Bulk writes go through the
 * appender in 2048-row data chunks inside one transaction. A streamed
 * partition replace runs on a connection of its own (outside the pool) for
 * as long as its producer takes, so the producer may query the warehouse
 * meanwhile and other callers are never starved of pooled connections.
 *
 * Checkpoints: the adapter checkpoints itself when the warehouse is quiet (`_duckdb_checkpoint.ts`).
 *
 * Types: NUMERIC -> DECIMAL(38,9), INT64 -> BIGINT, FLOAT64 -> DOUBLE,
 * TIMESTAMP -> TIMESTAMPTZ (sessions run in UTC), JSON -> JSON,
 * BYTES -> BLOB, REPEATED -> `T[]`, REQUIRED -> NOT NULL. No primary key
 * constraint or index is created: DuckDB checks unique indexes eagerly inside
 * a transaction, which breaks delete-then-insert of the same keys, and its
 * zone maps already serve the date-range scans.
 *
 * Healing: a fatal engine error (a checkpoint on a full disk invalidates the database) makes the engine close
 * and reopen the file (`_duckdb_engine.ts`); until then calls fail fast with a `WAREHOUSE_UNAVAILABLE`
 * AppError (`errors.ts`; a lost write race is `WRITE_CONFLICT`, classified in `_duckdb_conn.ts`)
 * and `ping()` (the app's `/health`) fails.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type { Column, TableSchema } from "../schema/table_schema.ts";
import { KeyedLock } from "./_pool.ts";
import { DuckDBEngine } from "./_duckdb_engine.ts";
import { KnownCatalog, upgradePlan } from "./_catalog.ts";
import { GroupCommit } from "./_group.ts";
import { type Cell, checkSchema, normalizeColumns } from "./_rows.ts";
import { nextDay, normalizeForReplace } from "./_partitions.ts";
import { loadInto } from "./_load.ts";
import { catalogType, columnDdl } from "./_duckdb_values.ts";
import { heldPages, runExecute, runQuery, streamQuery } from "./_duckdb_stmt.ts";
import { append, inTransaction, TableAppender, watch, wrap } from "./_duckdb_conn.ts";
import { addColumnDdl, describeTable, isView } from "./_duckdb_upgrade.ts";
import { Checkpointer, WAL_HARD_LIMIT } from "./_duckdb_checkpoint.ts";
import {
  assertIdentifier,
  type DayRange,
  isRowStream,
  type LoadQuery,
  type LoadVerify,
  type QueryParams,
  type Row,
  type RowStream,
  type Warehouse,
  type WarehouseTx,
} from "./warehouse.ts";

/** Options of {@link openDuckDB}. */
export interface DuckDBOptions {
  /** Connections in the pool (default 4). */
  readonly connections?: number;
}

const IDLE_STREAM_CONNECTIONS = 8;
/** Writes of at most this many rows are group-committed; larger ones get a transaction of their own. */
const GROUP_MAX_ROWS = 5000;

/**
 * Opens (creating when missing) a DuckDB warehouse file, or `":memory:"`.
 * @throws {Error} when the file cannot be opened (e.g. locked by another process)
 * @example
 * ```ts
 * const wh = await openDuckDB(`${dataDir}/warehouse.duckdb`);
 * ```
 */
export async function openDuckDB(path: string, options: DuckDBOptions = {}): Promise<DuckDBWarehouse> {
  let engine: DuckDBEngine;
  let reopened = () => {};
  try {
    engine = await DuckDBEngine.open(
      path,
      { checkpoint_threshold: WAL_HARD_LIMIT },
      options.connections ?? 4,
      IDLE_STREAM_CONNECTIONS,
      () => reopened(),
    );
  } catch (e) {
    throw new Error(`Cannot open DuckDB warehouse ${JSON.stringify(path)}: ${(e as Error).message}`, { cause: e });
  }
  const wh = new DuckDBWarehouse(engine, path === ":memory:" ? undefined : `${path}.wal`);
  reopened = () => wh.forgetCatalog();
  await wh.ping();
  await wh.tightenFileModes();
  return wh;
}

/** DuckDB implementation of {@link Warehouse}; create it with {@link openDuckDB}. */
export class DuckDBWarehouse implements Warehouse {
  readonly kind = "duckdb" as const;
  readonly #engine: DuckDBEngine;
  readonly #writes = new KeyedLock();
  #known = new KnownCatalog();
  /** Small writes of concurrent callers, committed together (see `_group.ts`). */
  readonly #writer: GroupCommit;
  /** DDL, one connection, committed together. */
  readonly #ddlGroup: GroupCommit;
  #closed = false;
  readonly #checkpoints: Checkpointer;

  /**
   * @param engine the instance and its connections (see `_duckdb_engine.ts`)
   * @param walPath the WAL file to watch for {@link checkpointWhenQuiet} (none in memory)
   */
  constructor(engine: DuckDBEngine, walPath?: string) {
    this.#engine = engine;
    this.#checkpoints = new Checkpointer(engine, walPath, () => this.#closed);
    this.#writer = new GroupCommit((fn) => this.#engine.use(fn), this.#writes);
    this.#ddlGroup = new GroupCommit((fn) => this.#onDdlConnection(fn), new KeyedLock());
  }

  /**
   * "ok"; "reopening"/"unavailable" after a fatal engine error (until the file is reopened); "disk_full" after a
   * write found no space (until `ping()` finds room again). `reopens` counts the reopens so far.
   */
  get health(): { state: "ok" | "reopening" | "unavailable" | "disk_full"; reopens: number } {
    return { state: this.#engine.state, reopens: this.#engine.reopens };
  }

  /** Forgets which datasets and tables are known to exist (after a reopen, only what was committed is there). */
  forgetCatalog(): void {
    this.#known = new KnownCatalog();
  }

  /** @throws {Error} when the engine is unavailable (reopening) or its disk is full */
  async ping(): Promise<void> {
    await this.#engine.probeSpace();
    await this.#run("Cannot reach the DuckDB warehouse", (c) => c.run("SELECT 1"));
  }

  async datasetExists(dataset: string): Promise<boolean> {
    assertIdentifier(dataset, "dataset");
    if (this.#known.hasDataset(dataset)) return true;
    const rows = await this.query<{ n: number }>(
      "SELECT count(*) AS n FROM duckdb_schemas() WHERE database_name = current_database() AND schema_name = @s",
      { s: dataset },
    );
    const exists = (rows[0]?.n ?? 0) > 0;
    if (exists) this.#known.addDataset(dataset);
    return exists;
  }

  async ensureDataset(dataset: string): Promise<void> {
    assertIdentifier(dataset, "dataset");
    if (this.#known.hasDataset(dataset)) return;
    await this.#runDdl(`Cannot create dataset "${dataset}"`, `CREATE SCHEMA IF NOT EXISTS "${dataset}"`);
    this.#known.addDataset(dataset);
  }

  async dropDataset(dataset: string): Promise<void> {
    assertIdentifier(dataset, "dataset");
    this.#known.dropDataset(dataset);
    await this.#runDdl(`Cannot drop dataset "${dataset}"`, `DROP SCHEMA IF EXISTS "${dataset}" CASCADE`);
    this.#known.dropDataset(dataset);
  }

  async tableExists(dataset: string, table: string): Promise<boolean> {
    assertIdentifier(dataset, "dataset");
    assertIdentifier(table, "table");
    if (this.#known.hasTable(dataset, table)) return true;
    const rows = await this.query<{ n: number }>(
      `SELECT count(*) AS n FROM duckdb_tables()
       WHERE database_name = current_database() AND schema_name = @s AND table_name = @t`,
      { s: dataset, t: table },
    );
    const exists = (rows[0]?.n ?? 0) > 0;
    if (exists) this.#known.addTable(dataset, table);
    return exists;
  }

  /**
   * Creates the table, or brings an existing one up to `schema`: the NULLABLE and REPEATED columns it lacks are
   * added (`_duckdb_upgrade.ts`). One catalog read per table and schema per process.
   * @throws {AppError} `TABLE_UPGRADE_REFUSED` when a missing column is REQUIRED or a column's type differs from the schema's
   */
  async ensureTable(dataset: string, schema: TableSchema): Promise<void> {
    checkSchema(dataset, schema);
    if (this.#known.isEnsured(dataset, schema)) return;
    const where = `${dataset}.${schema.table}`;
    const existing = await this.#run(`Cannot read table "${where}"`, (c) => describeTable(c, dataset, schema.table));
    let missing: Column[] = [];
    let failure: unknown;
    if (existing) {
      try {
        missing = upgradePlan(where, schema, existing, catalogType);
      } catch (e) {
        failure = e;
      }
    }
    // A view of that name is no table to upgrade: CREATE TABLE meets it and the engine says what is wrong.
    const view = (failure !== undefined || missing.length > 0) &&
      await this.#run(`Cannot read table "${where}"`, (c) => isView(c, dataset, schema.table));
    if (!existing || view) {
      const ddl = `CREATE TABLE IF NOT EXISTS "${dataset}"."${schema.table}" (${
        schema.fields.map(columnDdl).join(", ")
      })`;
      await this.#runDdl(`Cannot create table "${where}"`, ddl);
      this.#known.markEnsured(dataset, schema, schema.fields.map((f) => f.name));
      return;
    }
    if (failure !== undefined) throw failure;
    for (const f of missing) {
      await this.#runDdl(`Cannot add column "${f.name}" to table "${where}"`, addColumnDdl(dataset, schema.table, f));
    }
    this.#known.markEnsured(dataset, schema, [...existing.map((c) => c.name), ...missing.map((f) => f.name)]);
  }

  async insertRows(dataset: string, schema: TableSchema, rows: Row[]): Promise<number> {
    const columns = normalizeColumns(dataset, schema, rows);
    if (rows.length === 0) return 0;
    const context = `Cannot insert into "${dataset}.${schema.table}"`;
    if (rows.length <= GROUP_MAX_ROWS) {
      return await this.#writer.submit({ keys: [], context, run: (c) => this.#append(c, dataset, schema, columns) });
    }
    return await this.#engine.use((c) => inTransaction(c, context, () => this.#append(c, dataset, schema, columns)));
  }

  async replacePartitions(
    dataset: string,
    schema: TableSchema,
    range: DayRange,
    rows: readonly Row[] | RowStream,
  ): Promise<number> {
    const stream = isRowStream(rows) ? rows : undefined;
    // With a stream, check the table and range before consuming anything (no rows yet).
    const { cells, column } = normalizeForReplace(
      dataset,
      schema,
      range,
      stream ? [] : rows as readonly Row[],
      0,
      "columns",
    );
    const field = schema.fields[column]!;
    // The range is two checked "YYYY-MM-DD" days (normalizeForReplace), so it is written into the SQL as literals:
    // one native call to parse, plan and run, and nothing for the statement cache, which these per-table statements
    // would only churn.
    const where = field.type === "DATE"
      ? `"${field.name}" BETWEEN DATE '${range.from}' AND DATE '${range.to}'`
      : `"${field.name}" >= TIMESTAMPTZ '${range.from} 00:00:00+00' AND "${field.name}" < TIMESTAMPTZ '${
        nextDay(range.to)
      } 00:00:00+00'`;
    const sql = `DELETE FROM "${dataset}"."${schema.table}" WHERE ${where}`;
    const key = `${dataset}.${schema.table}`;
    const context = `Cannot replace partitions of "${key}"`;
    const clear = (c: DuckDBConnection) => c.run(sql);
    if (!stream) {
      const job = async (c: DuckDBConnection) => {
        await clear(c);
        return await this.#append(c, dataset, schema, cells);
      };
      if ((cells[0]?.length ?? 0) <= GROUP_MAX_ROWS) {
        return await this.#writer.submit({ keys: [key], context, run: job });
      }
      return await this.#writes.run(key, () => this.#engine.use((c) => inTransaction(c, context, () => job(c))));
    }
    return await this.#writes.run(key, () =>
      this.#dedicated(async (c) => {
        // The producer's own failure (e.g. a provider error or a failed check) is rethrown as it is.
        const producer = { failed: false };
        try {
          return await inTransaction(c, context, async () => {
            await clear(c);
            const appender = await TableAppender.open(c, dataset, schema, await this.#layout(c, dataset, schema.table));
            try {
              let written = 0;
              for await (const batch of watch(stream, producer)) {
                appender.append(normalizeForReplace(dataset, schema, range, batch, written, "columns").cells);
                written += batch.length;
              }
              appender.flush();
              return written;
            } finally {
              appender.close();
            }
          }, false);
        } catch (e) {
          throw producer.failed ? e : wrap(context, e);
        }
      }));
  }

  /** DELETE and `INSERT ... SELECT` in one transaction (see {@link Warehouse.replacePartitionsWith}). */
  replacePartitionsWith(dataset: string, schema: TableSchema, range: DayRange, q: LoadQuery, v?: LoadVerify) {
    const key = `${dataset}.${schema.table}`;
    return this.#writes.run(key, () => this.transaction((tx) => loadInto(tx, dataset, schema, range, q, v)));
  }

  query<T = Row>(sql: string, params?: QueryParams): Promise<T[]> {
    return this.#engine.use((c) => runQuery<T>(c, sql, params));
  }

  /** A streaming result on a connection of its own (see {@link Warehouse.queryPages}). */
  queryPages<T = Row>(sql: string, params?: QueryParams, pageSize = 10_000): AsyncIterable<T[]> {
    return heldPages<DuckDBConnection, T[]>(
      (fn) => this.#dedicated(fn),
      (c) => streamQuery<T>(c, sql, params, pageSize),
    );
  }

  execute(sql: string, params?: QueryParams): Promise<number> {
    this.#known.seeSql(sql);
    return this.#engine.use((c) => runExecute(c, sql, params));
  }

  async transaction<T>(fn: (tx: WarehouseTx) => Promise<T>): Promise<T> {
    return await this.#engine.use(async (c) => {
      // Calls made concurrently inside fn share one connection: run them one at a time.
      const serial = new KeyedLock();
      const tx: WarehouseTx = {
        query: <R = Row>(sql: string, params?: QueryParams) => serial.run("tx", () => runQuery<R>(c, sql, params)),
        execute: (sql, params) => {
          this.#known.seeSql(sql);
          return serial.run("tx", () => runExecute(c, sql, params));
        },
        insertRows: (dataset, schema, rows) => {
          const columns = normalizeColumns(dataset, schema, rows);
          return serial.run("tx", () => this.#append(c, dataset, schema, columns));
        },
      };
      return await inTransaction(c, "Transaction failed", () => fn(tx), false);
    });
  }

  /** See `Checkpointer.whenQuiet` (`_duckdb_checkpoint.ts`). */
  checkpointWhenQuiet(): Promise<boolean> {
    return this.#checkpoints.whenQuiet();
  }

  /** Makes the database file and its WAL 0600 when they are laxer (see `_duckdb_checkpoint.ts`). */
  tightenFileModes(): Promise<void> {
    return this.#checkpoints.tightenFileModes();
  }

  /** Writes the WAL into the database file now; false when DuckDB refuses (a transaction is running). */
  checkpoint(): Promise<boolean> {
    return this.#checkpoints.checkpoint();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#checkpoints.stop();
    // DDL still running finishes before its connection goes (closing mid-statement crashes the process).
    await this.#ddlGroup.idle();
    // Streamed writes end (their runs are aborted at shutdown) before their connections go, within a grace time.
    await this.#engine.close();
  }

  /** Appends canonical cells (by column) in the table's column order (see `TableAppender`). */
  async #append(c: DuckDBConnection, dataset: string, schema: TableSchema, columns: Cell[][]): Promise<number> {
    if ((columns[0]?.length ?? 0) === 0) return 0;
    return await append(c, dataset, schema, columns, await this.#layout(c, dataset, schema.table));
  }

  /**
   * The table's column names in table order: known from `ensureTable`, else read once on `c` and kept (a table
   * upgraded by an earlier process has its added columns last). Undefined when the table does not exist.
   */
  async #layout(c: DuckDBConnection, dataset: string, table: string): Promise<readonly string[] | undefined> {
    const known = this.#known.layout(dataset, table);
    if (known) return known;
    const columns = await describeTable(c, dataset, table);
    if (!columns) return undefined;
    const layout = columns.map((x) => x.name);
    this.#known.setLayout(dataset, table, layout);
    return layout;
  }

  /** Runs one DDL statement on the DDL connection, group-committed with other DDL waiting to run. */
  async #runDdl(context: string, sql: string): Promise<void> {
    if (this.#closed) throw new Error("Cannot use the warehouse: it is closed");
    await this.#ddlGroup.submit({ keys: [], context, run: (c) => c.run(sql).then(() => undefined) });
  }

  /** Runs fn on the DDL connection (only the DDL group uses it, one batch at a time). */
  #onDdlConnection<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error("Cannot use the warehouse: it is closed"));
    return this.#engine.onDdl(fn);
  }

  /** Runs fn on a connection of its own, outside the pool (at most {@link IDLE_STREAM_CONNECTIONS} kept idle). */
  #dedicated<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error("Cannot use the warehouse: it is closed"));
    return this.#engine.dedicated(fn);
  }

  async #run<T>(context: string, fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    try {
      return await this.#engine.use(fn);
    } catch (e) {
      throw wrap(context, e);
    }
  }
}
