/**
 * A local stand-in for OpenAI's organization Usage and Costs APIs, in the published shapes (checked against the
 * official SDK's types, `openai` 7.60 resources/admin/organization/usage.d.ts):
 *
 * - `GET /v1/organization/usage/<endpoint>` for completions, decisions, embeddings, moderations, images, audio_speeches,
 *   audio_transcriptions, vector_stores, code_interpreter_sessions, file_search_calls and web_search_calls
 *   (`start_time`, `end_time`, `bucket_width=1d`, repeated `group_by` (or `group_by[]`, as the SDK sends it) among that endpoint's dimensions, `limit`
 *   1-31, `page`) -> `{object:"page", data:[{object:"bucket", start_time, end_time,
 *   results:[{object:"organization.usage.<result>.result", ...}]}], has_more, next_page}`; a result has every
 *   dimension of its endpoint, null where not grouped by it
 * - `GET /v1/organization/costs` (`group_by` line_item, project_id, user_id, api_key_id, api_source; `limit` 1-180)
 *   -> results `{object:"organization.costs.result", amount:{value, currency:"usd"}, line_item, project_id,
 *   user_id, api_key_id, api_source, quantity, quantity_unit}` (quantity in tokens, per line item only)
 * - errors `{error:{message, type, param, code}}`: 401 for an unknown key (the key masked,
 *   or whole with `echoKey`), 403 for a key without usage rights, 400 for bad parameters.
 *
 * Usage is deterministic: each (key seed, day, model, project) gives the same token counts
 * on every call, and costs are that usage at list price: completions tokens, and images, audio, storage, sessions
 * and tool calls at the unit prices of `unitPrices` (tests/standins/_openai_unit_billing.ts). `usage` replaces the
 * generated rows of any endpoint with hand-written ones (at the finest grain; the stand-in sums them per
 * group_by). Test fixture, not product code.
 */
import {
  aggregate,
  bearer,
  decodeCursor,
  encodeCursor,
  type FaultOptions,
  inDays,
  isoDay,
  queryScope,
  scaledToDecimal,
  seededFraction,
  seededInt,
  serveStandIn,
  type StandIn,
} from "../providers/standin_kit.ts";
import { readUnitPrices, unitCostLines } from "./_openai_unit_billing.ts";

/** The admin key accepted when no `keys` are given. */
export const OPENAI_STANDIN_KEY = "sk-admin-standin-0penai-Qm4x9Tz2Lr7Vb1Nc";
/** Default models: chat, small, reasoning and audio. */
export const OPENAI_STANDIN_MODELS = [
  "gpt-4o-2024-08-06",
  "gpt-4o-mini-2024-07-18",
  "o3-mini-2025-01-31",
  "gpt-4o-audio-preview-2024-12-17",
];
/** Default projects. */
export const OPENAI_STANDIN_PROJECTS = ["proj_Wq3x9Ld2Pz7KJt0R", "proj_b7Hk2MnQ4sVx8Yz1"];

/** How a key behaves. */
export interface OpenAIKeyProfile {
  /** Mixed into the usage numbers, so two orgs differ; default "". */
  seed?: string;
  /** false: a valid key without usage rights (403); default true. */
  usage?: boolean;
}

const PER_MODEL = ["project_id", "user_id", "api_key_id", "model"];
const USAGE_DIMENSIONS = [...PER_MODEL, "batch", "service_tier", "api_source"];

/** A usage result at its finest grain (every dimension set), without `object`. */
export type OpenAIStandInRow = Record<string, string | number | boolean | null>;

/** Each Usage API endpoint: its result object name, its group_by dimensions and its default rows of a day. */
const ENDPOINTS: Record<
  string,
  {
    result: string;
    dimensions: string[];
    rows: (seed: string, dayStart: number, projects: string[]) => OpenAIStandInRow[];
  }
