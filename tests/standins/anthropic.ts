/**
 * A local stand-in for Anthropic's Admin Usage and Cost APIs, in the published shapes:
 *
 * - `GET /v1/organizations/usage_report/messages` (`starting_at`, `ending_at` RFC 3339,
 *   `bucket_width=1d`, `group_by[]`, `limit` 1-31, `page`) -> `{data:[{starting_at, ending_at,
 *   results:[{uncached_input_tokens, cache_creation:{ephemeral_5m_input_tokens,
 *   ephemeral_1h_input_tokens}, cache_read_input_tokens, output_tokens, server_tool_use,
 *   api_key_id, workspace_id, model, service_tier, context_window}]}], has_more, next_page}`
 * - `GET /v1/organizations/cost_report` (`group_by[]` workspace_id/description) -> results
 *   `{currency:"USD", amount:"<decimal cents>", workspace_id, description, cost_type,
 *   context_window, model, service_tier, token_type}`
 * - requires `x-api-key` and `anthropic-version`; errors `{type:"error", error:{type, message}, request_id}`.
 *
 * Deterministic per (key seed, day, model, workspace); costs are those tokens at list
 * price, computed exactly in cents. Test fixture, not product code.
 */
import {
  aggregate,
  decodeCursor,
  encodeCursor,
  type FaultOptions,
  hash32,
  inDays,
  isoDay,
  queryScope,
  scaledToDecimal,
  seededFraction,
  seededInt,
  serveStandIn,
  type StandIn,
} from "../providers/standin_kit.ts";

/** The admin key accepted when no `keys` are given. */
export const ANTHROPIC_STANDIN_KEY = "sk-ant-admin01-standin-Xp3Lq8Rt2Wv6Yn9Bc4Df";
/** Default models. */
export const ANTHROPIC_STANDIN_MODELS = [
  "claude-sonnet-4-20250514",
  "claude-3-5-haiku-20241022",
  "claude-opus-4-20250514",
];
/** Default workspaces; null is the organization's default workspace. */
export const ANTHROPIC_STANDIN_WORKSPACES: (string | null)[] = [null, "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ"];

/** How a key behaves. */
export interface AnthropicKeyProfile {
  /** Mixed into the usage numbers; default "". */
  seed?: string;
  /** false: a valid key that is not an Admin key (403 permission_error); default true. */
  usage?: boolean;
}

/** Options of `startAnthropicStandIn`; fault modes as in `FaultOptions`. */
export interface AnthropicStandInOptions extends FaultOptions {
  /** Accepted keys; default `{[ANTHROPIC_STANDIN_KEY]: {}}`. */
  keys?: Record<string, AnthropicKeyProfile>;
  models?: string[];
  workspaces?: (string | null)[];
  /** Usage exists only on these UTC days (inclusive); default every day. */
  days?: { from?: string; to?: string };
  /** Put the whole key in 401 messages, to test redaction. */
  echoKey?: boolean;
}

/** A running Anthropic stand-in; pass `baseUrl` as `ANTHROPIC_BASE_URL`. */
export interface AnthropicStandIn extends StandIn {
  readonly baseUrl: string;
}

/** One usage result at model x workspace grain. */
export interface AnthropicUsageRow {
  uncached_input_tokens: number;
  cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
  cache_read_input_tokens: number;
  output_tokens: number;
  server_tool_use: { web_search_requests: number };
  api_key_id: string | null;
  workspace_id: string | null;
  model: string | null;
  service_tier: string | null;
  context_window: string | null;
}

