/**
 * The execution queue (org_pipeline_execution_queue) and the per-day schedule record
 * (org_scheduled_pipeline_runs). One row per (org, pipeline, logical date), deduplicated by key, so duplicate
 * ticks, overlapping instances and manual triggers never make a second run. Claims are compare-and-set
 * updates: only the worker whose UPDATE changed the QUEUED row runs it.
 */
import { CENTRAL_DATASET } from "../orgs/api_keys.ts";
import type { Warehouse } from "../warehouse/warehouse.ts";
import { pipelines } from "../../generated/manifest.ts";

const T = pipelines["setup/bootstrap"].tables;
const Q = `${CENTRAL_DATASET}.org_pipeline_execution_queue`;
const S = `${CENTRAL_DATASET}.org_scheduled_pipeline_runs`;

export interface QueueItem {
  queue_id: string;
  org_slug: string;
  pipeline_path: string;
  logical_date: string;
  params: Record<string, unknown>;
  attempts: number;
  max_attempts: number;
}

export interface Candidate {
  org_slug: string;
  pipeline_path: string;
  pipeline_id: string;
  schedule: string;
  logical_date: string;
  params: Record<string, unknown>;
}

export function dedupeKey(org: string, path: string, day: string): string {
  return `${org}|${path}|${day}`;
}

/** A promise chain that serialises enqueue transactions within this process. */
let enqueueChain: Promise<unknown> = Promise.resolve();

export class ExecutionQueue {
  constructor(private readonly wh: Warehouse, private readonly workerId: string) {}

  /** Inserts the candidates whose key is not queued yet; returns how many were new. */
  enqueue(candidates: readonly Candidate[], trigger: string, maxAttempts: number, now: Date): Promise<number> {
    const run = async () => {
      if (!candidates.length) return 0;
      const days = [...new Set(candidates.map((c) => c.logical_date))];
      return await this.wh.transaction(async (tx) => {
        const existing = new Set<string>();
        for (const day of days) {
          const rows = await tx.query<{ dedupe_key: string }>(
            `SELECT dedupe_key FROM ${Q} WHERE logical_date = CAST(@day AS DATE)`,
            { day },
          );
          for (const r of rows) existing.add(r.dedupe_key);
        }
        const fresh = candidates.filter((c) => !existing.has(dedupeKey(c.org_slug, c.pipeline_path, c.logical_date)));
        if (!fresh.length) return 0;
        const ts = now.toISOString();
        await tx.insertRows(
          CENTRAL_DATASET,
          T.org_pipeline_execution_queue,
          fresh.map((c) => ({
            queue_id: crypto.randomUUID(),
            org_slug: c.org_slug,
            pipeline_path: c.pipeline_path,
            logical_date: c.logical_date,
            params: c.params,
            status: "QUEUED",
            priority: trigger === "backfill" ? 10 : 0,
            attempts: 0,
            max_attempts: maxAttempts,
            not_before: ts,
            dedupe_key: dedupeKey(c.org_slug, c.pipeline_path, c.logical_date),
            created_at: ts,
            updated_at: ts,
          })),
        );
        await tx.insertRows(
          CENTRAL_DATASET,
          T.org_scheduled_pipeline_runs,
          fresh.map((c) => ({
            scheduled_run_id: crypto.randomUUID(),
            org_slug: c.org_slug,
            pipeline_path: c.pipeline_path,
            pipeline_id: c.pipeline_id,
            logical_date: c.logical_date,
            schedule: c.schedule,
            trigger,
            status: "QUEUED",
            attempts: 0,
            created_at: ts,
            updated_at: ts,
          })),
        );
        return fresh.length;
      });
    };
    const p = enqueueChain.then(run, run);
    enqueueChain = p.catch(() => {});
    return p;
  }

