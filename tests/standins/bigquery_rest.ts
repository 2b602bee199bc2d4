/**
 * A local stand-in for the BigQuery REST API (v2), enough for the official Node client (`apiEndpoint`):
 * datasets get/insert/delete, tables get/insert/patch/delete (a schema patch adds columns as BigQuery allows), jobs insert (query, and load through the multipart upload
 * endpoint), jobs get, jobs getQueryResults (paged by `maxResults` and `pageToken`) and jobs query. It records every request.
 *
 * SQL runs for real on an in-memory DuckDB (`_bigquery_engine.ts`): datasets are schemas, tables are created from
 * their REST resource (INT64, STRING, NUMERIC, ... columns), NAMED `queryParameters` are bound with their types,
 * NDJSON load jobs append or truncate (a `table$YYYYMMDD` partition), and results come back as REST
 * `schema.fields` and `{f: [{v}]}` rows in BigQuery's encodings (`_bigquery_sql.ts`). GoogleSQL is accepted as far
 * as DuckDB shares it (the project's dialect, see `src/warehouse/warehouse.ts`), plus backtick identifiers and
 * `IN UNNEST(@list)`. With `onQuery` (or `setQueryHandler`) queries are answered by the callback instead.
 *
 * Concurrency, as BigQuery documents it ("DML statements concurrency", "Multi-statement transactions"):
 * - Each job is atomic. INSERT statements and load jobs never conflict with anything.
 * - Sessions (`createSession`, then `connectionProperties` `session_id`) run their queries one at a time;
 *   `BEGIN TRANSACTION` ... `COMMIT TRANSACTION` / `ROLLBACK TRANSACTION` across them is one transaction with
 *   snapshot isolation (reads see the data as of BEGIN plus the transaction's own writes), committed atomically.
 *   A script of several statements in one query is the same without a session; a script (or session query) that
 *   fails inside a transaction rolls the transaction back, as does a script that ends without COMMIT.
 * - A transaction that mutates a table (UPDATE, DELETE, MERGE, TRUNCATE) while another open transaction mutated it,
 *   or a mutating statement outside a transaction is running on it, or after a mutation of it committed since the
 *   transaction began, is cancelled and rolled back: "Transaction is aborted due to concurrent update against table
 *   {project}:{dataset}.{table}. Transaction ID: ...". Conflicts are per table (BigQuery: per partition; the
 *   project's bookkeeping tables are small), never per row.
 * - A mutating statement outside a transaction waits (queued, up to `queueTimeoutMillis`) while a transaction that
 *   mutated its table is open, then runs on a fresh snapshot. Two such statements on one table may run at once; the
 *   one that would commit over the other's commit is re-run, up to `dmlRetries` times (BigQuery: 3), then fails
 *   with "Could not serialize access to table {project}:{dataset}.{table} due to concurrent update".
 *   `dmlRunMillis` makes each such statement hold its snapshot that long, so tests can force the overlap.
 * Not modelled: quotas, PENDING queue limits, streaming inserts, DDL in transactions, job polling (jobs are DONE
 * at once), per-partition conflict scope, and failed jobs are refused at jobs.insert (HTTP 400/404) rather than
 * reported on the job resource.
 */
import { BigQueryEngine, type EngineOptions } from "./_bigquery_engine.ts";
import { BigQueryJobError, legacyTypes } from "./_bigquery_sql.ts";

/** A recorded request. */
export interface RecordedRequest {
  method: string;
  /** Path after `/bigquery/v2/projects/{project}` (or the upload prefix), e.g. "/datasets/acme". */
  path: string;
  project: string;
  upload: boolean;
  query: Record<string, string>;
  authorization: string | null;
  /** Parsed JSON body; for uploads the job resource part. */
  body: unknown;
  /** For uploads: the data part (NDJSON text). */
  data?: string;
}

/** What a query returns: REST `schema.fields`, raw `rows` (`{f: [{v}]}`), DML count. */
export interface QueryResult {
  fields?: Array<{ name: string; type: string; mode?: string }>;
  rows?: Array<{ f: Array<{ v: unknown }> }>;
  numDmlAffectedRows?: number;
  /** When set, the job fails with this message (HTTP 400 on jobs.insert). */
  error?: string;
}