> = {
  decisions: perProject("decisions", USAGE_DIMENSIONS, (s) => {
    const input = seededInt(1_000, 50_000, ...s, "in");
    const cached = Math.floor(input / 4);
    return {
      model: "gpt-4o-mini-2024-07-18",
      batch: false,
      service_tier: "default",
      api_source: "unlabeled",
      input_tokens: input,
      input_cached_tokens: cached,
      input_uncached_tokens: input - cached,
      output_tokens: seededInt(100, 9_000, ...s, "out"),
      num_model_requests: seededInt(1, 90, ...s, "req"),
    };
  }),
  embeddings: perProject("embeddings", PER_MODEL, (s) => ({
    model: "text-embedding-3-small",
    input_tokens: seededInt(1_000, 90_000, ...s, "in"),
    num_model_requests: seededInt(5, 300, ...s, "req"),
  })),
  moderations: perProject("moderations", PER_MODEL, (s) => ({
    model: "omni-moderation-latest",
    input_tokens: seededInt(500, 20_000, ...s, "in"),
    num_model_requests: seededInt(5, 200, ...s, "req"),
  })),
  images: perProject("images", [...PER_MODEL, "size", "source"], (s) => ({
    model: "dall-e-3",
    size: "1024x1024",
    source: "image.generation",
    images: seededInt(1, 40, ...s, "images"),
    num_model_requests: seededInt(1, 40, ...s, "req"),
  })),
  audio_speeches: perProject("audio_speeches", PER_MODEL, (s) => ({
    model: "tts-1",
    characters: seededInt(1_000, 60_000, ...s, "chars"),
    num_model_requests: seededInt(1, 50, ...s, "req"),
  })),
  audio_transcriptions: perProject("audio_transcriptions", PER_MODEL, (s) => ({
    model: "whisper-1",
    seconds: seededInt(60, 7_200, ...s, "seconds"),
    num_model_requests: seededInt(1, 50, ...s, "req"),
  })),
  vector_stores: perProject("vector_stores", ["project_id"], (s) => ({
    usage_bytes: seededInt(1_000_000, 900_000_000, ...s, "bytes"),
  })),
  code_interpreter_sessions: perProject("code_interpreter_sessions", ["project_id"], (s) => ({
    num_sessions: seededInt(0, 30, ...s, "sessions"),
  })),
  file_search_calls: perProject("file_searches", ["project_id", "user_id", "api_key_id", "vector_store_id"], (s) => ({
    vector_store_id: `vs_${seededInt(100000, 999999, ...s, "vs")}`,
    num_requests: seededInt(0, 500, ...s, "calls"),
  })),
  web_search_calls: perProject("web_searches", [...PER_MODEL, "context_level", "api_source"], (s) => ({
    model: "gpt-4o-2024-08-06",
    context_level: "medium",
    api_source: "unlabeled",
    num_requests: seededInt(0, 400, ...s, "calls"),
    num_model_requests: seededInt(0, 300, ...s, "req"),
  })),
};

/** An endpoint whose default usage is one row per project and day, its other dimensions null unless `make` sets them. */
function perProject(
  result: string,
  dimensions: string[],
  make: (s: readonly [string, string, string]) => OpenAIStandInRow,
) {
  return {
    result,
    dimensions,
    rows: (seed: string, dayStart: number, projects: string[]) =>
      projects.map((project) => {
        const s = [seed, isoDay(dayStart * 1000), project] as const;
        const base: OpenAIStandInRow = Object.fromEntries(dimensions.map((d) => [d, null]));
        if (dimensions.includes("api_key_id")) base.api_key_id = `key_${seededInt(100000, 999999, seed, project)}`;
        return { ...base, project_id: project, ...make(s) };
      }),
  };
}

/** Options of `startOpenAIStandIn`; fault modes as in `FaultOptions`. */
export interface OpenAIStandInOptions extends FaultOptions {
  /** Accepted keys; default `{[OPENAI_STANDIN_KEY]: {}}`. */
  keys?: Record<string, OpenAIKeyProfile>;
  models?: string[];
  projects?: string[];
  /** Usage exists only on these UTC days (inclusive, `YYYY-MM-DD`); default every day. */
  days?: { from?: string; to?: string };
  /** Put the whole key in 401 messages (a careless provider), to test redaction. */
  echoKey?: boolean;
  /**
   * Hand-written usage of an endpoint other than completions (e.g. `embeddings`) for the UTC day starting at
   * `dayStart` (unix seconds), replacing the generated rows; rows at the finest grain, without `object`.
   */
  usage?: Record<string, (dayStart: number) => OpenAIStandInRow[]>;
  /**
   * The unit-price CSV (seed format) the costs endpoint bills images, audio, storage, sessions and tool calls at;
   * default the product's defaults (configs/openai/seed/data/default_unit_pricing.csv).
   */
  unitPrices?: string | URL;
  /** Bill metered usage at list x (1 + unitMarkup), e.g. 0.1, to show a gap; default 0. */
  unitMarkup?: number;
}

