/**
 * The DuckDB engine of the adapter: one instance and its connections (the pool, the DDL connection, the
 * connections of streamed writes), and how it heals. A fatal engine error (DuckDB's "database has been
 * invalidated", e.g. a checkpoint that hit a full disk) leaves the instance unusable until it is reopened, so the
 * engine notes it, closes every connection and the instance, and opens the file again: at once, then at most
 * every {@link REOPEN_BACKOFF_MS} on the next call (or the adapter's tick) while opening keeps failing (the disk
 * is still full). Meanwhile every call fails fast with a `WAREHOUSE_UNAVAILABLE` AppError; nothing needs a
 * restart. An in-memory database is never reopened (its data would be gone).
 */
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { Pool } from "./_pool.ts";
import { warehouseUnavailable } from "./errors.ts";

/** Least time between two attempts to reopen the file. */
const REOPEN_BACKOFF_MS = 1000;
/** How long a reopen waits for connections in use (their statements fail fast on an invalidated database). */
const REOPEN_GRACE_MS = 3000;
const FATAL = /database has been invalidated|FATAL Error/;
const DISK_FULL = /No space left on device|disk is full/i;
/** Bytes {@link DuckDBEngine.probeSpace} writes to see whether the disk has room again. */
const SPACE_PROBE_BYTES = 1024 * 1024;

/** Whether `e` (or a cause of it) is a DuckDB error that invalidated the database. */
export function isFatalEngineError(e: unknown): boolean {
  for (let x = e, i = 0; x instanceof Error && i < 6; x = x.cause, i++) if (FATAL.test(x.message)) return true;
  return false;
}

function isDiskFull(e: unknown): boolean {
  for (let x = e, i = 0; x instanceof Error && i < 6; x = x.cause, i++) if (DISK_FULL.test(x.message)) return true;
  return false;
}

export class DuckDBEngine {
  readonly #path: string;
  readonly #options: Record<string, string>;
  readonly #connections: number;
  readonly #onReopen: () => void;
  #instance: DuckDBInstance | undefined;
  #pool: Pool<DuckDBConnection>;
  /** The connection DDL runs on, one statement at a time (see the adapter's DDL group). */
  #ddl: Promise<DuckDBConnection> | undefined;
  #ddlBusy = 0;
  /** Connections of streamed writes in progress, and idle ones kept for the next. */
  #streaming = new Set<DuckDBConnection>();
  #idleStreams: DuckDBConnection[] = [];
  readonly #maxIdleStreams: number;
  /** The fatal error that invalidated the instance, until a reopen succeeds. */
  #broken: Error | undefined;
  /** Why the last reopen failed (e.g. the disk is still full). */
  #reopenError: Error | undefined;
  #reopening: Promise<void> | undefined;
  #nextReopen = 0;
  #reopens = 0;
  /** A write failed for want of space; cleared when {@link probeSpace} finds room. */
  #diskFull = false;
  #closed = false;

  private constructor(
    path: string,
    options: Record<string, string>,
    instance: DuckDBInstance,
    connections: number,
    maxIdleStreams: number,
    onReopen: () => void,
  ) {
    this.#path = path;
    this.#options = options;
    this.#instance = instance;
    this.#connections = connections;
    this.#maxIdleStreams = maxIdleStreams;
    this.#onReopen = onReopen;
    this.#pool = this.#newPool();
  }

  /**
   * @param onReopen called after a successful reopen (e.g. to forget cached catalog facts)
   * @throws {Error} when the file cannot be opened
   */
  static async open(
    path: string,
    options: Record<string, string>,
    connections: number,
    maxIdleStreams: number,
    onReopen: () => void,
  ): Promise<DuckDBEngine> {
    const instance = await DuckDBInstance.create(path, options);
    return new DuckDBEngine(path, options, instance, connections, maxIdleStreams, onReopen);
  }

  /** "ok"; "reopening"/"unavailable" after a fatal engine error; "disk_full" after a write found no space. */
  get state(): "ok" | "reopening" | "unavailable" | "disk_full" {
    return this.#reopening ? "reopening" : this.#broken ? "unavailable" : this.#diskFull ? "disk_full" : "ok";
  }

  /** Times the file was reopened after a fatal engine error. */
  get reopens(): number {
    return this.#reopens;
  }

  /**
   * After a write found the disk full: writes a probe file beside the database to see whether there is room
   * again, and clears the state when there is.
   * @throws {AppError} `WAREHOUSE_UNAVAILABLE` while the disk is still full
   */
  async probeSpace(): Promise<void> {
    if (!this.#diskFull || this.#path === ":memory:") return;
    const probe = `${this.#path}.space_probe`;
    try {
      await Deno.writeFile(probe, new Uint8Array(SPACE_PROBE_BYTES), { mode: 0o600 });
      this.#diskFull = false;
    } catch (e) {
      throw warehouseUnavailable("The warehouse disk is full; free space under DATA_DIR", e);
    } finally {
      await Deno.remove(probe).catch(() => {});
    }
  }

  /** Runs fn on a pooled connection. */
  async use<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.#broken || this.#reopening) await this.#recover();
    return await this.#watch(() => this.#pool.use(fn));
  }