/** Options of {@link startBigQueryStandIn}. */
export interface StandInOptions extends EngineOptions {
  /** Answers queries instead of the SQL engine (load jobs and DDL still reach the engine). */
  onQuery?: (sql: string, queryParameters: unknown[]) => QueryResult;
}

type Json = Record<string, unknown>;

/** Starts the stand-in on 127.0.0.1 and a free port. */
export function startBigQueryStandIn(options: StandInOptions = {}) {
  const requests: RecordedRequest[] = [];
  const datasets = new Map<string, Json>();
  const tables = new Map<string, Json>();
  const jobs = new Map<string, { resource: Json; result?: QueryResult }>();
  const state: { onQuery?: StandInOptions["onQuery"] } = { onQuery: options.onQuery };
  let engine: Promise<BigQueryEngine> | undefined;
  const engineFor = (project: string) => engine ??= BigQueryEngine.open(project, options);

  const json = (status: number, body: unknown) =>
    status === 204 ? new Response(null, { status }) : Response.json(body, { status });
  const apiError = (code: number, reason: string, message: string) =>
    json(code, { error: { code, message, errors: [{ reason, message, domain: "global" }], status: reason } });

  async function createJob(project: string, body: Json, data?: string): Promise<Response> {
    const ref = (body.jobReference ?? {}) as Json;
    const jobId = String(ref.jobId ?? crypto.randomUUID());
    const configuration = (body.configuration ?? {}) as Json;
    const resource: Json = {
      kind: "bigquery#job",
      id: `${project}:${ref.location ?? "US"}.${jobId}`,
      jobReference: { projectId: project, jobId, location: ref.location ?? "US" },
      configuration,
      status: { state: "DONE" },
      statistics: { creationTime: String(Date.now()), startTime: String(Date.now()), endTime: String(Date.now()) },
    };
    let result: QueryResult | undefined;
    if (configuration.query) {
      const q = configuration.query as Json;
      if (state.onQuery) {
        result = state.onQuery(String(q.query), (q.queryParameters as unknown[]) ?? []);
        if (result.error) return apiError(400, "invalidQuery", result.error);
      } else {
        const props = (q.connectionProperties ?? []) as Array<{ key: string; value: string }>;
        let sessionId = props.find((p) => p.key === "session_id")?.value;
        const e = await engineFor(project);
        let sessionInfo: Json | undefined;
        if (q.createSession === true && !sessionId) {
          sessionId = e.createSession();
          sessionInfo = { sessionId };
        }
        try {
          result = await e.run(String(q.query), (q.queryParameters as unknown[]) ?? [], sessionId, true);
        } catch (err) {
          if (err instanceof BigQueryJobError) return apiError(err.status, err.reason, err.message);
          throw err;
        }
        if (sessionInfo) resource.statistics = { ...(resource.statistics as Json), sessionInfo };
      }
      if (result.numDmlAffectedRows !== undefined) {
        resource.statistics = {
          ...(resource.statistics as Json),
          query: { numDmlAffectedRows: String(result.numDmlAffectedRows) },
        };
      }
    } else if (configuration.load) {
      const dest = ((configuration.load as Json).destinationTable ?? {}) as Json;
      const key = `${dest.datasetId}.${String(dest.tableId).split("$")[0]}`;
      if (!tables.has(key)) {
        const message = `Not found: Table ${project}:${key}`;
        resource.status = {
          state: "DONE",
          errorResult: { reason: "notFound", message },
          errors: [{ reason: "notFound", message }],
        };
      } else {
        const load = configuration.load as Json;
        const e = await engineFor(project);
        let rows = (data ?? "").split("\n").filter((l) => l.trim() !== "").length;
        if (e.hasTable(key)) {
          try {
            rows = await e.load(
              String(dest.datasetId),
              String(dest.tableId),
              String(load.writeDisposition),
              data ?? "",
            );
          } catch (err) {
            if (!(err instanceof BigQueryJobError)) throw err;
            resource.status = {
              state: "DONE",
              errorResult: { reason: err.reason, message: err.message },
              errors: [{ reason: err.reason, message: err.message }],
            };
          }
        }
        resource.statistics = { load: { outputRows: String(rows) } };
      }
    }
    jobs.set(jobId, { resource, result });
    return json(200, resource);
  }

  /**
   * getQueryResults: `maxResults` rows from `pageToken` (an offset here; opaque to clients, as BigQuery's), with
   * the next page's `pageToken` while rows remain. No `maxResults`: every row at once.
   */
  function queryResults(jobId: string, result: QueryResult | undefined, query: Record<string, string> = {}): Json {
    const r = result ?? {};
    const start = Number(query.pageToken ?? 0);
    const size = query.maxResults === undefined ? Infinity : Number(query.maxResults);
    const rows = r.rows?.slice(start, start + size);
    const body: Json = {
      kind: "bigquery#getQueryResultsResponse",
      jobReference: (jobs.get(jobId)?.resource.jobReference) ?? { jobId },
      jobComplete: true,
      schema: { fields: r.fields ?? [] },
      totalRows: String(r.rows?.length ?? 0),
      cacheHit: false,
    };
    if (rows?.length) body.rows = rows;
    if (r.rows && start + size < r.rows.length) body.pageToken = String(start + size);
    if (r.numDmlAffectedRows !== undefined) body.numDmlAffectedRows = String(r.numDmlAffectedRows);
    return body;
  }

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const m = /^\/(upload\/)?bigquery\/v2\/projects\/([^/]+)(\/.*)?$/.exec(url.pathname);
    if (!m) return apiError(404, "notFound", `No such endpoint ${url.pathname}`);
    const [, upload, project = "", path = ""] = m;
    const recorded: RecordedRequest = {
      method: req.method,
      path: decodeURIComponent(path),
      project,
      upload: Boolean(upload),
      query: Object.fromEntries(url.searchParams),
      authorization: req.headers.get("authorization"),
      body: undefined,
    };
    const text = await req.text();
    if (upload) {
      const parts = parseMultipart(text, req.headers.get("content-type") ?? "");
      recorded.body = JSON.parse(parts[0] ?? "{}");
      recorded.data = parts[1] ?? "";
    } else if (text) {
      recorded.body = JSON.parse(text);
    }
    requests.push(recorded);
    const body = (recorded.body ?? {}) as Json;
    const seg = recorded.path.split("/").filter(Boolean);

    if (upload && req.method === "POST" && seg[0] === "jobs") return createJob(project, body, recorded.data);
    if (seg[0] === "datasets") {
      const ds = seg[1];
      if (!ds && req.method === "POST") {
        const id = String((body.datasetReference as Json)?.datasetId);
        if (datasets.has(id)) return apiError(409, "duplicate", `Already Exists: Dataset ${project}:${id}`);
        const resource = {
          kind: "bigquery#dataset",
          id: `${project}:${id}`,
          ...body,
          datasetReference: { projectId: project, datasetId: id },
        };
        await (await engineFor(project)).createDataset(id);
        datasets.set(id, resource);
        return json(200, resource);
      }
      if (ds && seg.length === 2) {
        if (!datasets.has(ds)) return apiError(404, "notFound", `Not found: Dataset ${project}:${ds}`);
        if (req.method === "GET") return json(200, datasets.get(ds));
        if (req.method === "DELETE") {
          const own = [...tables.keys()].filter((k) => k.startsWith(`${ds}.`));
          if (own.length && recorded.query.deleteContents !== "true") {
            return apiError(400, "resourceInUse", `Dataset ${project}:${ds} is still in use`);
          }
          own.forEach((k) => tables.delete(k));
          datasets.delete(ds);
          await (await engineFor(project)).dropDataset(ds);
          return json(204, null);
        }
      }
      if (ds && seg[2] === "tables") {
        if (!datasets.has(ds)) return apiError(404, "notFound", `Not found: Dataset ${project}:${ds}`);
        const t = seg[3];
        if (!t && req.method === "POST") {
          const id = String((body.tableReference as Json)?.tableId);
          if (tables.has(`${ds}.${id}`)) {
            return apiError(409, "duplicate", `Already Exists: Table ${project}:${ds}.${id}`);
          }
          const resource = { kind: "bigquery#table", id: `${project}:${ds}.${id}`, type: "TABLE", ...body };
          try {
            await (await engineFor(project)).createTable(ds, id, body);
          } catch (err) {
            if (err instanceof BigQueryJobError) return apiError(400, err.reason, err.message);
            throw err;
          }
          tables.set(`${ds}.${id}`, resource);
          return json(200, resource);
        }
        if (t && req.method === "GET") {
          const resource = tables.get(`${ds}.${t}`);
          return resource
            ? json(200, legacyTypes(resource))
            : apiError(404, "notFound", `Not found: Table ${project}:${ds}.${t}`);
        }
        if (t && req.method === "DELETE") {
          if (!tables.delete(`${ds}.${t}`)) return apiError(404, "notFound", `Not found: Table ${project}:${ds}.${t}`);
          await (await engineFor(project)).dropTable(ds, t);
          return json(204, null);
        }
        if (t && req.method === "PATCH") {
          const resource = tables.get(`${ds}.${t}`);
          if (!resource) return apiError(404, "notFound", `Not found: Table ${project}:${ds}.${t}`);
          const patched = { ...resource, ...body };
          if (body.schema) {
            try {
              await (await engineFor(project)).patchTable(ds, t, patched);
            } catch (err) {
              if (err instanceof BigQueryJobError) return apiError(400, err.reason, err.message);
              throw err;
            }
          }
          tables.set(`${ds}.${t}`, patched);
          return json(200, legacyTypes(patched));
        }
      }
    }
    if (seg[0] === "jobs" && req.method === "POST" && seg.length === 1) return createJob(project, body);
    if (seg[0] === "jobs" && req.method === "GET" && seg[1]) {
      const job = jobs.get(seg[1]);
      return job ? json(200, job.resource) : apiError(404, "notFound", `Not found: Job ${project}:${seg[1]}`);
    }
    if (seg[0] === "queries" && req.method === "GET" && seg[1]) {
      const job = jobs.get(seg[1]);
      return job
        ? json(200, queryResults(seg[1], job.result, recorded.query))
        : apiError(404, "notFound", `Not found: Job ${seg[1]}`);
    }
    if (seg[0] === "queries" && req.method === "POST" && seg.length === 1) {
      let result: QueryResult;
      if (state.onQuery) {
        result = state.onQuery(String(body.query), (body.queryParameters as unknown[]) ?? []);
        if (result.error) return apiError(400, "invalidQuery", result.error);
      } else {
        const props = (body.connectionProperties ?? []) as Array<{ key: string; value: string }>;
        const int64 = ((body.formatOptions ?? {}) as Json).useInt64Timestamp === true;
        try {
          result = await (await engineFor(project)).run(
            String(body.query),
            (body.queryParameters as unknown[]) ?? [],
            props.find((p) => p.key === "session_id")?.value,
            int64,
          );
        } catch (err) {
          if (err instanceof BigQueryJobError) return apiError(err.status, err.reason, err.message);
          throw err;
        }
      }
      const jobId = crypto.randomUUID();
      jobs.set(jobId, { resource: { jobReference: { projectId: project, jobId } }, result });
      return json(200, { ...queryResults(jobId, result), kind: "bigquery#queryResponse" });
    }
    return apiError(404, "notFound", `Unsupported ${req.method} ${recorded.path}`);
  }

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handle);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    datasets,
    tables,
    /** Replaces the query handler. */
    setQueryHandler(fn: NonNullable<StandInOptions["onQuery"]>) {
      state.onQuery = fn;
    },
    async close() {
      await server.shutdown();
      if (engine) await (await engine).close();
    },
  };
}

function parseMultipart(body: string, contentType: string): string[] {
  const boundary = /boundary=("?)([^";]+)\1/.exec(contentType)?.[2];
  if (!boundary) return [body];
  return body.split(`--${boundary}`).slice(1).filter((p) => !p.startsWith("--")).map((part) => {
    const start = part.indexOf("\r\n\r\n");
    const content = start < 0 ? part : part.slice(start + 4);
    return content.endsWith("\r\n") ? content.slice(0, -2) : content;
  });
}