/** A running OpenAI stand-in; pass `baseUrl` as `OPENAI_BASE_URL`. */
export interface OpenAIStandIn extends StandIn {
  readonly baseUrl: string;
}

/** One usage result at model x project grain (before grouping). */
export interface OpenAIUsageRow {
  object: "organization.usage.completions.result";
  input_tokens: number;
  input_cached_tokens: number;
  output_tokens: number;
  input_audio_tokens: number;
  output_audio_tokens: number;
  input_uncached_tokens: number;
  input_text_tokens: number;
  input_image_tokens: number;
  input_cached_text_tokens: number;
  input_cached_audio_tokens: number;
  input_cached_image_tokens: number;
  input_cache_write_tokens: number;
  input_cache_write_30m_tokens: number;
  input_cache_write_12h_tokens: number;
  output_text_tokens: number;
  output_image_tokens: number;
  num_model_requests: number;
  project_id: string | null;
  user_id: string | null;
  api_key_id: string | null;
  model: string | null;
  batch: boolean | null;
  service_tier: string | null;
  api_source: "agents_api" | "unlabeled" | null;
}

const DAY = 86_400;
const COST_DIMENSIONS = ["line_item", "project_id", "user_id", "api_key_id", "api_source"];
/** List prices in micro-dollars per 1M tokens: input, cached input, output, audio in, audio out. */
const PRICES: Record<string, [number, number, number, number, number]> = {
  "gpt-4o-mini": [150_000, 75_000, 600_000, 0, 0],
  "gpt-4o-audio": [2_500_000, 1_250_000, 10_000_000, 40_000_000, 80_000_000],
  "gpt-4o": [2_500_000, 1_250_000, 10_000_000, 0, 0],
  "o3-mini": [1_100_000, 550_000, 4_400_000, 0, 0],
};

/** The deterministic usage of one key profile on one UTC day (`dayStart` unix seconds), per model x project. */
export function openAIUsageRows(
  seed: string,
  dayStart: number,
  models = OPENAI_STANDIN_MODELS,
  projects = OPENAI_STANDIN_PROJECTS,
): OpenAIUsageRow[] {
  const day = isoDay(dayStart * 1000);
  const rows: OpenAIUsageRow[] = [];
  for (const model of models) {
    for (const project of projects) {
      const s = [seed, day, model, project] as const;
      if (seededFraction(...s, "active") < 0.15) continue; // some pairs are idle some days
      const requests = seededInt(20, 900, ...s, "requests");
      const input = requests * seededInt(300, 2_400, ...s, "in");
      const audio = model.includes("audio");
      const cached = Math.floor(input * seededFraction(...s, "cached") * 0.6);
      const output = requests * seededInt(80, 900, ...s, "out");
      const audioIn = audio ? Math.floor(input * 0.3) : 0;
      const audioOut = audio ? Math.min(output, requests * seededInt(20, 200, ...s, "audio")) : 0;
      rows.push({
        object: "organization.usage.completions.result",
        input_tokens: input,
        input_cached_tokens: cached,
        output_tokens: output,
        input_audio_tokens: audioIn,
        output_audio_tokens: audioOut,
        // No cache writes and no images: the uncached input is text and (uncached) audio.
        input_uncached_tokens: input - cached,
        input_text_tokens: input - cached - audioIn,
        input_image_tokens: 0,
        input_cached_text_tokens: cached,
        input_cached_audio_tokens: 0,
        input_cached_image_tokens: 0,
        input_cache_write_tokens: 0,
        input_cache_write_30m_tokens: 0,
        input_cache_write_12h_tokens: 0,
        output_text_tokens: output - audioOut,
        output_image_tokens: 0,
        num_model_requests: requests,
        project_id: project,
        user_id: null,
        api_key_id: `key_${seededInt(100000, 999999, seed, project)}`,
        model,
        batch: false,
        service_tier: "default",
        api_source: "unlabeled",
      });
    }
  }
  return rows;
}

