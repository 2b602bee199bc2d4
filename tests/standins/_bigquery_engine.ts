/**
 * The SQL engine of the BigQuery stand-in: an in-memory DuckDB holding one schema per dataset, with BigQuery's
 * documented concurrency rules for DML and multi-statement transactions layered on top (see the header of
 * `bigquery_rest.ts` for the list). Every DuckDB transaction has snapshot isolation, which is what BigQuery
 * promises inside a transaction; conflicts are tracked per table, as BigQuery does, not per row.
 */
import { type DuckDBConnection, DuckDBInstance, type DuckDBMaterializedResult } from "@duckdb/node-api";
import type { TableSchema } from "../../src/schema/table_schema.ts";
import { append } from "../../src/warehouse/_duckdb_conn.ts";
import { columnDdl } from "../../src/warehouse/_duckdb_values.ts";
import { normalizeColumns } from "../../src/warehouse/_rows.ts";
import { scanParams } from "../../src/warehouse/_sql.ts";
import {
  BigQueryJobError,
  bindParams,
  classify,
  restField,
  restValue,
  schemaOfResource,
  schemaPatch,
  splitScript,
  toDuckSql,
} from "./_bigquery_sql.ts";

/** Rules of the engine that tests may tighten. */
export interface EngineOptions {
  /** How often a conflicting DML statement outside a transaction is re-run before it fails (BigQuery: 3). */
  dmlRetries?: number;
  /** How long a mutating DML statement outside a transaction holds its snapshot before committing (default 0). */
  dmlRunMillis?: number;
  /** How long a DML statement waits, queued, for a transaction that mutates its table (default 30 s). */
  queueTimeoutMillis?: number;
}

/** A query's REST result. */
export interface EngineResult {
  fields: Array<{ name: string; type: string; mode: string }>;
  rows: Array<{ f: Array<{ v: unknown }> }>;
  numDmlAffectedRows?: number;
  sessionId?: string;
}

interface Tx {
  id: string;
  conn: DuckDBConnection;
  /** Commit counter when the transaction began (its snapshot). */
  start: number;
  mutated: Set<string>;
}

interface Session {
  tx?: Tx;
  /** Queries of one session run one at a time, as in BigQuery. */
  chain: Promise<unknown>;
}

const DUCK_CONFLICT = /TransactionContext Error|[Cc]onflict on/;

export class BigQueryEngine {
  readonly #instance: DuckDBInstance;
  readonly #project: string;
  readonly #options: Required<EngineOptions>;
  readonly #schemas = new Map<string, TableSchema>();
  readonly #sessions = new Map<string, Session>();
  /** Commits that mutated a table, counted; and the last one per table. */
  #version = 0;
  readonly #tableVersion = new Map<string, number>();
  /** The open transaction that mutated each table. */
  readonly #mutators = new Map<string, Tx>();
  /** Mutating DML statements outside transactions running per table. */
  readonly #running = new Map<string, number>();
  #waiters: Array<() => void> = [];
  readonly #idle: DuckDBConnection[] = [];

  private constructor(instance: DuckDBInstance, project: string, options: EngineOptions) {
    this.#instance = instance;
    this.#project = project;
    this.#options = { dmlRetries: 3, dmlRunMillis: 0, queueTimeoutMillis: 30_000, ...options };
  }

  static async open(project: string, options: EngineOptions = {}): Promise<BigQueryEngine> {
    return new BigQueryEngine(await DuckDBInstance.create(":memory:"), project, options);
  }

  async createDataset(dataset: string): Promise<void> {
    await this.#autocommit((c) => c.run(`CREATE SCHEMA IF NOT EXISTS "${dataset}"`));
  }

