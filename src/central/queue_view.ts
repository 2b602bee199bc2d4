/**
 * Reading the execution queue for people: an org's items, newest first, with the days each covers, its state
 * (DEFERRED for an item waiting for a plan-limit reset), attempts, last error and run.
 */
import { CENTRAL_DATASET } from "./tables.ts";
import type { Warehouse } from "../warehouse/warehouse.ts";
import { isoDay } from "../time/day.ts";
import { paramsSpan } from "../scheduler/calendar.ts";
import { STATE_SQL } from "./_queue_rows.ts";

const Q = `${CENTRAL_DATASET}.org_pipeline_execution_queue`;

/** The most items one listing returns. */
export const MAX_LIST_ITEMS = 500;

export interface QueueItemView {
  readonly queue_id: string;
  readonly pipeline: string;
  readonly logical_date: string;
  /** The days the item's run covers (for a monthly pipeline: its month). */
  readonly start_date: string | null;
  readonly end_date: string | null;
  /** QUEUED, CLAIMED, DEFERRED, DONE or FAILED. */
  readonly status: string;
  readonly attempts: number;
  readonly last_error: string | null;
  readonly run_id: string | null;
  readonly not_before: string | null;
  readonly created_at: string | null;
  readonly updated_at: string | null;
}

const iso = (v: unknown): string | null => {
  if (v === null || v === undefined) return null;
  const d = v instanceof Date ? v : new Date(String(v).replace(" ", "T").replace(/(\+00(:?00)?)?$/, "Z"));
  return Number.isNaN(d.getTime()) ? String(v) : d.toISOString();
};

/** An org's queue items (optionally of one pipeline and one state), newest first, at most `limit`. */
export async function listQueueItems(
  wh: Warehouse,
  filter: { org: string; path?: string; status?: string; limit: number },
  now: Date,
): Promise<QueueItemView[]> {
  const limit = Math.max(1, Math.min(MAX_LIST_ITEMS, Math.floor(filter.limit)));
  const rows = await wh.query<Record<string, unknown>>(
    `SELECT * FROM (
       SELECT queue_id, pipeline_path, CAST(logical_date AS STRING) AS logical_date, params, ${STATE_SQL} AS state,
         attempts, last_error, run_id, not_before, created_at, updated_at
       FROM ${Q} WHERE org_slug = @org AND (@path IS NULL OR pipeline_path = @path)
     ) q WHERE (@status IS NULL OR state = @status)
     ORDER BY created_at DESC, logical_date DESC, pipeline_path LIMIT ${limit}`,
    { org: filter.org, path: filter.path ?? null, status: filter.status ?? null, now: now.toISOString() },
  );
  return rows.map((r) => {
    const span = paramsSpan(r.params);
    return {
      queue_id: String(r.queue_id),
      pipeline: String(r.pipeline_path),
      logical_date: String(r.logical_date).slice(0, 10),
      start_date: span ? isoDay(span.start) : null,
      end_date: span ? isoDay(span.end) : null,
      status: String(r.state),
      attempts: Number(r.attempts),
      last_error: r.last_error === null || r.last_error === undefined ? null : String(r.last_error),
      run_id: r.run_id === null || r.run_id === undefined ? null : String(r.run_id),
      not_before: iso(r.not_before),
      created_at: iso(r.created_at),
      updated_at: iso(r.updated_at),
    };
  });
}