const DAY_MS = 86_400_000;
const USAGE_DIMENSIONS = ["api_key_id", "workspace_id", "model", "service_tier", "context_window"];
const COST_DIMENSIONS = [
  "workspace_id",
  "description",
  "cost_type",
  "context_window",
  "model",
  "service_tier",
  "token_type",
];
const DESCRIBED = ["description", "cost_type", "context_window", "model", "service_tier", "token_type"];
/** List prices in cents per 1M tokens: input, output, cache read, 5m write, 1h write. */
const PRICES: Record<string, [string, number, number, number, number, number]> = {
  "claude-opus-4": ["Claude Opus 4", 1500, 7500, 150, 1875, 3000],
  "claude-sonnet-4": ["Claude Sonnet 4", 300, 1500, 30, 375, 600],
  "claude-3-5-haiku": ["Claude Haiku 3.5", 80, 400, 8, 100, 160],
};
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** The deterministic usage of one key profile on one UTC day, per model x workspace. */
export function anthropicUsageRows(
  seed: string,
  day: string,
  models = ANTHROPIC_STANDIN_MODELS,
  workspaces = ANTHROPIC_STANDIN_WORKSPACES,
): AnthropicUsageRow[] {
  const rows: AnthropicUsageRow[] = [];
  for (const model of models) {
    for (const workspace of workspaces) {
      const s = [seed, day, model, workspace] as const;
      if (seededFraction(...s, "active") < 0.15) continue;
      const requests = seededInt(15, 700, ...s, "requests");
      rows.push({
        uncached_input_tokens: requests * seededInt(200, 1_800, ...s, "in"),
        cache_creation: {
          ephemeral_5m_input_tokens: requests * seededInt(0, 400, ...s, "5m"),
          ephemeral_1h_input_tokens: seededFraction(...s, "1h?") < 0.5 ? 0 : requests * seededInt(0, 300, ...s, "1h"),
        },
        cache_read_input_tokens: requests * seededInt(0, 2_500, ...s, "read"),
        output_tokens: requests * seededInt(60, 1_200, ...s, "out"),
        server_tool_use: { web_search_requests: seededFraction(...s, "ws?") < 0.7 ? 0 : seededInt(1, 40, ...s, "ws") },
        api_key_id: `apikey_01${(hash32(seed, workspace) % 1e12).toString(36).padStart(8, "0")}`,
        workspace_id: workspace,
        model,
        service_tier: "standard",
        context_window: "0-200k",
      });
    }
  }
  return rows;
}

/** The cost lines of one usage row, in 1e-6 cents. */
export function anthropicCostLines(row: AnthropicUsageRow) {
  const model = row.model ?? "unknown";
  const key = Object.keys(PRICES).find((p) => model.startsWith(p));
  const [name, pin, pout, pread, p5m, p1h] = key ? PRICES[key]! : [model, 300, 1500, 30, 375, 600];
  const tokenLines: [string, string, number, number][] = [
    ["Input Tokens", "uncached_input_tokens", row.uncached_input_tokens, pin],
    ["Output Tokens", "output_tokens", row.output_tokens, pout],
    ["Input Tokens, Cache Hit", "cache_read_input_tokens", row.cache_read_input_tokens, pread],
    [
      "Input Tokens, 5m Cache Write",
      "cache_creation.ephemeral_5m_input_tokens",
      row.cache_creation.ephemeral_5m_input_tokens,
      p5m,
    ],
    [
      "Input Tokens, 1h Cache Write",
      "cache_creation.ephemeral_1h_input_tokens",
      row.cache_creation.ephemeral_1h_input_tokens,
      p1h,
    ],
  ];
  const common = {
    workspace_id: row.workspace_id,
    context_window: row.context_window,
    model,
    service_tier: row.service_tier,
  };
  const lines = tokenLines.filter(([, , tokens]) => tokens > 0).map(([label, tokenType, tokens, price]) => ({
    ...common,
    description: `${name} Usage - ${label}`,
    cost_type: "tokens",
    token_type: tokenType as string | null,
    units: BigInt(tokens) * BigInt(price), // cents x 1e-6
  }));
  const searches = row.server_tool_use.web_search_requests;
  if (searches > 0) {
    // $10 per 1000 searches = 1 cent each.
    lines.push({
      ...common,
      description: "Web Search",
      cost_type: "web_search",
      token_type: null,
      units: BigInt(searches) * 1_000_000n,
    });
  }
  return lines;
}

