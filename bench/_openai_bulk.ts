/**
 * Bulk OpenAI usage for the pipeline benchmark: a deterministic organization with MODELS x PROJECTS groups a day,
 * served by a loopback stand-in in the published shape of `GET /v1/organization/usage/completions` and
 * `GET /v1/organization/costs` (see tests/standins/openai.ts for the shape notes), and the same rows as DuckDB
 * appender values for the baseline. Bench fixture, not product code.
 */

const DAY = 86_400;
/** The benchmark's admin key. */
export const BULK_KEY = "sk-admin-bench-bulk-0penai-7Qm4x9Tz2Lr7Vb1N";

const BASES = ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o3-mini", "o4-mini", "o1"];
const SNAPSHOTS = 10;
/** 80 dated snapshot ids of priced base models (priced once their base price is in force). */
export const BULK_MODELS: readonly string[] = BASES.flatMap((b) =>
  Array.from({ length: SNAPSHOTS }, (_, i) => `${b}-2024-${String(1 + i).padStart(2, "0")}-15`)
);
const ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/** Project ids shaped like OpenAI's (`proj_` + 24 characters). */
export function bulkProjects(n: number): string[] {
  return Array.from({ length: n }, (_, p) => {
    let id = "proj_";
    for (let k = 0; k < 24; k++) id += ALNUM[mix(p, k, 7) % ALNUM.length];
    return id;
  });
}

/** A cheap deterministic 31-bit hash of three integers. */
function mix(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35) ^ Math.imul(c, 0x27d4eb2f);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h & 0x7fffffff;
}

/** The usage numbers of group `i` on day `d` (days since 1970-01-01). */
export function bulkTokens(d: number, i: number) {
  const requests = 20 + (mix(d, i, 1) % 880);
  const input = requests * (300 + (mix(d, i, 2) % 2100));
  return {
    input_tokens: input,
    input_cached_tokens: Math.floor(input * (mix(d, i, 3) % 60) / 100),
    output_tokens: requests * (80 + (mix(d, i, 4) % 820)),
    num_model_requests: requests,
  };
}

/** The shape of the bulk organization: `perDay` groups (model x project) on each day. */
export interface BulkShape {
  readonly perDay: number;
  readonly projects: readonly string[];
}

export function bulkShape(perDay: number): BulkShape {
  return { perDay, projects: bulkProjects(Math.ceil(perDay / BULK_MODELS.length)) };
}

/** Model and project of group `i`. */
export function bulkGroup(shape: BulkShape, i: number): { model: string; project: string } {
  return { model: BULK_MODELS[i % BULK_MODELS.length]!, project: shape.projects[Math.floor(i / BULK_MODELS.length)]! };
}

const json = (v: string | null) => (v === null ? "null" : `"${v}"`);

/** The JSON text of one usage bucket (written by hand: the stand-in must not be the bottleneck). */
function usageBucket(shape: BulkShape, dayStart: number, groupBy: readonly string[]): string {
  const d = dayStart / DAY;
  const byModel = groupBy.includes("model");
  const byProject = groupBy.includes("project_id");
  const byBatch = groupBy.includes("batch");
  const parts: string[] = [];
  for (let i = 0; i < shape.perDay; i++) {
    const g = bulkGroup(shape, i);
    const t = bulkTokens(d, i);
    parts.push(
      `{"object":"organization.usage.completions.result","input_tokens":${t.input_tokens},"output_tokens":${t.output_tokens},"input_cached_tokens":${t.input_cached_tokens},"input_audio_tokens":0,"output_audio_tokens":0,"num_model_requests":${t.num_model_requests},"project_id":${
        json(byProject ? g.project : null)
      },"user_id":null,"api_key_id":null,"model":${json(byModel ? g.model : null)},"batch":${
        byBatch ? "false" : "null"
      },"service_tier":null}`,
    );
  }
  return `{"object":"bucket","start_time":${dayStart},"end_time":${dayStart + DAY},"results":[${parts.join(",")}]}`;
}

/** Billed lines: an input and an output line per model a day, on the model's first project. */
function costsBucket(shape: BulkShape, dayStart: number): string {
  const parts: string[] = [];
  for (const [m, model] of BULK_MODELS.entries()) {
    for (const [item, cents] of [["input", 100 + m], ["output", 400 + m]] as const) {
      parts.push(
        `{"object":"organization.costs.result","amount":{"value":${
          cents / 100
        },"currency":"usd"},"line_item":"${model}, ${item}","project_id":"${shape.projects[0]}"}`,
      );
    }
  }
  return `{"object":"bucket","start_time":${dayStart},"end_time":${dayStart + DAY},"results":[${parts.join(",")}]}`;
}

function error(status: number, message: string, param: string | null = null): Response {
  return Response.json({ error: { message, type: "invalid_request_error", param, code: null } }, { status });
}

/** Serves the bulk organization on 127.0.0.1 (a random port); `calls` counts answered requests. */
export function serveBulkOpenAI(shape: BulkShape): { baseUrl: string; calls: number; close(): Promise<void> } {
  const state = { calls: 0 };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    state.calls++;
    const url = new URL(req.url);
    if (req.headers.get("authorization") !== `Bearer ${BULK_KEY}`) return error(401, "Incorrect API key provided");
    const costs = url.pathname === "/v1/organization/costs";
    if (!costs && url.pathname !== "/v1/organization/usage/completions") return error(404, "Invalid URL");
    const q = url.searchParams;
    const start = Number(q.get("start_time"));
    const end = q.has("end_time") ? Number(q.get("end_time")) : Math.floor(Date.now() / 1000);
    const limit = q.has("limit") ? Number(q.get("limit")) : 7;
    if (!Number.isInteger(start) || !Number.isInteger(end) || end <= start) return error(400, "Bad time range");
    if (!Number.isInteger(limit) || limit < 1 || limit > (costs ? 180 : 31)) return error(400, "Bad limit", "limit");
    const first = Math.floor(start / DAY) * DAY;
    const total = Math.ceil((end - first) / DAY);
    const cursor = q.get("page");
    const offset = cursor === null ? 0 : Number(atob(cursor.slice(5)));
    if (!Number.isInteger(offset) || offset < 0) return error(400, "Invalid 'page' cursor.", "page");
    const buckets: string[] = [];
    for (let i = offset; i < Math.min(total, offset + limit); i++) {
      const dayStart = first + i * DAY;
      buckets.push(costs ? costsBucket(shape, dayStart) : usageBucket(shape, dayStart, q.getAll("group_by")));
    }
    const more = offset + limit < total;
    const next = more ? `"page_${btoa(String(offset + limit))}"` : "null";
    return new Response(`{"object":"page","data":[${buckets.join(",")}],"has_more":${more},"next_page":${next}}`, {
      headers: { "content-type": "application/json" },
    });
  });
  return {
    baseUrl: `http://127.0.0.1:${server.addr.port}/v1`,
    get calls() {
      return state.calls;
    },
    close: () => server.shutdown(),
  };
}
