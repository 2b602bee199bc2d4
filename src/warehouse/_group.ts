/**
 * Group commit for the DuckDB adapter: small writes (and DDL) submitted while a batch is being written run
 * together in the next batch, in one transaction on one connection, so DuckDB commits once for many writers
 * instead of once each. Jobs keep their per-table write locks: a batch takes the locks of all its jobs (in sorted
 * order) and leaves out jobs whose table is locked by a write in progress elsewhere, such as a streamed replace
 * (they go in a later batch). A batch that fails is rolled back and its jobs are retried one transaction each, so
 * a failing job fails alone, with its own error.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { inTransaction } from "./_duckdb_conn.ts";
import type { KeyedLock } from "./_pool.ts";

/** A write of a group: runs on the group's connection, inside its transaction. */
export interface GroupJob<T> {
  /** Write locks to hold (e.g. `dataset.table`); none for plain appends and DDL. */
  readonly keys: readonly string[];
  /** Prefix of the job's error when it fails on its own. */
  readonly context: string;
  run(c: DuckDBConnection): Promise<T>;
}

interface Queued {
  readonly job: GroupJob<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** Jobs per batch at most. */
const MAX_BATCH = 200;

export class GroupCommit {
  readonly #queue: Queued[] = [];
  #draining: Promise<void> | undefined;

  /**
   * @param use runs a function with the connection to write on (a pooled one, or the DDL connection)
   * @param locks the per-table write locks shared with the adapter's other writes
   */
  constructor(
    private readonly use: <T>(fn: (c: DuckDBConnection) => Promise<T>) => Promise<T>,
    private readonly locks: KeyedLock,
  ) {}

  /** Runs the job in the next batch; resolves with its result once the batch is committed. */
  submit<T>(job: GroupJob<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ job, resolve: resolve as (v: unknown) => void, reject });
      this.#draining ??= this.#drain();
    });
  }

  /** Resolves when no batch is being written. */
  async idle(): Promise<void> {
    while (this.#draining) await this.#draining.catch(() => {});
  }

  async #drain(): Promise<void> {
    await new Promise((r) => setTimeout(r, 0)); // let writers that are ready join the first batch
    try {
      while (this.#queue.length) {
        const batch: Queued[] = [];
        for (let i = 0; i < this.#queue.length && batch.length < MAX_BATCH;) {
          if (this.#queue[i]!.job.keys.some((k) => this.locks.isHeld(k))) i++;
          else batch.push(...this.#queue.splice(i, 1));
        }
        if (!batch.length) {
          // Every queued job waits for a table locked elsewhere: wait for the first of those locks.
          const held = this.#queue[0]!.job.keys.find((k) => this.locks.isHeld(k))!;
          await this.locks.run(held, () => Promise.resolve());
          continue;
        }
        await this.#write(batch);
      }
    } finally {
      this.#draining = undefined;
    }
  }

  async #write(batch: Queued[]): Promise<void> {
    let results: unknown[];
    try {
      results = await this.locks.runAll(
        batch.flatMap((q) => q.job.keys),
        () =>
          this.use((c) =>
            inTransaction(c, "Group commit failed", async () => {
              const out: unknown[] = [];
              for (const q of batch) out.push(await q.job.run(c));
              return out;
            }, false)
          ),
      );
    } catch {
      // Rolled back: each job on its own, so only the failing one fails.
      for (const q of batch) {
        try {
          q.resolve(
            await this.locks.runAll(
              q.job.keys,
              () => this.use((c) => inTransaction(c, q.job.context, () => q.job.run(c))),
            ),
          );
        } catch (e) {
          q.reject(e);
        }
      }
      return;
    }
    batch.forEach((q, i) => q.resolve(results[i]));
  }
}
