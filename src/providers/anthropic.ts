/**
 * Anthropic Admin API usage and cost reports (headers `x-api-key`,
 * `anthropic-version: 2023-06-01`): `GET /v1/organizations/usage_report/messages` and
 * `GET /v1/organizations/cost_report`, as documented at https://docs.anthropic.com/en/api/usage-cost-api.
 */
import { z } from "zod";
import { baseUrlDefault } from "./catalogue.ts";
import { type ErrorHint, ProviderHttp, type ProviderHttpOptions } from "./http.ts";
import { endpointUrl, paginate, parseBaseUrl } from "./_paging.ts";
import { isDecimalString } from "./decimal.ts";

export { centsToDollars } from "./decimal.ts";

/** Default API root (`ANTHROPIC_BASE_URL`). */
export const ANTHROPIC_BASE_URL: string = baseUrlDefault("anthropic");
/** The `anthropic-version` header sent on every call. */
export const ANTHROPIC_VERSION = "2023-06-01";
const PROVIDER = "Anthropic";
const USAGE = "/v1/organizations/usage_report/messages";
const COSTS = "/v1/organizations/cost_report";

const count = z.number().int().nonnegative();
const nullableString = z.string().nullish().transform((v) => v ?? null);
const timestamp = z.string().refine((s) => !Number.isNaN(Date.parse(s)), "expected an RFC 3339 timestamp");

/** One group in a usage bucket; total input = uncached + cache reads + both cache writes. */
export const anthropicUsageResultSchema = z.object({
  uncached_input_tokens: count,
  cache_creation: z.object({ ephemeral_5m_input_tokens: count, ephemeral_1h_input_tokens: count }),
  cache_read_input_tokens: count,
  output_tokens: count,
  server_tool_use: z.object({ web_search_requests: count }).nullish().transform((v) => v ?? null),
  model: nullableString,
  workspace_id: nullableString,
  api_key_id: nullableString,
  service_tier: nullableString,
  context_window: nullableString,
});

/** One group in a cost bucket; `amount` is a decimal string in CENTS (see `centsToDollars`). */
export const anthropicCostResultSchema = z.object({
  currency: z.string().min(1),
  amount: z.string().refine(isDecimalString, "expected a decimal string"),
  workspace_id: nullableString,
  description: nullableString,
  cost_type: nullableString,
  context_window: nullableString,
  model: nullableString,
  service_tier: nullableString,
  token_type: nullableString,
});

function pageSchema<R extends z.ZodType>(result: R) {
  const bucket = z.object({ starting_at: timestamp, ending_at: timestamp, results: z.array(result) });
  return z.object({ data: z.array(bucket), has_more: z.boolean(), next_page: z.string().nullish() });
}

/** A page of `usage_report/messages`. */
export const anthropicUsagePageSchema = pageSchema(anthropicUsageResultSchema);
/** A page of `cost_report`. */
export const anthropicCostPageSchema = pageSchema(anthropicCostResultSchema);

export type AnthropicUsageResult = z.output<typeof anthropicUsageResultSchema>;
export type AnthropicCostResult = z.output<typeof anthropicCostResultSchema>;
export type AnthropicUsagePage = z.output<typeof anthropicUsagePageSchema>;
export type AnthropicCostPage = z.output<typeof anthropicCostPageSchema>;
export type AnthropicUsageBucket = AnthropicUsagePage["data"][number];
export type AnthropicCostBucket = AnthropicCostPage["data"][number];

/** Usage dimensions Anthropic can group by. */
export type AnthropicUsageGroupBy = "model" | "workspace_id" | "api_key_id" | "service_tier" | "context_window";

/** Query for `usageReport`; `endingAt` exclusive. Strings must be RFC 3339. */
export interface AnthropicUsageQuery {
  startingAt: string | Date;
  endingAt?: string | Date;
  bucketWidth?: "1m" | "1h" | "1d";
  groupBy?: readonly AnthropicUsageGroupBy[];
  /** Buckets per page; 1d: 1-31 (default 7), 1h: 1-168, 1m: 1-1440. */
  limit?: number;
}

/** Query for `costReport`; only 1d buckets exist. */
export interface AnthropicCostQuery {
  startingAt: string | Date;
  endingAt?: string | Date;
  groupBy?: readonly ("workspace_id" | "description")[];
  /** Buckets per page, 1-31 (default 7). */
  limit?: number;
}

