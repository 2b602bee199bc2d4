/**
 * The production warehouse: Google BigQuery through the official client.
 *
 * Writes are load jobs (NEWLINE_DELIMITED_JSON over the upload endpoint),
 * never streaming inserts, so freshly written rows can be replaced or
 * deleted at once. Queries are query jobs with NAMED `queryParameters`.
 *
 * Partition replaces of an array of rows: one load job per partition with WRITE_TRUNCATE on the partition decorator
 * `table$YYYYMMDD` (`table$YYYYMM` for MONTH tables). BigQuery commits each such job atomically, so a partition is
 * never seen half-written and a re-run never duplicates; but the jobs of one call are not atomic together: if one
 * fails, the partitions already loaded stay replaced and the rest keep their old rows (re-running converges).
 * Partitions of the range that receive no rows are cleared with one DML DELETE. A streamed replace (a billing
 * export of any size) is never held whole: it is loaded chunk by chunk into a staging table, then the range is
 * replaced from it in one transaction, atomically (`_bigquery_stream.ts`).
 *
 * `transaction()` is a multi-statement transaction in a BigQuery session (`_bigquery_tx.ts`): atomic, with
 * snapshot isolation; a concurrent mutation of the same table cancels it with a `WRITE_CONFLICT` AppError.
 *
 * Errors are rethrown as plain Errors carrying BigQuery's message only: the
 * client's error objects hold the request (and its bearer token) and are
 * never attached as a cause.
 */
import { BigQuery, type BigQueryOptions as ClientOptions, type Job } from "@google-cloud/bigquery";
import type { TableSchema } from "../schema/table_schema.ts";
import {
  arrayParameter,
  type FieldSchema,
  jobOptions,
  parseRows,
  queryParameter,
  restType,
  tableResource,
  toNdjson,
} from "./_bigquery_values.ts";
import { insertStatements, inSessionTransaction, SessionPool, type SessionRef } from "./_bigquery_tx.ts";
import { KeyedLock } from "./_pool.ts";
import { loadInto } from "./_load.ts";
import { KnownCatalog, upgradePlan } from "./_catalog.ts";
import { type Cell, checkSchema, normalizeRows } from "./_rows.ts";
import { cellDay, normalizeForReplace, partitionColumn } from "./_partitions.ts";
import { LOAD_CHUNK_BYTES, replaceFromStream, type StreamTarget } from "./_bigquery_stream.ts";
import { scanParams, usedParams } from "./_sql.ts";
import { call, eachLimited } from "./_bigquery_call.ts";
import {
  assertIdentifier,
  type DayRange,
  isRowStream,
  type LoadQuery,
  type LoadVerify,
  type QueryParams,
  type Row,
  type RowStream,
  type Warehouse,
  type WarehouseTx,
} from "./warehouse.ts";

/** Options of {@link BigQueryWarehouse}. */
export interface BigQueryOptions {
  /** Project that owns the datasets and runs the jobs. */
  readonly projectId: string;
  /** Location of datasets and jobs, e.g. "US" or "europe-west1". */
  readonly location: string;
  /** REST endpoint override (a stand-in or private endpoint), e.g. "http://127.0.0.1:9050". */
  readonly apiEndpoint?: string;
  /** Service-account JSON; default: Application Default Credentials. */
  readonly credentials?: Record<string, unknown>;
  /** A ready auth client (anything with `getRequestHeaders()`), e.g. a fixed token for a stand-in. */
  readonly authClient?: unknown;
  /** Load jobs run at once by replacePartitions (default 4). */
  readonly loadConcurrency?: number;
  /** NDJSON bytes per load job of a streamed replace, about (default `LOAD_CHUNK_BYTES`, 16 MiB). */
  readonly streamChunkBytes?: number;
}

/** BigQuery implementation of {@link Warehouse}. */
export class BigQueryWarehouse implements Warehouse {
  readonly kind = "bigquery" as const;
  readonly #bq: BigQuery;
  readonly #location: string;
  readonly #loadConcurrency: number;
  readonly #chunkBytes: number;
  readonly #sessions = new SessionPool();
  readonly #known = new KnownCatalog();

