/**
 * The warehouse interface: one behaviour over two backends (DuckDB embedded,
 * BigQuery in production). Processors and the runtime only see `Warehouse`;
 * `duckdb.ts` and `bigquery.ts` implement it and pass the same contract suite
 * (`tests/warehouse/contract.ts`).
 *
 * SQL dialect: callers write the subset both engines accept. Tables are
 * referenced as `dataset.table` (build it with {@link qualified}), query
 * parameters as `@name`, and tenant values always travel as parameters.
 * Casts that behave the same on both: `CAST(@d AS DATE)`,
 * `CAST(@ts AS TIMESTAMP)`, `CAST(@amount AS NUMERIC(38, 9))` (a bare
 * `NUMERIC` is DECIMAL(18,3) in DuckDB); list membership as
 * `x IN (SELECT * FROM UNNEST(@list))` (DuckDB has no `IN UNNEST(...)`).
 * Parameters are typed by their JS value (string STRING, integer INT64,
 * other number FLOAT64, Date TIMESTAMP, string[] ARRAY<STRING>, null a NULL
 * STRING), so compare DATE columns with `CAST(@day AS DATE)`.
 */
import type { TableSchema } from "../schema/table_schema.ts";

/**
 * A row: column name to value. Values written and read:
 * STRING `string`; INT64 `number` (read back as a string when beyond
 * Number.MAX_SAFE_INTEGER; `bigint` and digit strings accepted on write);
 * FLOAT64 `number`; NUMERIC decimal `string` (read back with 9 decimals,
 * e.g. `"1.500000000"`; numbers and bigints accepted on write); BOOLEAN
 * `boolean`; DATE `"YYYY-MM-DD"`; TIMESTAMP ISO string or `Date` (read back
 * as an ISO string in UTC, e.g. `"2024-05-01T10:00:00.000Z"`); JSON any JSON
 * value (read back parsed); BYTES `Uint8Array` or base64 string (read back as
 * base64); REPEATED columns an array of the column type (null reads as `[]`).
 */
export type Row = Record<string, unknown>;

/** Named query parameters, referenced as `@name` in SQL. */
export type QueryParams = Record<
  string,
  string | number | boolean | null | Date | string[]
>;

/** An inclusive range of UTC days, both ends `"YYYY-MM-DD"`. */
export interface DayRange {
  readonly from: string;
  readonly to: string;
}

/**
 * Rows arriving in batches (e.g. one batch per provider page), consumed once and in order. A stream that throws
 * part-way fails the write that consumes it.
 */
export type RowStream = AsyncIterable<readonly Row[]>;

/** Whether `rows` is a {@link RowStream} rather than an array. */
export function isRowStream(rows: readonly Row[] | RowStream): rows is RowStream {
  return !Array.isArray(rows) && typeof (rows as RowStream)[Symbol.asyncIterator] === "function";
}

/** A SELECT run by the warehouse itself, with its `@name` parameters (see {@link Warehouse.replacePartitionsWith}). */
export interface LoadQuery {
  readonly sql: string;
  readonly params?: QueryParams;
}

/**
 * A count over the rows a load wrote: all of them, those with a NULL (or a negative value: numeric columns only)
 * in any of `columns`, or the rows beyond the first of each distinct `columns` tuple (NULLs alike).
 */
export type RowCount =
  | { readonly kind: "rows" }
  | {
    readonly kind: "any_null" | "any_negative" | "duplicates";
    readonly columns: readonly string[];
    /** any_null, any_negative: also name the distinct values of these columns among the rows counted. */
    readonly reportBy?: readonly string[];
  };

/** Distinct `reportBy` values a load reads per count, at most (one more than a message names, to show "..."). */
export const REPORTED_LIMIT = 11;

/** The counts a load computes over its rows before committing, and the caller's verdict on them. */
export interface LoadVerify {
  readonly counts: readonly RowCount[];
  /**
   * Gets the counts in order, and for each count with `reportBy` the distinct values found (each a `/`-joined list of
   * JSON values, at most {@link REPORTED_LIMIT}); throwing rolls the load back (nothing written).
   */
  accept(counts: number[], reported: string[][]): void | Promise<void>;
}

/** The part of a warehouse usable inside {@link Warehouse.transaction}. */
export type WarehouseTx = Pick<Warehouse, "query" | "execute" | "insertRows">;

/** A warehouse holding one dataset per tenant (plus the central ones). */
export interface Warehouse {
  /** Which backend this is. */
  readonly kind: "duckdb" | "bigquery";

  /**
   * Checks that the warehouse answers.
   * @throws {Error} when it is unreachable or the credentials are refused
   */
  ping(): Promise<void>;

  /** Whether a dataset (a DuckDB schema, a BigQuery dataset) exists. */
  datasetExists(dataset: string): Promise<boolean>;

  /** Creates the dataset when missing; a no-op otherwise. */
  ensureDataset(dataset: string): Promise<void>;

  /** Drops the dataset with all its tables; a no-op when it is missing. */
  dropDataset(dataset: string): Promise<void>;

  /** Whether `dataset.table` exists. */
  tableExists(dataset: string, table: string): Promise<boolean>;

  /**
   * Creates the table from its schema when missing (a no-op otherwise).
   * BigQuery applies timePartitioning and clustering; DuckDB has neither
   * and relies on its zone maps.
   */
  ensureTable(dataset: string, schema: TableSchema): Promise<void>;

