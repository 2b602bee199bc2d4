/**
 * The queue store, the one writer of the execution queue (org_pipeline_execution_queue) and of the per-day
 * schedule record (org_scheduled_pipeline_runs). One row per (org, pipeline, logical date), deduplicated by key,
 * so duplicate ticks, overlapping instances and manual triggers never make a second run. Claims are
 * compare-and-set updates: only the worker whose UPDATE changed the QUEUED row runs it.
 */
import { CENTRAL_DATASET } from "./tables.ts";
import type { TableSchema } from "../schema/table_schema.ts";
import { qualified, type Warehouse } from "../warehouse/warehouse.ts";
import { findAppError } from "../errors/mod.ts";
import { WriteBatcher } from "../warehouse/batcher.ts";
import { type Day, isoDay } from "../time/day.ts";
import { type Candidate, dedupeKey, type FailedItem, type QueueItem, STATE_SQL } from "./_queue_rows.ts";

export { type Candidate, dedupeKey, type FailedItem, type QueueItem, STATE_SQL };

/** The table schemas the queue store writes (from the bootstrap pipeline's tables). */
export interface QueueTables {
  readonly org_pipeline_execution_queue: TableSchema;
  readonly org_scheduled_pipeline_runs: TableSchema;
}

/** Enqueue transactions tried at most when another instance's enqueue wins the race. */
const ENQUEUE_ATTEMPTS = 8;

/** Per warehouse client, a promise chain that serialises its enqueue transactions (other clients race for real). */
const enqueueChains = new WeakMap<Warehouse, Promise<unknown>>();

export class QueueStore {
  /** Queue and schedule-record updates of finished runs are group-committed with the runs' own bookkeeping. */
  readonly #batch: WriteBatcher;
  readonly #tables: QueueTables;

  constructor(private readonly wh: Warehouse, tables: QueueTables) {
    this.#batch = WriteBatcher.for(wh);
    this.#tables = tables;
  }

  /** `organizations.org_pipeline_execution_queue`, for SQL. */
  get #q(): string {
    return qualified(CENTRAL_DATASET, this.#tables.org_pipeline_execution_queue.table);
  }

  /** `organizations.org_scheduled_pipeline_runs`, for SQL. */
  get #s(): string {
    return qualified(CENTRAL_DATASET, this.#tables.org_scheduled_pipeline_runs.table);
  }