  async dropDataset(dataset: string): Promise<void> {
    await this.#autocommit((c) => c.run(`DROP SCHEMA IF EXISTS "${dataset}" CASCADE`));
    for (const key of [...this.#schemas.keys()]) if (key.startsWith(`${dataset}.`)) this.#schemas.delete(key);
  }

  async createTable(dataset: string, table: string, resource: Record<string, unknown>): Promise<void> {
    const schema = schemaOfResource(table, resource);
    await this.#autocommit((c) =>
      c.run(`CREATE TABLE "${dataset}"."${table}" (${schema.fields.map(columnDdl).join(", ")})`)
    );
    this.#schemas.set(`${dataset}.${table}`, schema);
  }

  async dropTable(dataset: string, table: string): Promise<void> {
    await this.#autocommit((c) => c.run(`DROP TABLE IF EXISTS "${dataset}"."${table}"`));
    this.#schemas.delete(`${dataset}.${table}`);
  }

  /**
   * tables.patch with a schema (`schemaPatch` checks it): adds the new columns (last, as BigQuery appends them) and
   * drops NOT NULL from relaxed ones. The table keeps its rows; they read the added columns as NULL.
   */
  async patchTable(dataset: string, table: string, resource: Record<string, unknown>): Promise<void> {
    const key = `${dataset}.${table}`;
    const old = this.#schemas.get(key);
    if (!old) return;
    const { fields, added, relaxed } = schemaPatch(`${this.#project}:${key}`, old, schemaOfResource(table, resource));
    await this.#autocommit(async (c) => {
      for (const f of added) await c.run(`ALTER TABLE "${dataset}"."${table}" ADD COLUMN ${columnDdl(f)}`);
      for (const name of relaxed) {
        await c.run(`ALTER TABLE "${dataset}"."${table}" ALTER COLUMN "${name}" DROP NOT NULL`);
      }
    });
    this.#schemas.set(key, { ...old, fields });
  }

  /**
   * A load job of NDJSON into `tableId` (`table` or `table$YYYYMMDD` / `table$YYYYMM`), atomic: WRITE_TRUNCATE
   * replaces the table or the decorated partition. Values are checked against the table's schema.
   */
  async load(dataset: string, tableId: string, disposition: string, ndjson: string): Promise<number> {
    const [table, decorator] = tableId.split("$") as [string, string | undefined];
    const schema = this.#schemas.get(`${dataset}.${table}`);
    if (!schema) throw new BigQueryJobError(`Not found: Table ${this.#project}:${dataset}.${table}`, "notFound", 404);
    let rows;
    try {
      rows = ndjson.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
    } catch (e) {
      throw new BigQueryJobError(`Error while reading data, error message: ${(e as Error).message}`, "invalid");
    }
    let columns;
    try {
      columns = normalizeColumns(dataset, schema, rows);
    } catch (e) {
      throw new BigQueryJobError(`Error while reading data, error message: ${(e as Error).message}`, "invalid");
    }
    return await this.#autocommit(async (c) => {
      await c.run("BEGIN TRANSACTION");
      try {
        if (disposition === "WRITE_TRUNCATE") {
          const part = schema.partitioning;
          let where = "TRUE";
          if (decorator && part) {
            const from = `${decorator.slice(0, 4)}-${decorator.slice(4, 6)}-${decorator.slice(6, 8) || "01"}`;
            const unit = decorator.length === 6 ? "MONTH" : "DAY";
            where = `CAST("${part.field}" AS DATE) >= DATE '${from}' AND CAST("${part.field}" AS DATE) < ` +
              `DATE '${from}' + INTERVAL 1 ${unit}`;
          }
          await c.run(`DELETE FROM "${dataset}"."${table}" WHERE ${where}`);
        }
        const n = await append(c, dataset, schema, columns);
        await c.run("COMMIT");
        return n;
      } catch (e) {
        await c.run("ROLLBACK").catch(() => {});
        throw new BigQueryJobError((e as Error).message, "invalid");
      }
    });
  }

  /** Whether the engine holds `dataset.table` (tables a test put only into the REST maps are not). */
  hasTable(key: string): boolean {
    return this.#schemas.has(key);
  }

  /** A new session (the job that asked for it runs in it). */
  createSession(): string {
    const id = `session_${crypto.randomUUID().replaceAll("-", "")}`;
    this.#sessions.set(id, { chain: Promise.resolve() });
    return id;
  }

  /** Runs a query or script, in `sessionId` when given; a script outside a session gets one of its own. */
  run(
    sql: string,
    parameters: readonly unknown[],
    sessionId: string | undefined,
    int64: boolean,
  ): Promise<EngineResult> {
    const statements = splitScript(sql);
    let session: Session | undefined;
    let ephemeral = false;
    if (sessionId) {
      session = this.#sessions.get(sessionId);
      if (!session) throw new BigQueryJobError(`Session ${sessionId} was not found`, "notFound", 404);
    } else if (statements.length > 1 || statements.some((s) => classify(s).kind === "begin")) {
      session = { chain: Promise.resolve() };
      ephemeral = true;
    }
    const work = async () => {
      let result: EngineResult = { fields: [], rows: [] };
      try {
        for (const s of statements) result = await this.#statement(s, parameters, session, int64);
      } finally {
        // A script that ends inside its transaction rolls it back (BigQuery does the same).
        if (ephemeral && session?.tx) await this.#end(session, "ROLLBACK").catch(() => {});
      }
      return result;
    };
    if (!session) return work();
    const p = session.chain.then(work, work);
    session.chain = p.catch(() => {});
    return p;
  }

  async close(): Promise<void> {
    for (const s of this.#sessions.values()) if (s.tx) await this.#end(s, "ROLLBACK").catch(() => {});
    for (const c of this.#idle.splice(0)) c.closeSync();
    this.#instance.closeSync();
  }

  async #statement(sql: string, all: readonly unknown[], session: Session | undefined, int64: boolean) {
    const { kind, table } = classify(sql);
    const tx = session?.tx;
    if (kind === "begin") {
      if (tx) throw new BigQueryJobError("Transaction is already active; nested transactions are not supported");
      const conn = await this.#connection();
      await conn.run("BEGIN TRANSACTION");
      session!.tx = { id: crypto.randomUUID(), conn, start: this.#version, mutated: new Set() };
      return empty();
    }
    if (kind === "commit" || kind === "rollback") {
      if (!tx) throw new BigQueryJobError(`${kind.toUpperCase()} TRANSACTION is not allowed outside a transaction`);
      await this.#end(session!, kind === "commit" ? "COMMIT" : "ROLLBACK");
      return empty();
    }
    const names = scanParams(sql).names;
    const { values, types } = bindParams(all.filter((p) => names.includes((p as { name: string }).name)));
    const duck = toDuckSql(sql);
    const exec = (c: DuckDBConnection) => c.run(duck, names.length ? values : undefined, types);
    if (tx) {
      if (kind === "mutate") {
        const other = this.#mutators.get(table!);
        if ((other && other !== tx) || (this.#tableVersion.get(table!) ?? 0) > tx.start || this.#running.get(table!)) {
          await this.#end(session!, "ROLLBACK");
          throw this.#aborted(table!, tx);
        }
        this.#mutators.set(table!, tx);
        tx.mutated.add(table!);
      }
      try {
        return toResult(await exec(tx.conn), kind, int64);
      } catch (e) {
        // An error inside a transaction rolls it back (DuckDB cannot go on after one either).
        await this.#end(session!, "ROLLBACK").catch(() => {});
        throw DUCK_CONFLICT.test((e as Error).message) && table ? this.#aborted(table, tx) : jobError(e);
      }
    }
    if (kind !== "mutate") {
      return await this.#autocommit(async (c) => toResult(await exec(c).catch(rethrow), kind, int64));
    }
    return await this.#plainDml(table!, exec, kind, int64);
  }

  /** A mutating DML statement outside a transaction: queued behind transactions, re-run on conflict. */
  async #plainDml(
    table: string,
    exec: (c: DuckDBConnection) => Promise<DuckDBMaterializedResult>,
    kind: string,
    int64: boolean,
  ): Promise<EngineResult> {
    for (let attempt = 0;; attempt++) {
      await this.#waitForMutators(table);
      const start = this.#version;
      this.#running.set(table, (this.#running.get(table) ?? 0) + 1);
      try {
        const outcome = await this.#autocommit(async (c) => {
          await c.run("BEGIN TRANSACTION");
          try {
            const result = await exec(c);
            if (this.#options.dmlRunMillis) await new Promise((r) => setTimeout(r, this.#options.dmlRunMillis));
            if ((this.#tableVersion.get(table) ?? 0) > start) throw new Error("Conflict on table (stand-in)");
            await c.run("COMMIT");
            this.#tableVersion.set(table, ++this.#version);
            return { result, conflict: false };
          } catch (e) {
            await c.run("ROLLBACK").catch(() => {});
            if (DUCK_CONFLICT.test((e as Error).message)) return { result: undefined, conflict: true };
            throw jobError(e);
          }
        });
        if (outcome.result) return toResult(outcome.result, kind, int64);
      } finally {
        this.#running.set(table, this.#running.get(table)! - 1);
        this.#wake();
      }
      if (attempt >= this.#options.dmlRetries) {
        throw new BigQueryJobError(
          `Could not serialize access to table ${this.#project}:${table} due to concurrent update`,
        );
      }
    }
  }

  async #waitForMutators(table: string): Promise<void> {
    const deadline = Date.now() + this.#options.queueTimeoutMillis;
    while (this.#mutators.has(table)) {
      if (Date.now() > deadline) {
        throw new BigQueryJobError(
          `Could not serialize access to table ${this.#project}:${table} due to concurrent update`,
        );
      }
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  #aborted(table: string, tx: Tx): BigQueryJobError {
    return new BigQueryJobError(
      `Transaction is aborted due to concurrent update against table ${this.#project}:${table}. ` +
        `Transaction ID: ${tx.id}`,
    );
  }

  /** Ends the session's transaction; a COMMIT whose snapshot went stale fails and rolls back. */
  async #end(session: Session, how: "COMMIT" | "ROLLBACK"): Promise<void> {
    const tx = session.tx!;
    session.tx = undefined;
    try {
      const stale = [...tx.mutated].find((t) => (this.#tableVersion.get(t) ?? 0) > tx.start);
      if (how === "COMMIT" && stale) {
        await tx.conn.run("ROLLBACK");
        throw this.#aborted(stale, tx);
      }
      try {
        await tx.conn.run(how);
      } catch (e) {
        await tx.conn.run("ROLLBACK").catch(() => {});
        throw DUCK_CONFLICT.test((e as Error).message) ? this.#aborted([...tx.mutated][0] ?? "?", tx) : jobError(e);
      }
      if (how === "COMMIT" && tx.mutated.size) {
        const v = ++this.#version;
        for (const t of tx.mutated) this.#tableVersion.set(t, v);
      }
    } finally {
      for (const t of tx.mutated) if (this.#mutators.get(t) === tx) this.#mutators.delete(t);
      this.#release(tx.conn);
      this.#wake();
    }
  }

  async #connection(): Promise<DuckDBConnection> {
    const idle = this.#idle.pop();
    if (idle) return idle;
    const c = await this.#instance.connect();
    await c.run("SET TimeZone = 'UTC'");
    return c;
  }

  #release(c: DuckDBConnection): void {
    if (this.#idle.length < 8) this.#idle.push(c);
    else c.closeSync();
  }

  async #autocommit<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    const c = await this.#connection();
    try {
      return await fn(c);
    } finally {
      this.#release(c);
    }
  }
}

function empty(): EngineResult {
  return { fields: [], rows: [] };
}

function toResult(result: DuckDBMaterializedResult, kind: string, int64: boolean): EngineResult {
  if (kind !== "read") return { fields: [], rows: [], numDmlAffectedRows: result.rowsChanged };
  const names = result.deduplicatedColumnNames();
  const types = result.columnTypes();
  const fields = names.map((n, i) => restField(n, types[i]!));
  const rows: EngineResult["rows"] = [];
  for (let i = 0; i < result.chunkCount; i++) {
    for (const row of result.getChunk(i).getRows()) {
      rows.push({ f: row.map((v, j) => ({ v: restValue(fields[j]!, v, int64) })) });
    }
  }
  return { fields, rows };
}

function jobError(e: unknown): BigQueryJobError {
  if (e instanceof BigQueryJobError) return e;
  const message = (e as Error).message ?? String(e);
  if (/Catalog Error: (Table|Schema) with name/.test(message)) return new BigQueryJobError(message, "notFound", 404);
  return new BigQueryJobError(message);
}

function rethrow(e: unknown): never {
  throw jobError(e);
}