  /**
   * Appends rows in one atomic write and returns how many were written.
   * @throws {Error} naming the table, row and column when a row has an
   *   unknown column, misses a REQUIRED one or holds a value of the wrong type
   *   (nothing is written then)
   */
  insertRows(dataset: string, schema: TableSchema, rows: Row[]): Promise<number>;

  /**
   * Replaces every row whose partition day (the UTC day of
   * `schema.partitioning.field`) lies in `range` by `rows`, so re-running a
   * load for the same days never duplicates. Empty `rows` clears the days.
   * Every row must fall inside the range, else it throws before writing.
   * MONTH-partitioned tables take whole months only.
   *
   * `rows` may be a {@link RowStream}: batches are then validated and written
   * as they arrive, so a load never needs all its rows in memory, with the
   * same all-or-nothing outcome: a bad row or a stream that throws part-way
   * leaves every partition as it was.
   *
   * DuckDB: one transaction, all or nothing; a stream is appended batch by
   * batch inside it (DELETE of the range first, COMMIT after the last batch)
   * on a connection of its own, so the stream's producer may use the
   * warehouse meanwhile. BigQuery: one WRITE_TRUNCATE load job per partition,
   * each atomic; a failure part-way leaves earlier days replaced and later
   * days as they were, never a half-written day. A stream is buffered per
   * partition (as NDJSON text) and loaded once it has ended.
   * @returns the number of rows written
   */
  replacePartitions(
    dataset: string,
    schema: TableSchema,
    range: DayRange,
    rows: readonly Row[] | RowStream,
  ): Promise<number>;

  /**
   * Replaces every row whose partition day lies in `range` by the rows of `select`, a SELECT the warehouse runs
   * itself (`INSERT ... SELECT`: the rows never pass through JavaScript) yielding every column of the table by
   * name. Before committing, the counts of `verify` are computed over the new rows and handed to `verify.accept`.
   * One transaction on both engines: a row outside the range, a failing SELECT (e.g. NULL in a REQUIRED column)
   * or an `accept` that throws leaves every partition as it was.
   * @returns the number of rows written
   */
  replacePartitionsWith(
    dataset: string,
    schema: TableSchema,
    range: DayRange,
    select: LoadQuery,
    verify?: LoadVerify,
  ): Promise<number>;

  /**
   * Runs a query and returns its rows as plain JSON-friendly values.
   * @param sql uses `dataset.table` references and `@name` parameters
   * @throws {Error} when a referenced parameter is missing or the query fails
   */
  query<T = Row>(sql: string, params?: QueryParams): Promise<T[]>;

  /**
   * Runs a query and yields its rows in pages of at most `pageSize` (default 10,000), converted as by
   * {@link query}, so a large result is never held whole: breaking out early stops reading it. DuckDB: a streaming
   * result read chunk by chunk on a connection of its own (a query that sorts still sorts all its input inside
   * DuckDB first). BigQuery: the query job's result pages (`maxResults`, `pageToken`).
   * @throws {Error} when a referenced parameter is missing or the query fails (when the first page is asked for)
   */
  queryPages<T = Row>(sql: string, params?: QueryParams, pageSize?: number): AsyncIterable<T[]>;

  /** Runs DML (INSERT, UPDATE, DELETE) and returns the affected row count. */
  execute(sql: string, params?: QueryParams): Promise<number>;

  /**
   * Runs `fn` with a handle whose calls form one unit.
   * DuckDB: a real BEGIN/COMMIT on a dedicated connection, rolled back when
   * `fn` throws. BigQuery: a multi-statement transaction in a session, atomic
   * too, with snapshot isolation. On both, a transaction that writes what a
   * concurrent one writes (BigQuery: UPDATE/DELETE/MERGE on the same table)
   * may fail with a write conflict (an AppError `WRITE_CONFLICT`, `errors.ts`): nothing of it is kept
   * and the caller may retry. INSERTs never conflict on BigQuery, so a
   * read-then-insert dedupe must also UPDATE the rows it depends on.
   * Inside `fn` use `tx`, not the warehouse itself: on DuckDB the
   * transaction holds one pooled connection for its whole duration.
   */
  transaction<T>(fn: (tx: WarehouseTx) => Promise<T>): Promise<T>;

  /** Releases connections; the warehouse is unusable afterwards. */
  close(): Promise<void>;
}

const IDENTIFIER = /^[a-z][a-z0-9_]{0,127}$/;

/**
 * Throws unless `name` is a safe identifier (lowercase letter, then
 * lowercase letters, digits or `_`; at most 128 characters), so identifiers
 * put into SQL can never carry SQL.
 * @throws {Error} naming what the identifier was for
 */
export function assertIdentifier(name: unknown, what: string): asserts name is string {
  if (typeof name !== "string" || !IDENTIFIER.test(name)) {
    const shown = typeof name === "string" ? JSON.stringify(name.slice(0, 80)) : typeof name;
    throw new Error(
      `Invalid ${what} name ${shown}: use lowercase letters, digits and "_", starting with a letter`,
    );
  }
}

/**
 * Returns `dataset.table` for use in SQL after validating both identifiers.
 * @throws {Error} when either name is not a safe identifier
 * @example
 * ```ts
 * await wh.query(`SELECT * FROM ${qualified("organizations", "org_profiles")} WHERE org_slug = @org_slug`, { org_slug });
 * ```
 */
export function qualified(dataset: string, table: string): string {
  assertIdentifier(dataset, "dataset");
  assertIdentifier(table, "table");
  return `${dataset}.${table}`;
}