  /** Claims up to `limit` due items, oldest first; each claim is a compare-and-set on status. */
  async claim(limit: number, now: Date, leaseMs: number): Promise<QueueItem[]> {
    const due = await this.wh.query<QueueItem>(
      `SELECT queue_id, org_slug, pipeline_path, logical_date, params, attempts, max_attempts FROM ${Q}
       WHERE status = 'QUEUED' AND not_before <= CAST(@now AS TIMESTAMP)
       ORDER BY priority, created_at, org_slug LIMIT ${Math.max(1, Math.floor(limit)) * 2}`,
      { now: now.toISOString() },
    );
    const claimed: QueueItem[] = [];
    for (const item of due) {
      if (claimed.length >= limit) break;
      const n = await this.wh.execute(
        `UPDATE ${Q} SET status = 'CLAIMED', claimed_by = @worker, claimed_at = CAST(@now AS TIMESTAMP),
         lease_expires_at = CAST(@lease AS TIMESTAMP), attempts = attempts + 1, updated_at = CAST(@now AS TIMESTAMP)
         WHERE queue_id = @id AND status = 'QUEUED'`,
        {
          worker: this.workerId,
          now: now.toISOString(),
          lease: new Date(now.getTime() + leaseMs).toISOString(),
          id: item.queue_id,
        },
      );
      if (n === 1) {
        claimed.push({ ...item, attempts: Number(item.attempts) + 1, max_attempts: Number(item.max_attempts) });
      }
    }
    return claimed;
  }

  async finish(
    item: QueueItem,
    status: "DONE" | "FAILED",
    runId: string | null,
    error: string | null,
    now: Date,
  ): Promise<void> {
    const ts = now.toISOString();
    await this.wh.execute(
      `UPDATE ${Q} SET status = @status, run_id = @run_id, last_error = @error, updated_at = CAST(@now AS TIMESTAMP) WHERE queue_id = @id`,
      { status, run_id: runId, error, now: ts, id: item.queue_id },
    );
    await this.#record(item, status === "DONE" ? "COMPLETED" : "FAILED", runId, error, ts);
  }

  /** Puts an item back for another attempt after `delayMs`. */
  async retry(item: QueueItem, runId: string | null, error: string, delayMs: number, now: Date): Promise<void> {
    const ts = now.toISOString();
    await this.wh.execute(
      `UPDATE ${Q} SET status = 'QUEUED', run_id = @run_id, last_error = @error, not_before = CAST(@not_before AS TIMESTAMP),
       claimed_by = NULL, lease_expires_at = NULL, updated_at = CAST(@now AS TIMESTAMP) WHERE queue_id = @id`,
      { run_id: runId, error, not_before: new Date(now.getTime() + delayMs).toISOString(), now: ts, id: item.queue_id },
    );
    await this.#record(item, "RETRYING", runId, error, ts);
  }

  async markRunning(item: QueueItem, runId: string, now: Date): Promise<void> {
    await this.wh.execute(
      `UPDATE ${Q} SET run_id = @run_id, updated_at = CAST(@now AS TIMESTAMP) WHERE queue_id = @id`,
      {
        run_id: runId,
        now: now.toISOString(),
        id: item.queue_id,
      },
    );
    await this.#record(item, "RUNNING", runId, null, now.toISOString());
  }

  async #record(
    item: QueueItem,
    status: string,
    runId: string | null,
    error: string | null,
    ts: string,
  ): Promise<void> {
    await this.wh.execute(
      `UPDATE ${S} SET status = @status, run_id = @run_id, skip_reason = @error, attempts = @attempts, updated_at = CAST(@now AS TIMESTAMP)
       WHERE org_slug = @org AND pipeline_path = @path AND logical_date = CAST(@day AS DATE)`,
      {
        status,
        run_id: runId,
        error,
        attempts: item.attempts,
        now: ts,
        org: item.org_slug,
        path: item.pipeline_path,
        day: item.logical_date,
      },
    );
  }

  /**
   * Claims whose lease ran out (their worker died) go back to the queue. With `all` (the embedded default:
   * one process owns the file) every CLAIMED item is released at start-up.
   */
  async releaseExpired(now: Date, all: boolean): Promise<number> {
    return await this.wh.execute(
      `UPDATE ${Q} SET status = 'QUEUED', claimed_by = NULL, lease_expires_at = NULL, updated_at = CAST(@now AS TIMESTAMP)
       WHERE status = 'CLAIMED' AND (@all = TRUE OR lease_expires_at < CAST(@now AS TIMESTAMP))`,
      { now: now.toISOString(), all },
    );
  }

  /** Queue counts by status, optionally for one org and pipeline. */
  async progress(filter: { org?: string; path?: string }): Promise<Record<string, number>> {
    const rows = await this.wh.query<{ status: string; n: number }>(
      `SELECT status, COUNT(*) AS n FROM ${Q} WHERE (@org IS NULL OR org_slug = @org) AND (@path IS NULL OR pipeline_path = @path)
       GROUP BY status`,
      { org: filter.org ?? null, path: filter.path ?? null },
    );
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }
}