/** A billed line of the stand-in: `units` of 1e-12 dollars for `quantity` tokens. */
export interface OpenAICostLine {
  line_item: string;
  project_id: string | null;
  user_id: string | null;
  api_key_id: string | null;
  api_source: string | null;
  quantity: number;
  /** What `quantity` counts: tokens, images, seconds, ... */
  quantity_unit: string;
  units: bigint;
}

/** Line items of one usage row, as costs reports them, in 1e-12 dollars. */
export function openAICostLines(row: OpenAIUsageRow): OpenAICostLine[] {
  const model = row.model ?? "unknown";
  const key = Object.keys(PRICES).find((p) => model.startsWith(p));
  const [pin, pcached, pout, paudioIn, paudioOut] = key ? PRICES[key]! : [1_000_000, 500_000, 4_000_000, 0, 0];
  const textIn = row.input_tokens - row.input_cached_tokens - row.input_audio_tokens;
  const lines: [string, number, number][] = [
    ["input", textIn, pin],
    ["cached input", row.input_cached_tokens, pcached],
    ["output", row.output_tokens - row.output_audio_tokens, pout],
    ["audio input", row.input_audio_tokens, paudioIn],
    ["audio output", row.output_audio_tokens, paudioOut],
  ];
  return lines.filter(([, tokens]) => tokens > 0).map(([item, tokens, price]) => ({
    line_item: `${model}, ${item}`,
    project_id: row.project_id,
    user_id: row.user_id,
    api_key_id: row.api_key_id,
    api_source: row.api_source,
    quantity: tokens,
    quantity_unit: "tokens",
    units: BigInt(tokens) * BigInt(price),
  }));
}

