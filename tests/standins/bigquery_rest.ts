/**
 * A local stand-in for the BigQuery REST API (v2), enough for the official
 * Node client: datasets get/insert/delete, tables get/insert, jobs insert
 * (query, and load through the multipart upload endpoint), jobs get,
 * jobs getQueryResults and jobs query. It records every request and keeps
 * datasets, tables and jobs in memory; it does not execute SQL: query
 * results come from `onQuery` (default: no rows).
 */

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
export interface StandInOptions {
  onQuery?: (sql: string, queryParameters: unknown[]) => QueryResult;
}

type Json = Record<string, unknown>;

/** Starts the stand-in on 127.0.0.1 and a free port. */
export function startBigQueryStandIn(options: StandInOptions = {}) {
  const requests: RecordedRequest[] = [];
  const datasets = new Map<string, Json>();
  const tables = new Map<string, Json>();
  const jobs = new Map<string, { resource: Json; result?: QueryResult }>();
  const state: { onQuery: NonNullable<StandInOptions["onQuery"]> } = { onQuery: options.onQuery ?? (() => ({})) };

  const json = (status: number, body: unknown) =>
    status === 204 ? new Response(null, { status }) : Response.json(body, { status });
  const apiError = (code: number, reason: string, message: string) =>
    json(code, { error: { code, message, errors: [{ reason, message, domain: "global" }], status: reason } });

  function createJob(project: string, body: Json, data?: string): Response {
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
      result = state.onQuery(String(q.query), (q.queryParameters as unknown[]) ?? []);
      if (result.error) return apiError(400, "invalidQuery", result.error);
      if (result.numDmlAffectedRows !== undefined) {
        resource.statistics = { query: { numDmlAffectedRows: String(result.numDmlAffectedRows) } };
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
        const rows = (data ?? "").split("\n").filter((l) => l.trim() !== "").length;
        resource.statistics = { load: { outputRows: String(rows) } };
      }
    }
    jobs.set(jobId, { resource, result });
    return json(200, resource);
  }

  function queryResults(jobId: string, result: QueryResult | undefined): Json {
    const r = result ?? {};
    const body: Json = {
      kind: "bigquery#getQueryResultsResponse",
      jobReference: (jobs.get(jobId)?.resource.jobReference) ?? { jobId },
      jobComplete: true,
      schema: { fields: r.fields ?? [] },
      totalRows: String(r.rows?.length ?? 0),
      cacheHit: false,
    };
    if (r.rows?.length) body.rows = r.rows;
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
          tables.set(`${ds}.${id}`, resource);
          return json(200, resource);
        }
        if (t && req.method === "GET") {
          const resource = tables.get(`${ds}.${t}`);
          return resource ? json(200, resource) : apiError(404, "notFound", `Not found: Table ${project}:${ds}.${t}`);
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
      return job ? json(200, queryResults(seg[1], job.result)) : apiError(404, "notFound", `Not found: Job ${seg[1]}`);
    }
    if (seg[0] === "queries" && req.method === "POST" && seg.length === 1) {
      const result = state.onQuery(String(body.query), (body.queryParameters as unknown[]) ?? []);
      if (result.error) return apiError(400, "invalidQuery", result.error);
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
    close: () => server.shutdown(),
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
