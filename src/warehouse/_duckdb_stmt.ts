/**
 * Parameterised statements of the DuckDB adapter, prepared once per connection and reused.
 *
 * `connection.run(sql, values)` makes three native calls, each a trip to a worker thread and back: split the SQL
 * into statements, prepare, execute (and reading the result makes two more). The warehouse runs the same few
 * statements over and over (run bookkeeping, quota and pricing reads), so each connection keeps its prepared
 * statements (least recently used dropped beyond {@link CACHE_SIZE}): a cached statement costs one native call to
 * execute, and its materialised result is read synchronously, chunk by chunk. (DuckDB 1.5 still binds and plans a
 * statement with parameters again at each execution; what the cache saves is the parse and the native calls.)
 */
import type {
  DuckDBConnection,
  DuckDBMaterializedResult,
  DuckDBPreparedStatement,
  DuckDBType,
  DuckDBValue,
} from "@duckdb/node-api";
import { scanParams, usedParams } from "./_sql.ts";
import { paramValues, resultConverter } from "./_duckdb_values.ts";
import { wrap } from "./_duckdb_conn.ts";
import type { QueryParams, Row } from "./warehouse.ts";

/** Prepared statements kept per connection. */
const CACHE_SIZE = 64;
/** Statements longer than this (e.g. a VALUES list of a batched write) are prepared each time, not kept. */
const CACHE_MAX_SQL = 4096;

const caches = new WeakMap<DuckDBConnection, Map<string, DuckDBPreparedStatement>>();

/** Parameter values (positional or named) and their types, as `connection.run` takes them. */
export type Bindings = DuckDBValue[] | Record<string, DuckDBValue>;
export type BindingTypes = DuckDBType[] | Record<string, DuckDBType | undefined>;

/**
 * Runs one statement with parameters on `c` through its prepared-statement cache; without parameters, one native
 * query call. The caller serialises calls on one connection (the pool does).
 */
export async function runStatement(
  c: DuckDBConnection,
  sql: string,
  values?: Bindings,
  types?: BindingTypes,
): Promise<DuckDBMaterializedResult> {
  if (values === undefined || sql.length > CACHE_MAX_SQL) return await c.run(sql, values, types);
  let cache = caches.get(c);
  if (!cache) caches.set(c, cache = new Map());
  let prepared = cache.get(sql);
  if (prepared) {
    cache.delete(sql); // re-inserted below: most recently used last
  } else {
    try {
      prepared = await c.prepare(sql);
    } catch {
      // e.g. several statements in one string: the general path splits them (and reports any real error).
      return await c.run(sql, values, types);
    }
  }
  try {
    prepared.clearBindings();
    prepared.bind(values, types);
    const result = await prepared.run();
    cache.set(sql, prepared);
    if (cache.size > CACHE_SIZE) {
      const [oldest, statement] = cache.entries().next().value!;
      cache.delete(oldest);
      statement.destroySync();
    }
    return result;
  } catch (e) {
    prepared.destroySync(); // a failed statement is prepared afresh next time (e.g. after its table changed)
    throw e;
  }
}

/** The rows of a materialised result as arrays of DuckDB values, read without a trip to a worker thread. */
export function resultRows(result: DuckDBMaterializedResult): DuckDBValue[][] {
  const rows: DuckDBValue[][] = [];
  const chunks = result.chunkCount;
  for (let i = 0; i < chunks; i++) {
    for (const row of result.getChunk(i).getRows()) rows.push(row);
  }
  return rows;
}

/** The statement and parameter bindings for `sql` with `@name` parameters. */
function bindings(sql: string, params: QueryParams | undefined) {
  const scanned = scanParams(sql, (name) => `$${name}`);
  const { values, types } = paramValues(usedParams(scanned.names, params));
  return { sql: scanned.sql, values: scanned.names.length ? values : undefined, types };
}

/** Runs a query with `@name` parameters and converts its rows. */
export async function runQuery<T>(c: DuckDBConnection, sql: string, params: QueryParams | undefined): Promise<T[]> {
  const b = bindings(sql, params);
  try {
    const result = await runStatement(c, b.sql, b.values, b.types);
    // Convert with the result's column types: chunk vectors drop the JSON alias.
    return resultRows(result).map(converter<T>(result.deduplicatedColumnNames(), result.columnTypes()));
  } catch (e) {
    throw wrap("DuckDB query failed", e);
  }
}

/** Converts a result row by the result's deduplicated names and column types. */
function converter<T>(names: readonly string[], types: readonly DuckDBType[]): (values: DuckDBValue[]) => T {
  return (values) => {
    const row: Row = {};
    values.forEach((v, i) => (row[names[i]!] = resultConverter(v, types[i]!, resultConverter)));
    return row as T;
  };
}

/**
 * A query's converted rows in pages of at most `pageSize`, read from DuckDB's streaming result one data chunk at a
 * time, so only a page (and DuckDB's own operator state) is ever held. The caller holds `c` until the generator ends.
 */
export async function* streamQuery<T>(
  c: DuckDBConnection,
  sql: string,
  params: QueryParams | undefined,
  pageSize: number,
): AsyncGenerator<T[]> {
  const b = bindings(sql, params);
  let page: T[] = [];
  try {
    const result = await c.stream(b.sql, b.values, b.types);
    const convert = converter<T>(result.deduplicatedColumnNames(), result.columnTypes());
    for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
      for (const values of chunk.getRows()) {
        page.push(convert(values));
        if (page.length < pageSize) continue;
        yield page;
        page = [];
      }
    }
  } catch (e) {
    throw wrap("DuckDB query failed", e);
  }
  if (page.length > 0) yield page;
}

/**
 * The pages of `pages(c)` on a connection `hold` lends for as long as the consumer reads. A consumer that stops
 * early ends the hold with an error, so the lender closes the connection (its result was not read to the end).
 */
export async function* heldPages<C, T>(
  hold: (fn: (c: C) => Promise<void>) => Promise<void>,
  pages: (c: C) => AsyncIterable<T>,
): AsyncGenerator<T> {
  let lent!: (c: C) => void;
  let finish!: (complete: boolean) => void;
  const connection = new Promise<C>((resolve) => lent = resolve);
  const finished = new Promise<boolean>((resolve) => finish = resolve);
  const early = new Error("Result pages not read to the end");
  const held = hold(async (c) => {
    lent(c);
    if (!await finished) throw early;
  });
  const c = await Promise.race([connection, held.then(() => Promise.reject(new Error("Connection not lent")))]);
  let complete = false;
  try {
    yield* pages(c);
    complete = true;
  } finally {
    finish(complete);
    await held.catch((e) => {
      if (e !== early && !(e instanceof Error && e.cause === early)) throw e;
    });
  }
}

/** Runs a statement with `@name` parameters; resolves the rows it changed. */
export async function runExecute(c: DuckDBConnection, sql: string, params: QueryParams | undefined): Promise<number> {
  const b = bindings(sql, params);
  try {
    const result = await runStatement(c, b.sql, b.values, b.types);
    return result.rowsChanged;
  } catch (e) {
    throw wrap("DuckDB statement failed", e);
  }
}