  /** Milliseconds since the pool was last used (0 while in use). */
  quietMs(): number {
    return this.#pool.quietMs();
  }

  /** Runs fn on the DDL connection (the caller runs one batch at a time). */
  async onDdl<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.#broken || this.#reopening) await this.#recover();
    this.#ddl ??= this.#connect();
    let c: DuckDBConnection;
    try {
      c = await this.#ddl;
    } catch (e) {
      this.#ddl = undefined;
      throw e;
    }
    this.#ddlBusy++;
    try {
      return await this.#watch(() => fn(c));
    } finally {
      this.#ddlBusy--;
    }
  }

  /** Runs fn on a connection of its own, outside the pool (an idle one kept from an earlier stream, or new). */
  async dedicated<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.#broken || this.#reopening) await this.#recover();
    const streaming = this.#streaming;
    const c = this.#idleStreams.pop() ?? await this.#connect();
    streaming.add(c);
    let reusable = false;
    try {
      const result = await this.#watch(() => fn(c));
      reusable = true;
      return result;
    } finally {
      // A reopen meanwhile replaced the set and closed the connection.
      if (streaming === this.#streaming && streaming.delete(c)) {
        if (reusable && !this.#closed && this.#idleStreams.length < this.#maxIdleStreams) this.#idleStreams.push(c);
        else c.closeSync();
      }
    }
  }

  /** Reopens in the background when broken and the backoff has passed (the adapter's tick calls it). */
  heal(): void {
    if (this.#broken && !this.#reopening && !this.#closed && performance.now() >= this.#nextReopen) {
      void this.#recover().catch(() => {});
    }
  }

  /** Waits (within a grace time) for connections in use, then closes them all and the instance. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#reopening?.catch(() => {});
    await this.#release(10_000, new Error("Cannot use the warehouse: it is closed"));
  }

  async #watch<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      if (isFatalEngineError(e)) this.#fatal(e as Error);
      if (isDiskFull(e)) this.#diskFull = true;
      throw e;
    }
  }

  #fatal(e: Error): void {
    if (this.#broken || this.#closed) return;
    this.#broken = e;
    this.#nextReopen = 0;
    this.heal();
  }

  /** Waits for a reopen in progress, starts one when due; throws while the engine stays unavailable. */
  async #recover(): Promise<void> {
    if (this.#closed) throw new Error("Cannot use the warehouse: it is closed");
    if (!this.#reopening && this.#broken && performance.now() >= this.#nextReopen) {
      this.#reopening = this.#reopen().finally(() => (this.#reopening = undefined));
    }
    await this.#reopening?.catch(() => {});
    if (this.#broken) {
      throw warehouseUnavailable(
        "The warehouse is unavailable after a fatal engine error and could not be reopened yet; retry later",
        this.#reopenError ?? this.#broken,
      );
    }
  }

  async #reopen(): Promise<void> {
    try {
      if (this.#path === ":memory:") throw new Error("an in-memory database cannot be reopened");
      await this.#release(REOPEN_GRACE_MS, warehouseUnavailable("The warehouse is reopening; retry later"));
      this.#instance = await DuckDBInstance.create(this.#path, this.#options);
      this.#pool = this.#newPool();
      await this.#pool.use((c) => c.run("SELECT 1"));
      this.#broken = this.#reopenError = undefined;
      this.#reopens++;
      this.#onReopen();
    } catch (e) {
      this.#nextReopen = performance.now() + REOPEN_BACKOFF_MS;
      this.#reopenError = new Error(`Reopening the warehouse failed: ${(e as Error).message}`, { cause: e });
      throw e;
    }
  }

  /** Closes every connection and the instance (busy ones waited for up to `graceMs`). */
  async #release(graceMs: number, reason: Error): Promise<void> {
    const deadline = Date.now() + graceMs;
    await this.#pool.close(graceMs, reason);
    while (this.#ddlBusy > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const ddl = await this.#ddl?.catch(() => undefined);
    this.#ddl = undefined;
    ddl?.closeSync();
    while (this.#streaming.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    for (const c of [...this.#streaming, ...this.#idleStreams.splice(0)]) c.closeSync();
    this.#streaming = new Set();
    this.#instance?.closeSync();
    this.#instance = undefined;
  }

  #newPool(): Pool<DuckDBConnection> {
    return new Pool(() => this.#connect(), (c) => c.closeSync(), this.#connections);
  }

  async #connect(): Promise<DuckDBConnection> {
    if (!this.#instance) throw warehouseUnavailable("The warehouse is reopening; retry later");
    const c = await this.#instance.connect();
    await c.run("SET TimeZone = 'UTC'");
    return c;
  }
}
