/**
 * Connection-level helpers of the DuckDB adapter: error classification, transactions and table appenders. The
 * adapter's boundary: DuckDB's messages are read here (and in `_duckdb_engine.ts`) only, and a lost write race or
 * an unusable engine leaves as a typed `AppError` (`errors.ts`).
 */
import { type DuckDBAppender, type DuckDBConnection, DuckDBDataChunk, type DuckDBType } from "@duckdb/node-api";
import type { TableSchema } from "../schema/table_schema.ts";
import type { Cell } from "./_rows.ts";
import { fillChunk } from "./_duckdb_values.ts";
import { AppError } from "../errors/mod.ts";
import { warehouseUnavailable, writeConflict } from "./errors.ts";

const CHUNK_ROWS = 2048;

/** DuckDB's words for a lost race between two transactions ("TransactionContext Error: Conflict on update!"). */
const CONFLICT = /TransactionContext Error: .*[Cc]onflict|write-write conflict/;
/** DuckDB's words for an engine that cannot serve: a full disk, or a database a fatal error invalidated. */
const UNAVAILABLE = /No space left on device|disk is full|database has been invalidated/i;

function chainHas(e: unknown, test: (x: Error) => boolean): boolean {
  for (let x = e, i = 0; x instanceof Error && i < 5; x = x.cause, i++) if (test(x)) return true;
  return false;
}

const hasCode = (code: string) => (x: Error) => x instanceof AppError && x.code === code;

/**
 * `context: message` with the original error as the cause, classified: a write conflict is `WRITE_CONFLICT`, a
 * full disk or an invalidated database `WAREHOUSE_UNAVAILABLE` (`errors.ts`), anything else a plain Error.
 */
export function wrap(context: string, e: unknown): Error {
  const plain = new Error(`${context}: ${(e as Error).message ?? String(e)}`, { cause: e });
  return classify(e, plain);
}

/** `e` as the typed error it stands for (with `context` as the cause's text), or `fallback` when it is none. */
export function classify(e: unknown, fallback: Error = e as Error): Error {
  if (chainHas(e, (x) => CONFLICT.test(x.message) || hasCode("WRITE_CONFLICT")(x))) return writeConflict(fallback);
  if (chainHas(e, (x) => UNAVAILABLE.test(x.message) || hasCode("WAREHOUSE_UNAVAILABLE")(x))) {
    return warehouseUnavailable(fallback.message, fallback);
  }
  return fallback;
}

/** Runs fn between BEGIN and COMMIT, rolling back when it throws. */
export async function inTransaction<T>(
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
    throw wrapErrors ? wrap(context, e) : e instanceof AppError ? e : classify(e);
  }
  return result;
}

/** Passes a stream through, noting in `flag.failed` when the stream itself (not its consumer) threw. */
export async function* watch<T>(source: AsyncIterable<T>, flag: { failed: boolean }): AsyncGenerator<T> {
  try {
    yield* source;
  } catch (e) {
    flag.failed = true;
    throw e;
  }
}

/**
 * An appender for one table fed with canonical rows in data chunks; the caller owns the transaction. The appender
 * fills the table's columns by position: `layout` (the table's column names in table order) maps them to the
 * schema's fields, which differ in order once `ensureTable` added a column (added columns go last).
 */
export class TableAppender {
  private constructor(
    private readonly appender: DuckDBAppender,
    private readonly fields: TableSchema["fields"],
    private readonly types: DuckDBType[],
    /** Schema field index of each table column; undefined when they are in schema order. */
    private readonly order: readonly number[] | undefined,
  ) {}

  /** @throws {Error} when the table's columns do not match the schema */
  static async open(
    c: DuckDBConnection,
    dataset: string,
    schema: TableSchema,
    layout?: readonly string[],
  ): Promise<TableAppender> {
    const appender = await c.createAppender(schema.table, dataset);
    const order = layout?.map((name) => schema.fields.findIndex((f) => f.name === name));
    if (appender.columnCount !== schema.fields.length || (order && order.some((i) => i < 0))) {
      appender.closeSync();
      const extra = layout?.filter((_, i) => order![i]! < 0) ?? [];
      throw new Error(
        `table has ${appender.columnCount} columns but its schema has ${schema.fields.length}` +
          (extra.length ? ` (not in the schema: ${extra.map((n) => `"${n}"`).join(", ")})` : "") +
          "; it was created from another schema",
      );
    }
    const identity = !order || order.every((f, i) => f === i);
    const fields = identity ? schema.fields : order.map((i) => schema.fields[i]!);
    return new TableAppender(
      appender,
      fields,
      fields.map((_, i) => appender.columnType(i)),
      identity ? undefined : order,
    );
  }

  /** One chunk reused for every append: a chunk's native memory is only freed when its JS wrapper is collected. */
  #chunk: DuckDBDataChunk | undefined;

  /** Appends canonical cells laid out by column (`normalizeColumns`). */
  append(cells: readonly Cell[][]): void {
    const order = this.order;
    const columns = order ? order.map((i) => cells[i]!) : cells;
    const rows = columns[0]?.length ?? 0;
    for (let start = 0; start < rows; start += CHUNK_ROWS) {
      const count = Math.min(CHUNK_ROWS, rows - start);
      let chunk = this.#chunk;
      if (chunk === undefined) chunk = this.#chunk = DuckDBDataChunk.create(this.types, count);
      else {
        chunk.reset();
        chunk.rowCount = count;
      }
      fillChunk(chunk, this.fields, columns, start, count);
      this.appender.appendDataChunk(chunk);
    }
  }

  flush(): void {
    this.appender.flushSync();
  }

  close(): void {
    try {
      this.appender.closeSync();
    } catch { /* a flush error is the one to report */ }
  }
}

/**
 * Appends canonical cells (by column) through the appender; the caller owns the transaction. Even for one row this
 * beats an `INSERT ... VALUES ($1, ...)` statement, which binds an expression per value and which DuckDB plans again
 * at every execution; the appender's flush is one small fixed query whatever the row count. The flush runs on the JS
 * thread, about 0.3 ms for the few rows of a bookkeeping write.
 */
export async function append(
  c: DuckDBConnection,
  dataset: string,
  schema: TableSchema,
  columns: Cell[][],
  layout?: readonly string[],
): Promise<number> {
  const rows = columns[0]?.length ?? 0;
  if (rows === 0) return 0;
  const appender = await TableAppender.open(c, dataset, schema, layout);
  try {
    appender.append(columns);
    appender.flush();
  } finally {
    appender.close();
  }
  return rows;
}
