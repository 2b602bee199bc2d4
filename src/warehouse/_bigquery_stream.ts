/**
 * Streamed partition replaces of the BigQuery adapter, in bounded memory whatever the stream's length (a month of
 * a large GCP billing export is tens of millions of rows).
 *
 * The batches are checked as they arrive (columns, types, each row's day inside the range) and appended, as NDJSON
 * chunks of about `chunkBytes` at most, to a staging table of their own (the same columns, no partitioning,
 * expiring after a day should the process die before it drops it) by load jobs (WRITE_APPEND; never streaming
 * inserts, never per-row DML). Once the stream has ended, one multi-statement transaction replaces the range's days
 * with the staged rows (`replacePartitionsWith`: DELETE of the range, `INSERT ... SELECT` from the staging table),
 * so the range is replaced atomically: a stream that fails, a bad row or a failed load part-way leaves every old
 * day as it was. The staging table is dropped at the end either way. At most one chunk of NDJSON text and one batch
 * are held at a time.
 *
 * A stream of no rows clears the range with one DML DELETE (atomic on its own) and creates no staging table.
 */
import { Buffer } from "node:buffer";
import type { TableSchema } from "../schema/table_schema.ts";
import { toNdjson } from "./_bigquery_values.ts";
import { normalizeForReplace } from "./_partitions.ts";
import { type DayRange, type LoadQuery, qualified, type RowStream } from "./warehouse.ts";

/** Bytes of NDJSON per load job of a streamed replace, about (a chunk is closed before the batch that overflows it). */
export const LOAD_CHUNK_BYTES = 16 * 1024 * 1024;
/** How long a staging table outlives a process that died before dropping it. */
const STAGE_TTL_MS = 24 * 60 * 60 * 1000;

/** What a streamed replace needs of the adapter. */
export interface StreamTarget {
  /** Creates `schema.table` in `dataset` (the staging table), expiring at `expiresAt` (ms since the epoch). */
  createTable(dataset: string, schema: TableSchema, expiresAt: number): Promise<void>;
  /** Drops `dataset.table`; a missing table is not an error. */
  dropTable(dataset: string, table: string): Promise<void>;
  /** One load job of NDJSON text appended to `dataset.table`. */
  append(dataset: string, table: string, ndjson: string): Promise<void>;
  /** Deletes the rows of `days` from `dataset.schema.table` in one DML statement. */
  clearDays(dataset: string, schema: TableSchema, days: readonly string[]): Promise<void>;
  /** Replaces the days of `range` by the rows of `q` in one transaction (see `Warehouse.replacePartitionsWith`). */
  replaceWith(dataset: string, schema: TableSchema, range: DayRange, q: LoadQuery): Promise<number>;
}

/** A staging table name for `table`: unique per call, a valid identifier. */
function stageName(table: string): string {
  return `${table}__stage_${crypto.randomUUID().replaceAll("-", "")}`;
}

/**
 * Replaces the days of `range` in `dataset.schema.table` by the rows of `stream` (see the module doc); resolves
 * with the rows written.
 * @throws {Error} the stream's error, a row that fails its checks or lies outside the range, or a failed job; the
 *   table then keeps its old rows
 */
export async function replaceFromStream(
  target: StreamTarget,
  dataset: string,
  schema: TableSchema,
  range: DayRange,
  stream: RowStream,
  chunkBytes = LOAD_CHUNK_BYTES,
): Promise<number> {
  const { days } = normalizeForReplace(dataset, schema, range, []);
  const stage = stageName(schema.table);
  let created = false;
  let written = 0;
  let chunk: string[] = [];
  let bytes = 0;
  const flush = async () => {
    if (!created) {
      const { partitioning: _p, clustering: _c, ...columns } = schema;
      await target.createTable(dataset, { ...columns, table: stage }, Date.now() + STAGE_TTL_MS);
      created = true;
    }
    const body = chunk.join("");
    chunk = [];
    bytes = 0;
    await target.append(dataset, stage, body);
  };
  try {
    for await (const batch of stream) {
      const { cells } = normalizeForReplace(dataset, schema, range, batch, written);
      if (cells.length === 0) continue;
      written += cells.length;
      const text = toNdjson(schema.fields, cells);
      const size = Buffer.byteLength(text);
      if (bytes > 0 && bytes + size > chunkBytes) await flush();
      chunk.push(text);
      bytes += size;
    }
    if (written === 0) {
      await target.clearDays(dataset, schema, days);
      return 0;
    }
    if (bytes > 0) await flush();
    const columns = schema.fields.map((f) => f.name).join(", ");
    return await target.replaceWith(dataset, schema, range, {
      sql: `SELECT ${columns} FROM ${qualified(dataset, stage)}`,
    });
  } finally {
    chunk = [];
    if (created) await target.dropTable(dataset, stage).catch(() => {});
  }
}