  /** Inserts the candidates whose key is not queued yet; returns how many were new. */
  enqueue(candidates: readonly Candidate[], trigger: string, maxAttempts: number, now: Date): Promise<number> {
    const attemptOnce = async () => {
      if (!candidates.length) return 0;
      const days = [...new Set(candidates.map((c) => c.logical_date))];
      return await this.wh.transaction(async (tx) => {
        const existing = new Set<string>();
        for (const day of days) {
          const rows = await tx.query<{ dedupe_key: string }>(
            `SELECT dedupe_key FROM ${this.#q} WHERE logical_date = CAST(@day AS DATE)`,
            { day },
          );
          for (const r of rows) existing.add(r.dedupe_key);
        }
        const fresh = candidates.filter((c) => !existing.has(dedupeKey(c.org_slug, c.pipeline_path, c.logical_date)));
        if (!fresh.length) return 0;
        const ts = now.toISOString();
        await tx.insertRows(
          CENTRAL_DATASET,
          this.#tables.org_pipeline_execution_queue,
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
          this.#tables.org_scheduled_pipeline_runs,
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
        // INSERTs never conflict on BigQuery: updating the fresh rows makes this transaction a mutation of the
        // queue table, so a concurrent enqueue of another instance (which read the same snapshot) is cancelled with
        // a write conflict and retried below, then sees these rows.
        await tx.execute(
          `UPDATE ${this.#q} SET updated_at = CAST(@ts AS TIMESTAMP) WHERE dedupe_key IN (SELECT * FROM UNNEST(@keys))`,
          { ts, keys: fresh.map((c) => dedupeKey(c.org_slug, c.pipeline_path, c.logical_date)) },
        );
        return fresh.length;
      });
    };
    const run = async () => {
      for (let attempt = 1;; attempt++) {
        try {
          return await attemptOnce();
        } catch (e) {
          if (findAppError(e)?.code !== "WRITE_CONFLICT" || attempt >= ENQUEUE_ATTEMPTS) throw e;
          await new Promise((r) => setTimeout(r, 20 * attempt + Math.random() * 30 * attempt));
        }
      }
    };
    const p = (enqueueChains.get(this.wh) ?? Promise.resolve()).then(run, run);
    enqueueChains.set(this.wh, p.catch(() => {}));
    return p;
  }

  /**
   * Claims up to `limit` due items, oldest first, in one compare-and-set UPDATE on their status that stamps them
   * with this worker and a claim time unique to the call; only when another worker took some of them meanwhile
   * are the ones this call got read back. The items' schedule records turn RUNNING.
   */
  async claim(workerId: string, limit: number, now: Date, leaseMs: number): Promise<QueueItem[]> {
    const due = await this.wh.query<QueueItem>(
      `SELECT queue_id, org_slug, pipeline_path, logical_date, params, attempts, max_attempts FROM ${this.#q}
       WHERE status = 'QUEUED' AND not_before <= CAST(@now AS TIMESTAMP)
       ORDER BY priority, created_at, org_slug LIMIT ${Math.max(1, Math.floor(limit))}`,
      { now: now.toISOString() },
    );
    if (!due.length) return [];
    const stamp = this.#claimStamp(now);
    const ids = due.map((d) => d.queue_id);
    let n: number;
    try {
      n = await this.wh.execute(
        `UPDATE ${this.#q} SET status = 'CLAIMED', claimed_by = @worker, claimed_at = CAST(@stamp AS TIMESTAMP),
         lease_expires_at = CAST(@lease AS TIMESTAMP), attempts = attempts + 1, updated_at = CAST(@now AS TIMESTAMP)
         WHERE queue_id IN (SELECT * FROM UNNEST(@ids)) AND status = 'QUEUED'`,
        {
          worker: workerId,
          stamp,
          now: now.toISOString(),
          lease: new Date(now.getTime() + leaseMs).toISOString(),
          ids,
        },
      );
    } catch (e) {
      // BigQuery gave up re-running the compare-and-set against another instance's claims: this call lost the race.
      if (findAppError(e)?.code === "WRITE_CONFLICT") return [];
      throw e;
    }
    let claimed = due;
    if (n !== due.length) {
      const mine = new Set(
        (await this.wh.query<{ queue_id: string }>(
          `SELECT queue_id FROM ${this.#q} WHERE queue_id IN (SELECT * FROM UNNEST(@ids)) AND status = 'CLAIMED'
           AND claimed_by = @worker AND claimed_at = CAST(@stamp AS TIMESTAMP)`,
          { ids, worker: workerId, stamp },
        )).map((r) => r.queue_id),
      );
      claimed = due.filter((d) => mine.has(d.queue_id));
    }
    const items = claimed.map((d) => ({
      ...d,
      attempts: Number(d.attempts) + 1,
      max_attempts: Number(d.max_attempts),
    }));
    if (items.length) {
      await this.#batch.execute(
        `UPDATE ${this.#s} SET status = 'RUNNING', attempts = attempts + 1, updated_at = CAST(@now AS TIMESTAMP)
         WHERE CONCAT(org_slug, '|', pipeline_path, '|', CAST(logical_date AS STRING)) IN (SELECT * FROM UNNEST(@keys))`,
        {
          now: now.toISOString(),
          keys: items.map((i) => dedupeKey(i.org_slug, i.pipeline_path, String(i.logical_date).slice(0, 10))),
        },
      );
    }
    return items;
  }

  /** A claim time (microseconds) that no earlier claim of this worker used. */
  #claimStamp(now: Date): string {
    const micros = Math.max(now.getTime() * 1000, this.#lastStamp + 1);
    this.#lastStamp = micros;
    const ms = Math.floor(micros / 1000);
    return `${new Date(ms).toISOString().slice(0, 23)}${String(micros % 1000).padStart(3, "0")}Z`;
  }

  #lastStamp = 0;