/** Starts the stand-in on a random local port. */
export function startOpenAIStandIn(options: OpenAIStandInOptions = {}): OpenAIStandIn {
  const { keys = { [OPENAI_STANDIN_KEY]: {} }, models, projects, days, echoKey, usage = {}, ...rest } = options;
  const { unitPrices, unitMarkup = 0, ...faults } = rest;
  const prices = readUnitPrices(unitPrices);
  /** The rows an endpoint other than completions serves for a day. */
  const endpointRows = (name: string, seed: string, start: number) =>
    usage[name]?.(start) ?? ENDPOINTS[name]!.rows(seed, start, projects ?? OPENAI_STANDIN_PROJECTS);
  const standIn = serveStandIn({ ...faults }, openAIError, (req, rec) => {
    const key = bearer(req);
    if (key === undefined) {
      return openAIError(
        401,
        "invalid_request_error",
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
      );
    }
    const profile = keys[key];
    if (profile === undefined) {
      const shown = echoKey ? key : `${key.slice(0, 3)}${"*".repeat(Math.max(0, key.length - 7))}${key.slice(-4)}`;
      return openAIError(
        401,
        "invalid_request_error",
        `Incorrect API key provided: ${shown}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        "invalid_api_key",
      );
    }
    const usagePath = /^\/v1\/organization\/usage\/([a-z_]+)$/.exec(rec.path)?.[1];
    const endpoint = usagePath === undefined || usagePath === "completions" ? undefined : ENDPOINTS[usagePath];
    const known = rec.path === "/v1/organization/costs" || usagePath === "completions" || endpoint !== undefined;
    if (req.method !== "GET" || !known) {
      return openAIError(404, "invalid_request_error", `Invalid URL (${req.method} ${rec.path})`);
    }
    if (profile.usage === false) {
      return openAIError(
        403,
        "invalid_request_error",
        "You have insufficient permissions for this operation. Missing scopes: api.usage.read. Check that you have the correct role in your organization (Owner), and if you're using a restricted API key, that it has the necessary scopes.",
      );
    }
    const costs = rec.path.endsWith("/costs");
    const params = new URLSearchParams(rec.query);
    // Repeated `group_by`, or `group_by[]` as the official SDK sends it.
    const groupBy = [...params.getAll("group_by"), ...params.getAll("group_by[]")];
    const allowed = costs ? COST_DIMENSIONS : endpoint?.dimensions ?? USAGE_DIMENSIONS;
    const startTime = Number(params.get("start_time"));
    const endTime = params.has("end_time") ? Number(params.get("end_time")) : Math.floor(Date.now() / 1000);
    const limit = params.has("limit") ? Number(params.get("limit")) : 7;
    const width = params.get("bucket_width") ?? "1d";
    const bad = !params.has("start_time") || !Number.isInteger(startTime)
      ? ["start_time", "Missing or invalid required parameter: 'start_time'."]
      : !Number.isInteger(endTime) || endTime <= startTime
      ? ["end_time", "'end_time' must be after 'start_time'."]
      : width !== "1d"
      ? ["bucket_width", `Invalid value for 'bucket_width': the stand-in only serves '1d', got '${width}'.`]
      : !Number.isInteger(limit) || limit < 1 || limit > (costs ? 180 : 31)
      ? ["limit", `Invalid value for 'limit': must be between 1 and ${costs ? 180 : 31}.`]
      : groupBy.find((g) => !allowed.includes(g)) !== undefined
      ? ["group_by", `Invalid value for 'group_by': must be one of ${allowed.join(", ")}.`]
      : undefined;
    if (bad) return openAIError(400, "invalid_request_error", bad[1]!, null, bad[0]!);

    const first = Math.floor(startTime / DAY) * DAY;
    const total = Math.ceil((endTime - first) / DAY);
    const scope = queryScope(rec.path, rec.query);
    const cursor = params.get("page");
    const offset = cursor === null ? 0 : decodeCursor("page_", scope, cursor);
    if (offset === undefined) return openAIError(400, "invalid_request_error", "Invalid 'page' cursor.", null, "page");
    const seed = profile.seed ?? "";
    const data = [];
    for (let i = offset; i < Math.min(total, offset + limit); i++) {
      const start = first + i * DAY;
      const active = inDays(isoDay(start * 1000), days);
      if (endpoint !== undefined) {
        const rows = active ? endpointRows(usagePath!, seed, start) : [];
        const results = aggregate(rows, groupBy, endpoint.dimensions)
          .map((r) => ({ object: `organization.usage.${endpoint.result}.result`, ...r }));
        data.push({ object: "bucket", start_time: start, end_time: start + DAY, results });
        continue;
      }
      const rows = active ? openAIUsageRows(seed, start, models, projects) : [];
      const metered = costs && active
        ? Object.keys(ENDPOINTS).flatMap((name) =>
          unitCostLines(name, endpointRows(name, seed, start), start, prices, unitMarkup)
        )
        : [];
      const results = costs ? costResults(rows, metered, groupBy) : aggregate(rows, groupBy, USAGE_DIMENSIONS);
      data.push({ object: "bucket", start_time: start, end_time: start + DAY, results });
    }
    const hasMore = offset + limit < total;
    return Response.json({
      object: "page",
      data,
      has_more: hasMore,
      next_page: hasMore ? encodeCursor("page_", scope, offset + limit) : null,
    });
  });
  return Object.assign(standIn, { baseUrl: `${standIn.url}/v1` });
}

function costResults(rows: OpenAIUsageRow[], metered: OpenAICostLine[], groupBy: string[]) {
  const lines = aggregate([...rows.flatMap(openAICostLines), ...metered], groupBy, COST_DIMENSIONS);
  const byLine = groupBy.includes("line_item");
  return lines.map((line) => ({
    object: "organization.costs.result",
    amount: { value: Number(scaledToDecimal(line.units, 12)), currency: "usd" },
    line_item: line.line_item,
    project_id: line.project_id,
    user_id: line.user_id,
    api_key_id: line.api_key_id,
    api_source: line.api_source,
    // A quantity and its unit are given per line item only.
    quantity: byLine ? line.quantity : null,
    quantity_unit: byLine ? line.quantity_unit : null,
  }));
}

/** An OpenAI error answer. */
export function openAIError(
  status: number,
  type: string,
  message: string,
  code: string | null = null,
  param: string | null = null,
): Response {
  const kind = type === "server" ? "server_error" : type === "rate_limit" ? "requests" : type;
  const errorCode = type === "rate_limit" ? "rate_limit_exceeded" : code;
  return Response.json({ error: { message, type: kind, param, code: errorCode } }, { status });
}