/** Options of an `AnthropicClient`. */
export interface AnthropicClientOptions extends ProviderHttpOptions {
  /** Admin API key. */
  apiKey: string;
  /** API root, default `https://api.anthropic.com`. */
  baseUrl?: string;
  /** Shared transport; built from the other options when absent. */
  http?: ProviderHttp;
}

const USAGE_LIMITS = { "1m": 1440, "1h": 168, "1d": 31 } as const;
const ADMIN_KEY_NEEDED: ErrorHint = {
  kind: "forbidden",
  detail: "an Admin API key is needed (this key has no usage report rights)",
};
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Reads an organization's message usage and costs with an Admin API key. */
export class AnthropicClient {
  readonly #apiKey: string;
  readonly #base: URL;
  readonly #http: ProviderHttp;
  readonly #now: () => number;

  constructor(options: AnthropicClientOptions) {
    if (!options.apiKey) throw new TypeError("Anthropic apiKey is required");
    this.#apiKey = options.apiKey;
    this.#base = parseBaseUrl(PROVIDER, options.baseUrl ?? ANTHROPIC_BASE_URL);
    this.#http = options.http ?? new ProviderHttp(options);
    this.#now = options.now ?? Date.now;
  }

  /**
   * Checks the key with the cheapest read of the usage report (one 1d bucket of the last day).
   * @throws {ProviderError} `unauthorized` for an invalid key, `forbidden` for a non-admin key
   */
  async validateAdminKey(): Promise<void> {
    const day = new Date(Math.floor(this.#now() / 86_400_000) * 86_400_000 - 86_400_000);
    await this.#get(USAGE, { starting_at: rfc3339(day), bucket_width: "1d", limit: 1 }, anthropicUsagePageSchema);
  }

  /**
   * Pages of message usage from `startingAt` to `endingAt`, following `next_page`.
   * @throws {ProviderError} on any failed page; {RangeError} for a bad query
   */
  usageReport(query: AnthropicUsageQuery): AsyncGenerator<AnthropicUsagePage, void, undefined> {
    const width = query.bucketWidth ?? "1d";
    checkLimit(query.limit, USAGE_LIMITS[width]);
    const params = {
      starting_at: rfc3339(query.startingAt),
      ending_at: query.endingAt === undefined ? undefined : rfc3339(query.endingAt),
      bucket_width: width,
      "group_by[]": query.groupBy,
      limit: query.limit,
    };
    return paginate(
      { provider: PROVIDER, endpoint: `GET ${USAGE}` },
      (page) => this.#get(USAGE, { ...params, page }, anthropicUsagePageSchema),
    );
  }

  /**
   * Pages of daily costs (amounts in cents) from `startingAt` to `endingAt`, following `next_page`.
   * @throws {ProviderError} on any failed page; {RangeError} for a bad query
   */
  costReport(query: AnthropicCostQuery): AsyncGenerator<AnthropicCostPage, void, undefined> {
    checkLimit(query.limit, 31);
    const params = {
      starting_at: rfc3339(query.startingAt),
      ending_at: query.endingAt === undefined ? undefined : rfc3339(query.endingAt),
      bucket_width: "1d",
      "group_by[]": query.groupBy,
      limit: query.limit,
    };
    return paginate(
      { provider: PROVIDER, endpoint: `GET ${COSTS}` },
      (page) => this.#get(COSTS, { ...params, page }, anthropicCostPageSchema),
    );
  }

  #get<S extends z.ZodType>(path: string, query: Parameters<typeof endpointUrl>[2], schema: S): Promise<z.output<S>> {
    return this.#http.request({
      provider: PROVIDER,
      endpoint: `GET ${path}`,
      url: endpointUrl(this.#base, path, query),
      origin: this.#base.origin,
      headers: { "x-api-key": this.#apiKey, "anthropic-version": ANTHROPIC_VERSION },
      schema,
      secrets: [this.#apiKey],
      onErrorStatus: (status) => (status === 403 ? ADMIN_KEY_NEEDED : undefined),
    });
  }
}

/** A Date as `2025-01-31T00:00:00Z`; a string is checked to be RFC 3339 and passed as is. */
function rfc3339(value: string | Date): string {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new RangeError("Invalid date");
    return value.toISOString().replace(/\.000Z$/, "Z");
  }
  if (!RFC3339.test(value) || Number.isNaN(Date.parse(value))) {
    throw new RangeError(`"${value}" is not an RFC 3339 timestamp`);
  }
  return value;
}

function checkLimit(limit: number | undefined, max: number): void {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > max)) {
    throw new RangeError(`limit must be 1-${max}, got ${limit}`);
  }
}