  /** @throws {Error} when projectId or location is missing */
  constructor(options: BigQueryOptions) {
    if (!options.projectId) throw new Error("Cannot create the BigQuery warehouse: projectId is missing");
    if (!options.location) throw new Error("Cannot create the BigQuery warehouse: location is missing");
    this.#location = options.location;
    this.#loadConcurrency = options.loadConcurrency ?? 4;
    this.#chunkBytes = options.streamChunkBytes ?? LOAD_CHUNK_BYTES;
    const client: ClientOptions = { projectId: options.projectId, location: options.location };
    if (options.apiEndpoint) client.apiEndpoint = options.apiEndpoint.replace(/\/+$/, "");
    if (options.credentials) client.credentials = options.credentials;
    if (options.authClient) client.authClient = options.authClient as ClientOptions["authClient"];
    this.#bq = new BigQuery(client);
  }

  async ping(): Promise<void> {
    await this.#runQuery("Cannot reach BigQuery", "SELECT 1 AS ok", []);
  }

  async datasetExists(dataset: string): Promise<boolean> {
    assertIdentifier(dataset, "dataset");
    const [exists] = await call(`Cannot read dataset "${dataset}"`, () => this.#dataset(dataset).exists());
    return exists;
  }

  async ensureDataset(dataset: string): Promise<void> {
    if (await this.datasetExists(dataset)) return;
    await call(`Cannot create dataset "${dataset}"`, () => this.#dataset(dataset).create(), [409]);
  }

  async dropDataset(dataset: string): Promise<void> {
    assertIdentifier(dataset, "dataset");
    this.#known.dropDataset(dataset);
    await call(`Cannot drop dataset "${dataset}"`, () => this.#dataset(dataset).delete({ force: true }), [404]);
  }

  async tableExists(dataset: string, table: string): Promise<boolean> {
    assertIdentifier(dataset, "dataset");
    assertIdentifier(table, "table");
    const [exists] = await call(
      `Cannot read table "${dataset}.${table}"`,
      () => this.#dataset(dataset).table(table).exists(),
    );
    return exists;
  }

  /**
   * Creates the table, or brings an existing one up to `schema`: the NULLABLE and REPEATED columns it lacks are
   * added by patching the table's schema with its full field list (tables.patch, as BigQuery documents for
   * adding columns). One catalog read (tables.get) per table and schema per process.
   * @throws {AppError} `TABLE_UPGRADE_REFUSED` when a missing column is REQUIRED or a column's type differs from the schema's
   */
  async ensureTable(dataset: string, schema: TableSchema): Promise<void> {
    checkSchema(dataset, schema);
    if (this.#known.isEnsured(dataset, schema)) return;
    const where = `${dataset}.${schema.table}`;
    const table = this.#dataset(dataset).table(schema.table);
    const got = await call(`Cannot read table "${where}"`, () => table.getMetadata(), [404]);
    const fields = (got?.[0] as { schema?: { fields?: FieldSchema[] } } | undefined)?.schema?.fields;
    if (!got) {
      await call(
        `Cannot create table "${where}"`,
        () => this.#dataset(dataset).createTable(schema.table, tableResource(schema)),
        [409],
      );
    } else {
      const existing = (fields ?? []).map((f) => ({ name: f.name, type: restType(f.type, f.mode) }));
      const missing = upgradePlan(where, schema, existing, (f) => restType(f.type, f.mode));
      if (missing.length > 0) {
        const added = (tableResource({ ...schema, fields: missing }).schema as { fields: FieldSchema[] }).fields;
        await call(
          `Cannot add columns ${missing.map((f) => `"${f.name}"`).join(", ")} to table "${where}"`,
          () => table.setMetadata({ schema: { fields: [...fields ?? [], ...added] } }),
        );
      }
    }
    this.#known.markEnsured(dataset, schema, []);
  }

  async insertRows(dataset: string, schema: TableSchema, rows: Row[]): Promise<number> {
    const cells = normalizeRows(dataset, schema, rows);
    if (cells.length === 0) return 0;
    await this.#load(dataset, schema.table, "WRITE_APPEND", toNdjson(schema.fields, cells));
    return cells.length;
  }

  /**
   * An array is loaded per partition (WRITE_TRUNCATE of each day's `table$YYYYMMDD`, empty days cleared by one
   * DELETE); a stream goes through a staging table in bounded memory (`_bigquery_stream.ts`).
   */
  async replacePartitions(
    dataset: string,
    schema: TableSchema,
    range: DayRange,
    rows: readonly Row[] | RowStream,
  ): Promise<number> {
    if (isRowStream(rows)) {
      return await replaceFromStream(this.#streamTarget, dataset, schema, range, rows, this.#chunkBytes);
    }
    const { cells, days, column } = normalizeForReplace(dataset, schema, range, rows);
    const monthly = schema.partitioning?.type === "MONTH";
    const keyOf = (day: string) => day.replaceAll("-", "").slice(0, monthly ? 6 : 8);
    const byPartition = new Map<string, Cell[][]>(days.map((d) => [keyOf(d), []]));
    for (const row of cells) byPartition.get(keyOf(cellDay(row[column] ?? null)!))!.push(row);
    const empty = days.filter((d) => byPartition.get(keyOf(d))!.length === 0);
    if (empty.length > 0) await this.#clearDays(dataset, schema, empty);
    const loads = [...byPartition].filter(([, part]) => part.length > 0);
    await eachLimited(
      loads,
      this.#loadConcurrency,
      ([key, part]) => this.#load(dataset, `${schema.table}$${key}`, "WRITE_TRUNCATE", toNdjson(schema.fields, part)),
    );
    return cells.length;
  }

  /** What a streamed replace does with this adapter: a staging table, load jobs, one DELETE, one transaction. */
  readonly #streamTarget: StreamTarget = {
    createTable: (dataset, schema, expiresAt) =>
      call(
        `Cannot create staging table "${dataset}.${schema.table}"`,
        () =>
          this.#dataset(dataset).createTable(schema.table, {
            ...tableResource(schema),
            expirationTime: `${expiresAt}`,
          }),
      )
        .then(() => {}),
    dropTable: (dataset, table) =>
      call(`Cannot drop staging table "${dataset}.${table}"`, () => this.#dataset(dataset).table(table).delete(), [
        404,
      ]).then(() => {}),
    append: (dataset, table, ndjson) => this.#load(dataset, table, "WRITE_APPEND", ndjson),
    clearDays: (dataset, schema, days) => this.#clearDays(dataset, schema, days),
    replaceWith: (dataset, schema, range, q) => this.replacePartitionsWith(dataset, schema, range, q),
  };

  /** Deletes the rows of `days` from a day-partitioned table in one DML statement. */
  async #clearDays(dataset: string, schema: TableSchema, days: readonly string[]): Promise<void> {
    const field = partitionColumn(dataset, schema);
    const target = field.type === "DATE" ? `\`${field.name}\`` : `DATE(\`${field.name}\`)`;
    await this.#runQuery(
      `Cannot clear partitions of "${dataset}.${schema.table}"`,
      `DELETE FROM \`${dataset}.${schema.table}\` WHERE ${target} IN UNNEST(@days)`,
      [arrayParameter("days", "DATE", [...days])],
    );
  }

  /** DELETE and `INSERT ... SELECT` in one multi-statement transaction (see {@link Warehouse.replacePartitionsWith}). */
  replacePartitionsWith(dataset: string, schema: TableSchema, range: DayRange, q: LoadQuery, v?: LoadVerify) {
    return this.transaction((tx) => loadInto(tx, dataset, schema, range, q, v));
  }

  query<T = Row>(sql: string, params?: QueryParams): Promise<T[]> {
    return this.#query<T>(sql, params);
  }

  execute(sql: string, params?: QueryParams): Promise<number> {
    this.#known.seeSql(sql);
    return this.#execute(sql, params);
  }

  /** The query job's result pages, `pageSize` rows each (see {@link Warehouse.queryPages}). */
  async *queryPages<T = Row>(sql: string, params?: QueryParams, pageSize = 10_000): AsyncGenerator<T[]> {
    const { names } = scanParams(sql);
    const parameters = usedParams(names, params).map(([name, value]) => queryParameter(name, value));
    const options = jobOptions(sql, this.#location, parameters);
    for await (const page of this.#pages("BigQuery query failed", options, undefined, pageSize)) {
      if (page.rows.length > 0) yield page.rows as T[];
    }
  }

  /**
   * Runs `fn` in one multi-statement transaction (a BigQuery session): atomic, rolled back when `fn` throws.
   * Calls made concurrently inside `fn` run one at a time (a session runs one query at a time).
   * @throws {Error} the callback's error, or an AppError `WRITE_CONFLICT` when a concurrent transaction or
   *   DML statement mutated a table this one mutates; nothing of the transaction is kept then
   */
  transaction<T>(fn: (tx: WarehouseTx) => Promise<T>): Promise<T> {
    return inSessionTransaction(this.#runQuery.bind(this), this.#sessions, async (session) => {
      const serial = new KeyedLock();
      const tx: WarehouseTx = {
        query: <R = Row>(sql: string, params?: QueryParams) =>
          serial.run("tx", () => this.#query<R>(sql, params, session)),
        execute: (sql, params) => serial.run("tx", () => this.#execute(sql, params, session)),
        insertRows: (dataset, schema, rows) => {
          const cells = normalizeRows(dataset, schema, rows);
          return serial.run("tx", async () => {
            for (const { sql, parameters } of insertStatements(dataset, schema, cells)) {
              await this.#runQuery(`Cannot insert rows into "${dataset}.${schema.table}"`, sql, parameters, session);
            }
            return cells.length;
          });
        },
      };
      const result = await fn(tx);
      await serial.run("tx", () => Promise.resolve()); // statements still queued finish before COMMIT
      return result;
    });
  }

  async #query<T>(sql: string, params: QueryParams | undefined, session?: SessionRef): Promise<T[]> {
    const { names } = scanParams(sql);
    const parameters = usedParams(names, params).map(([name, value]) => queryParameter(name, value));
    const { rows } = await this.#runQuery("BigQuery query failed", sql, parameters, session);
    return rows as T[];
  }

  async #execute(sql: string, params: QueryParams | undefined, session?: SessionRef): Promise<number> {
    const { names } = scanParams(sql);
    const parameters = usedParams(names, params).map(([name, value]) => queryParameter(name, value));
    const { affected } = await this.#runQuery("BigQuery statement failed", sql, parameters, session);
    return affected;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #dataset(name: string) {
    return this.#bq.dataset(name, { location: this.#location });
  }

  /** Runs one query job; in `session` when given (BigQuery creates it when it has no id yet). */
  async #runQuery(
    context: string,
    sql: string,
    parameters: ReturnType<typeof queryParameter>[],
    session?: SessionRef,
  ): Promise<{ rows: Row[]; affected: number }> {
    const options = jobOptions(sql, this.#location, parameters);
    if (session?.id) options.connectionProperties = [{ key: "session_id", value: session.id }];
    else if (session) options.createSession = true;
    const rows: Row[] = [];
    let affected = 0;
    for await (const page of this.#pages(context, options, session)) {
      rows.push(...page.rows);
      if (page.affected !== undefined) affected = page.affected;
    }
    return { rows, affected };
  }

  /** Runs one query job (see {@link #runQuery}) and yields its result pages, of at most `pageSize` rows if given. */
  async *#pages(
    context: string,
    options: Record<string, unknown>,
    session?: SessionRef,
    pageSize?: number,
  ): AsyncGenerator<{ rows: Row[]; affected?: number }> {
    const [job] = await call(context, () => this.#bq.createQueryJob(options));
    if (session && !session.id) {
      const id = (job.metadata as { statistics?: { sessionInfo?: { sessionId?: string } } })?.statistics?.sessionInfo
        ?.sessionId;
      if (!id) throw new Error(`${context}: BigQuery created no session for the transaction`);
      session.id = id;
    }
    const size = pageSize === undefined ? {} : { maxResults: pageSize };
    let page: Record<string, unknown> | null = { autoPaginate: false, skipParsing: true, ...size };
    while (page) {
      // deno-lint-ignore no-explicit-any
      const [raw, next, response]: any = await call(context, () => job.getQueryResults(page!));
      const rows = response?.schema?.fields && Array.isArray(raw)
        ? parseRows(response.schema.fields as FieldSchema[], raw)
        : [];
      const dml = response?.numDmlAffectedRows;
      yield { rows, affected: dml === undefined ? undefined : Number(dml) };
      page = next ? { ...next, autoPaginate: false, skipParsing: true, ...size } : null;
    }
  }

  async #load(
    dataset: string,
    tableId: string,
    writeDisposition: "WRITE_APPEND" | "WRITE_TRUNCATE",
    ndjson: string,
  ): Promise<void> {
    const table = this.#dataset(dataset).table(tableId, { location: this.#location });
    const metadata = {
      sourceFormat: "NEWLINE_DELIMITED_JSON",
      writeDisposition,
      createDisposition: "CREATE_NEVER",
    };
    await call(`Cannot load rows into "${dataset}.${tableId}"`, () =>
      new Promise<Job>((resolve, reject) => {
        const stream = table.createWriteStream(metadata);
        stream.on("error", reject);
        stream.on("complete", (job: Job) => resolve(job));
        stream.end(ndjson);
      }));
  }
}