  async finish(
    item: QueueItem,
    status: "DONE" | "FAILED",
    runId: string | null,
    error: string | null,
    now: Date,
  ): Promise<void> {
    const ts = now.toISOString();
    await Promise.all([
      this.#batch.update(CENTRAL_DATASET, this.#tables.org_pipeline_execution_queue, ["queue_id"], {
        queue_id: item.queue_id,
        status,
        run_id: runId,
        last_error: error,
        updated_at: ts,
      }),
      this.#record(item, status === "DONE" ? "COMPLETED" : "FAILED", runId, error, ts),
    ]);
  }

  /**
   * Puts a claimed item back in the queue without counting its claim as an attempt: it waits for a free run slot
   * (short `notBefore`) or is deferred to when a plan limit resets (`deferred`, reason "deferred: ... until ...").
   */
  async requeue(item: QueueItem, notBefore: Date, reason: string, deferred: boolean, now: Date): Promise<void> {
    const ts = now.toISOString();
    const back = { ...item, attempts: Math.max(0, item.attempts - 1) };
    await Promise.all([
      this.#batch.update(CENTRAL_DATASET, this.#tables.org_pipeline_execution_queue, ["queue_id"], {
        queue_id: item.queue_id,
        status: "QUEUED",
        attempts: back.attempts,
        last_error: reason,
        not_before: notBefore.toISOString(),
        claimed_by: null,
        lease_expires_at: null,
        updated_at: ts,
      }),
      this.#record(back, deferred ? "DEFERRED" : "QUEUED", null, reason, ts),
    ]);
  }

  /**
   * Queues FAILED items again (not_before now, attempts from 0; last_error keeps the failure until the next
   * outcome). Only rows still FAILED change; returns the items re-queued.
   */
  async requeueFailed(items: readonly FailedItem[], now: Date): Promise<FailedItem[]> {
    if (!items.length) return [];
    const ts = now.toISOString();
    const ids = items.map((i) => i.queue_id);
    await this.wh.execute(
      `UPDATE ${this.#q} SET status = 'QUEUED', attempts = 0, not_before = CAST(@now AS TIMESTAMP), claimed_by = NULL,
       lease_expires_at = NULL, updated_at = CAST(@now AS TIMESTAMP)
       WHERE queue_id IN (SELECT * FROM UNNEST(@ids)) AND status = 'FAILED'`,
      { now: ts, ids },
    );
    const back = await this.wh.query<{ queue_id: string }>(
      `SELECT queue_id FROM ${this.#q} WHERE queue_id IN (SELECT * FROM UNNEST(@ids)) AND status = 'QUEUED'
       AND updated_at = CAST(@now AS TIMESTAMP)`,
      { now: ts, ids },
    );
    const mine = new Set(back.map((r) => r.queue_id));
    const done = items.filter((i) => mine.has(i.queue_id));
    await Promise.all(
      done.map((i) =>
        this.#record({ ...i, params: {}, attempts: 0, max_attempts: 0 }, "QUEUED", null, i.last_error, ts)
      ),
    );
    return done;
  }

  /** FAILED items of an org (or every org), optionally of one pipeline, whose logical day is in `from..to`. */
  async failed(filter: { org?: string; path?: string; from: Day; to: Day }): Promise<FailedItem[]> {
    const rows = await this.wh.query<FailedItem>(
      `SELECT queue_id, org_slug, pipeline_path, CAST(logical_date AS STRING) AS logical_date, params, last_error
       FROM ${this.#q} WHERE status = 'FAILED' AND (@org IS NULL OR org_slug = @org)
       AND (@path IS NULL OR pipeline_path = @path)
       AND logical_date BETWEEN CAST(@from AS DATE) AND CAST(@to AS DATE)`,
      { org: filter.org ?? null, path: filter.path ?? null, from: isoDay(filter.from), to: isoDay(filter.to) },
    );
    return rows.map((r) => ({ ...r, logical_date: String(r.logical_date).slice(0, 10) }));
  }

  /** Records the run of a claimed item on its queue row and schedule record. */
  async markRunning(item: QueueItem, runId: string, now: Date): Promise<void> {
    const ts = now.toISOString();
    await Promise.all([
      this.#batch.update(CENTRAL_DATASET, this.#tables.org_pipeline_execution_queue, ["queue_id"], {
        queue_id: item.queue_id,
        run_id: runId,
        updated_at: ts,
      }),
      this.#record(item, "RUNNING", runId, null, ts),
    ]);
  }

  async #record(
    item: QueueItem,
    status: string,
    runId: string | null,
    error: string | null,
    ts: string,
  ): Promise<void> {
    await this.#batch.update(CENTRAL_DATASET, this.#tables.org_scheduled_pipeline_runs, [
      "org_slug",
      "pipeline_path",
      "logical_date",
    ], {
      org_slug: item.org_slug,
      pipeline_path: item.pipeline_path,
      logical_date: String(item.logical_date).slice(0, 10),
      status,
      run_id: runId,
      skip_reason: error,
      attempts: item.attempts,
      updated_at: ts,
    });
  }

  /** Hands claimed items that were never started back to the queue (their attempt is not counted). */
  async release(workerId: string, items: readonly QueueItem[], now: Date): Promise<void> {
    if (!items.length) return;
    await this.wh.execute(
      `UPDATE ${this.#q} SET status = 'QUEUED', claimed_by = NULL, lease_expires_at = NULL, attempts = attempts - 1,
       updated_at = CAST(@now AS TIMESTAMP)
       WHERE queue_id IN (SELECT * FROM UNNEST(@ids)) AND status = 'CLAIMED' AND claimed_by = @worker`,
      { now: now.toISOString(), ids: items.map((i) => i.queue_id), worker: workerId },
    );
  }

  /**
   * Claims whose lease ran out (their worker died) go back to the queue. With `all` (the embedded default:
   * one process owns the file) every CLAIMED item is released at start-up.
   */
  async releaseExpired(now: Date, all: boolean): Promise<number> {
    return await this.wh.execute(
      `UPDATE ${this.#q} SET status = 'QUEUED', claimed_by = NULL, lease_expires_at = NULL, updated_at = CAST(@now AS TIMESTAMP)
       WHERE status = 'CLAIMED' AND (@all = TRUE OR lease_expires_at < CAST(@now AS TIMESTAMP))`,
      { now: now.toISOString(), all },
    );
  }

  /** When the earliest QUEUED item becomes due (null: none is queued). */
  async nextDue(): Promise<Date | null> {
    const [row] = await this.wh.query<{ t: string | null }>(
      `SELECT MIN(not_before) AS t FROM ${this.#q} WHERE status = 'QUEUED'`,
    );
    return row?.t ? new Date(row.t) : null;
  }

  /**
   * Queue counts by status, optionally for one org and pipeline. QUEUED items deferred to a plan-limit reset
   * (last_error "deferred: ...", not_before still ahead of `now`) count as DEFERRED.
   */
  async progress(filter: { org?: string; path?: string }, now = new Date()): Promise<Record<string, number>> {
    const byOrg = await this.progressByOrg(filter, now);
    const out: Record<string, number> = {};
    for (const counts of Object.values(byOrg)) {
      for (const [k, n] of Object.entries(counts)) out[k] = (out[k] ?? 0) + n;
    }
    return out;
  }

  /** Queue counts by org and status (DEFERRED as in {@link progress}). */
  async progressByOrg(
    filter: { org?: string; path?: string },
    now = new Date(),
  ): Promise<Record<string, Record<string, number>>> {
    const rows = await this.wh.query<{ org_slug: string; status: string; n: number }>(
      `SELECT org_slug, ${STATE_SQL} AS status, COUNT(*) AS n FROM ${this.#q}
       WHERE (@org IS NULL OR org_slug = @org) AND (@path IS NULL OR pipeline_path = @path)
       GROUP BY org_slug, ${STATE_SQL} ORDER BY org_slug`,
      { org: filter.org ?? null, path: filter.path ?? null, now: now.toISOString() },
    );
    const out: Record<string, Record<string, number>> = {};
    for (const r of rows) (out[r.org_slug] ??= {})[r.status] = Number(r.n);
    return out;
  }
}
