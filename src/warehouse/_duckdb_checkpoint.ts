/**
 * Checkpoints of the DuckDB adapter. DuckDB checkpoints (writes the WAL into the file) inside the commit that takes
 * the WAL past `checkpoint_threshold`, and a checkpoint rewrites the metadata of every table: with thousands of org
 * tables, a burst of small commits (a scheduler day) spent most of its time there. So the threshold is raised to
 * {@link WAL_HARD_LIMIT} and the adapter checkpoints itself once the warehouse has been quiet for
 * {@link CHECKPOINT_QUIET_MS} with at least {@link WAL_CHECKPOINT_BYTES} of WAL (DuckDB's own default threshold).
 * A crash replays the WAL at start-up. The same tick heals the engine and keeps the files 0600.
 */
import type { DuckDBEngine } from "./_duckdb_engine.ts";

/** DuckDB's own checkpoint threshold: only reached in a burst that never pauses. */
export const WAL_HARD_LIMIT = "1GB";
/** WAL size from which a quiet warehouse checkpoints (DuckDB's default threshold). */
const WAL_CHECKPOINT_BYTES = 16 * 1024 * 1024;
/** How long no call may have used the warehouse before it checkpoints. */
export const CHECKPOINT_QUIET_MS = 1000;

/** The checkpoint and file-mode tick of one warehouse file (none in memory). */
export class Checkpointer {
  readonly #engine: DuckDBEngine;
  readonly #walPath: string | undefined;
  readonly #closed: () => boolean;
  #timer: ReturnType<typeof setInterval> | undefined;
  #checkpointing: Promise<boolean> | undefined;

  /**
   * @param walPath the WAL file to watch (none in memory: no tick then)
   * @param closed whether the warehouse is closed (a closed one never checkpoints)
   */
  constructor(engine: DuckDBEngine, walPath: string | undefined, closed: () => boolean) {
    this.#engine = engine;
    this.#walPath = walPath;
    this.#closed = closed;
    if (walPath) {
      this.#timer = setInterval(() => {
        engine.heal();
        void this.tightenFileModes();
        void this.whenQuiet();
      }, CHECKPOINT_QUIET_MS);
      Deno.unrefTimer(this.#timer as unknown as number);
    }
  }

  /**
   * Checkpoints when nothing has used the warehouse for {@link CHECKPOINT_QUIET_MS} and the WAL holds at least
   * {@link WAL_CHECKPOINT_BYTES}. Resolves whether it checkpointed; a checkpoint DuckDB refuses because a
   * transaction is running (e.g. a streamed write) is left for a later tick.
   */
  whenQuiet(): Promise<boolean> {
    if (this.#closed() || !this.#walPath || this.#engine.quietMs() < CHECKPOINT_QUIET_MS) return Promise.resolve(false);
    return this.#checkpointing ??= (async () => {
      try {
        const wal = await Deno.stat(this.#walPath!).catch(() => undefined);
        if (!wal || wal.size < WAL_CHECKPOINT_BYTES) return false;
        return await this.checkpoint();
      } finally {
        this.#checkpointing = undefined;
      }
    })();
  }

  /**
   * Makes the database file and its WAL 0600 when they are laxer (DuckDB creates them with the process umask;
   * the WAL is created again after each checkpoint). Runs every {@link CHECKPOINT_QUIET_MS}, and at open.
   */
  async tightenFileModes(): Promise<void> {
    if (!this.#walPath) return;
    for (const path of [this.#walPath.slice(0, -".wal".length), this.#walPath]) {
      const info = await Deno.stat(path).catch(() => undefined);
      if (info?.mode != null && (info.mode & 0o077) !== 0) await Deno.chmod(path, 0o600).catch(() => {});
    }
  }

  /** Writes the WAL into the database file now; false when DuckDB refuses (a transaction is running). */
  async checkpoint(): Promise<boolean> {
    try {
      await this.#engine.use((c) => c.run("CHECKPOINT"));
      return true;
    } catch {
      return false;
    }
  }

  /** Stops the tick and waits for a checkpoint in progress. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#checkpointing;
  }
}