/** Starts the stand-in on a random local port. */
export function startAnthropicStandIn(options: AnthropicStandInOptions = {}): AnthropicStandIn {
  const { keys = { [ANTHROPIC_STANDIN_KEY]: {} }, models, workspaces, days, echoKey, ...faults } = options;
  const standIn = serveStandIn(
    { ...faults },
    (status, kind, message) =>
      anthropicError(
        status,
        kind === "rate_limit" ? "rate_limit_error" : status === 503 ? "overloaded_error" : "api_error",
        message,
      ),
    (req, rec) => {
      const key = req.headers.get("x-api-key");
      if (key === null) return anthropicError(401, "authentication_error", "x-api-key header is required");
      const profile = keys[key];
      if (profile === undefined) {
        return anthropicError(
          401,
          "authentication_error",
          echoKey ? `invalid x-api-key: ${key}` : "invalid x-api-key",
        );
      }
      if (!req.headers.get("anthropic-version")) {
        return anthropicError(
          400,
          "invalid_request_error",
          "anthropic-version: header is required",
        );
      }
      const route = `${req.method} ${rec.path}`;
      const costs = route === "GET /v1/organizations/cost_report";
      if (!costs && route !== "GET /v1/organizations/usage_report/messages") {
        return anthropicError(404, "not_found_error", `Not found: ${rec.path}`);
      }
      if (profile.usage === false) {
        return anthropicError(
          403,
          "permission_error",
          "This API key does not have permission to access the Admin API. Use an Admin API key (sk-ant-admin...).",
        );
      }
      const params = new URLSearchParams(rec.query);
      const groupBy = params.getAll("group_by[]");
      const allowed = costs ? ["workspace_id", "description"] : USAGE_DIMENSIONS;
      const startingAt = params.get("starting_at") ?? "";
      const endingAt = params.get("ending_at");
      const start = Date.parse(startingAt);
      const end = endingAt === null ? Date.now() : Date.parse(endingAt);
      const limit = params.has("limit") ? Number(params.get("limit")) : 7;
      const width = params.get("bucket_width") ?? "1d";
      const bad = !RFC3339.test(startingAt) || Number.isNaN(start)
        ? "starting_at: must be an RFC 3339 timestamp"
        : endingAt !== null && (!RFC3339.test(endingAt) || !(end > start))
        ? "ending_at: must be an RFC 3339 timestamp after starting_at"
        : width !== "1d"
        ? `bucket_width: the stand-in only serves '1d', got '${width}'`
        : !Number.isInteger(limit) || limit < 1 || limit > 31
        ? "limit: must be between 1 and 31"
        : groupBy.find((g) => !allowed.includes(g)) !== undefined
        ? `group_by[]: must be one of ${allowed.join(", ")}`
        : undefined;
      if (bad) return anthropicError(400, "invalid_request_error", bad);

      const first = Math.floor(start / DAY_MS) * DAY_MS;
      const total = Math.ceil((end - first) / DAY_MS);
      const scope = queryScope(rec.path, rec.query);
      const cursor = params.get("page");
      const offset = cursor === null ? 0 : decodeCursor("page_", scope, cursor);
      if (offset === undefined) return anthropicError(400, "invalid_request_error", "page: invalid cursor");
      const data = [];
      for (let i = offset; i < Math.min(total, offset + limit); i++) {
        const at = first + i * DAY_MS;
        const day = isoDay(at);
        const rows = inDays(day, days) ? anthropicUsageRows(profile.seed ?? "", day, models, workspaces) : [];
        const results = costs ? costResults(rows, groupBy) : aggregate(rows, groupBy, USAGE_DIMENSIONS);
        data.push({ starting_at: `${day}T00:00:00Z`, ending_at: `${isoDay(at + DAY_MS)}T00:00:00Z`, results });
      }
      const hasMore = offset + limit < total;
      return Response.json({
        data,
        has_more: hasMore,
        next_page: hasMore ? encodeCursor("page_", scope, offset + limit) : null,
      });
    },
  );
  return Object.assign(standIn, { baseUrl: standIn.url });
}

function costResults(rows: AnthropicUsageRow[], groupBy: string[]) {
  const keys = groupBy.includes("description") ? [...new Set([...groupBy, ...DESCRIBED])] : groupBy;
  return aggregate(rows.flatMap(anthropicCostLines), keys, COST_DIMENSIONS).map(({ units, ...rest }) => ({
    currency: "USD",
    amount: scaledToDecimal(units, 6),
    ...rest,
  }));
}

/** An Anthropic error answer. */
export function anthropicError(status: number, type: string, message: string): Response {
  const requestId = `req_011CStandIn${hash32(type, message, status).toString(36)}`;
  return Response.json({ type: "error", error: { type, message }, request_id: requestId }, { status });
}
