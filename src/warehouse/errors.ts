/**
 * The typed failures of the warehouse adapters. Each adapter classifies its own engine's failures at its boundary
 * (DuckDB in `_duckdb_conn.ts`, BigQuery in `bigquery.ts`) and throws an `AppError` with the engine error as its
 * cause; callers test the code, never an engine message:
 * - `WRITE_CONFLICT`: a lost race between two transactions writing the same rows or table; the loser was rolled
 *   back, so the caller may retry it.
 * - `WAREHOUSE_UNAVAILABLE`: the warehouse cannot serve now (reopening after a fatal engine error, or its disk is
 *   full); retry later.
 */
import { AppError } from "../errors/mod.ts";

/** What the caller of a request that lost a write race reads (the engine's text stays in the cause). */
export const WRITE_CONFLICT_MESSAGE = "Another request changed the same data at the same time; retry the request";

/** A lost write race; `cause` is the engine's error with the adapter's context. */
export function writeConflict(cause: unknown): AppError {
  return new AppError("WRITE_CONFLICT", WRITE_CONFLICT_MESSAGE, { cause, retryAfterS: 1 });
}

/** The warehouse cannot serve now; `message` says why, for the operator's log. */
export function warehouseUnavailable(message: string, cause?: unknown): AppError {
  return new AppError("WAREHOUSE_UNAVAILABLE", message, cause === undefined ? {} : { cause });
}
