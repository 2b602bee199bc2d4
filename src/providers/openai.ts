/**
 * OpenAI organization usage and costs (Admin key, `Authorization: Bearer`): every
 * `GET /organization/usage/<endpoint>` of `OPENAI_USAGE_ENDPOINTS` and `GET /organization/costs`, as documented at
 * https://platform.openai.com/docs/api-reference/usage.
 */
import { z } from "zod";
import { baseUrlDefault } from "./catalogue.ts";
import { type ErrorHint, ProviderHttp, type ProviderHttpOptions } from "./http.ts";
import { endpointUrl, paginate, parseBaseUrl } from "./_paging.ts";
import {
  bucketPageSchema,
  OPENAI_USAGE_ENDPOINTS,
  type OpenAIUsageEndpoint,
  type OpenAIUsageEndpointGroupBy,
  type OpenAIUsageEndpointPage,
  usagePath,
} from "./openai_usage.ts";

/** Default API root (`OPENAI_BASE_URL`). */
export const OPENAI_BASE_URL: string = baseUrlDefault("openai");
const PROVIDER = "OpenAI";
const USAGE = usagePath("completions");
const COSTS = "/organization/costs";
const DAY = 86_400;

// Absent and null both read as null; `.default(null)` rather than a transform keeps zod on its fast path
// (pages can hold many thousands of results).
const nullableString = z.string().nullable().default(null);

/** One group in a completions bucket. `input_tokens` includes `input_cached_tokens` and cache-write tokens. */
export const openAIUsageResultSchema = OPENAI_USAGE_ENDPOINTS.completions.resultSchema;

/**
 * One group in a costs bucket; `amount.value` is in dollars as a JSON number. `quantity` (in `quantity_unit`:
 * tokens, images, characters, duration_seconds, gibibyte_hours, ...) is given when grouped by line item.
 */
export const openAICostResultSchema = z.object({
  object: z.literal("organization.costs.result").optional(),
  amount: z.object({ value: z.number(), currency: z.string().min(1) }),
  line_item: nullableString,
  project_id: nullableString,
  user_id: nullableString,
  api_key_id: nullableString,
  api_source: nullableString,
  quantity: z.number().nullable().default(null),
  quantity_unit: nullableString,
});

/** Costs dimensions OpenAI can group by. */
export const OPENAI_COSTS_GROUP_BY = ["line_item", "project_id", "user_id", "api_key_id", "api_source"] as const;

/** A page of `/organization/usage/completions`. */
export const openAIUsagePageSchema = OPENAI_USAGE_ENDPOINTS.completions.pageSchema;
/** A page of `/organization/costs`. */
export const openAICostsPageSchema = bucketPageSchema(openAICostResultSchema);

export type OpenAIUsageResult = z.output<typeof openAIUsageResultSchema>;
export type OpenAICostResult = z.output<typeof openAICostResultSchema>;
export type OpenAIUsagePage = z.output<typeof openAIUsagePageSchema>;
export type OpenAICostsPage = z.output<typeof openAICostsPageSchema>;
export type OpenAIUsageBucket = OpenAIUsagePage["data"][number];
export type OpenAICostsBucket = OpenAICostsPage["data"][number];

/** Completions usage dimensions OpenAI can group by. */
export type OpenAIUsageGroupBy = OpenAIUsageEndpointGroupBy<"completions">;

/** Query for `usage` (any endpoint) and `usageCompletions`; times are unix seconds, `end` exclusive. */
export interface OpenAIUsageQuery<G extends string = OpenAIUsageGroupBy> {
  start: number;
  end?: number;
  bucketWidth?: "1m" | "1h" | "1d";
  groupBy?: readonly G[];
  /** Buckets per page; 1d: 1-31 (default 7), 1h: 1-168, 1m: 1-1440. */
  limit?: number;
  projectIds?: readonly string[];
  models?: readonly string[];
}

/** Query for `costs`; only 1d buckets exist. */
export interface OpenAICostsQuery {
  start: number;
  end?: number;
  groupBy?: readonly (typeof OPENAI_COSTS_GROUP_BY)[number][];
  /** Buckets per page, 1-180 (default 7). */
  limit?: number;
  projectIds?: readonly string[];
}

/** Options of an `OpenAIClient`. */
export interface OpenAIClientOptions extends ProviderHttpOptions {
  /** Organization Admin key. */
  apiKey: string;
  /** API root, default `https://api.openai.com/v1`. */
  baseUrl?: string;
  /** Shared transport; built from the other options when absent. */
  http?: ProviderHttp;
}

const USAGE_LIMITS = { "1m": 1440, "1h": 168, "1d": 31 } as const;
const ADMIN_KEY_NEEDED: ErrorHint = {
  kind: "forbidden",
  detail: "an organization Admin key is needed (this key has no usage rights)",
};

/** Reads an organization's usage (every endpoint) and costs with an Admin key. */
export class OpenAIClient {
  readonly #apiKey: string;
  readonly #base: URL;
  readonly #http: ProviderHttp;
  readonly #now: () => number;

  constructor(options: OpenAIClientOptions) {
    if (!options.apiKey) throw new TypeError("OpenAI apiKey is required");
    this.#apiKey = options.apiKey;
    this.#base = parseBaseUrl(PROVIDER, options.baseUrl ?? OPENAI_BASE_URL);
    this.#http = options.http ?? new ProviderHttp(options);
    this.#now = options.now ?? Date.now;
  }

  /**
   * Checks the key with the cheapest read of the usage endpoint it will be used for
   * (one 1d bucket of the last day).
   * @throws {ProviderError} `unauthorized` for an invalid key, `forbidden` for a key without usage rights
   */
  async validateAdminKey(): Promise<void> {
    const start = Math.floor(this.#now() / 1000) - DAY;
    await this.#get(USAGE, { start_time: start, bucket_width: "1d", limit: 1 }, openAIUsagePageSchema);
  }

  /**
   * Pages of completions usage from `start` (inclusive) to `end` (exclusive), following `next_page`.
   * @throws {ProviderError} on any failed page; {RangeError} for a bad query
   */
  usageCompletions(query: OpenAIUsageQuery): AsyncGenerator<OpenAIUsagePage, void, undefined> {
    return this.usage("completions", query);
  }

  /**
   * Pages of one Usage API endpoint (`GET /organization/usage/<endpoint>`) from `start` (inclusive) to `end`
   * (exclusive), following `next_page`; each page is checked against that endpoint's result schema.
   * `models` is sent only where the endpoint filters by model.
   * @throws {ProviderError} on any failed page; {RangeError} for a bad query
   */
  usage<E extends OpenAIUsageEndpoint>(
    endpoint: E,
    query: OpenAIUsageQuery<OpenAIUsageEndpointGroupBy<E>>,
  ): AsyncGenerator<OpenAIUsageEndpointPage<E>, void, undefined> {
    const width = query.bucketWidth ?? "1d";
    checkRange(query.start, query.end);
    checkLimit(query.limit, USAGE_LIMITS[width]);
    const path = usagePath(endpoint);
    const schema = OPENAI_USAGE_ENDPOINTS[endpoint].pageSchema as unknown as z.ZodType<OpenAIUsageEndpointPage<E>>;
    const params = {
      start_time: query.start,
      end_time: query.end,
      bucket_width: width,
      group_by: query.groupBy,
      limit: query.limit,
      project_ids: query.projectIds,
      models: query.models,
    };
    return paginate(
      { provider: PROVIDER, endpoint: `GET ${path}` },
      (page) => this.#get(path, { ...params, page }, schema),
    );
  }

  /**
   * Pages of daily costs from `start` (inclusive) to `end` (exclusive), following `next_page`.
   * @throws {ProviderError} on any failed page; {RangeError} for a bad query
   */
  costs(query: OpenAICostsQuery): AsyncGenerator<OpenAICostsPage, void, undefined> {
    checkRange(query.start, query.end);
    checkLimit(query.limit, 180);
    const params = {
      start_time: query.start,
      end_time: query.end,
      bucket_width: "1d",
      group_by: query.groupBy,
      limit: query.limit,
      project_ids: query.projectIds,
    };
    return paginate(
      { provider: PROVIDER, endpoint: `GET ${COSTS}` },
      (page) => this.#get(COSTS, { ...params, page }, openAICostsPageSchema),
    );
  }

  #get<S extends z.ZodType>(
    path: string,
    query: Parameters<typeof endpointUrl>[2],
    schema: S,
  ): Promise<z.output<S>> {
    return this.#http.request({
      provider: PROVIDER,
      endpoint: `GET ${path}`,
      url: endpointUrl(this.#base, path, query),
      origin: this.#base.origin,
      headers: { authorization: `Bearer ${this.#apiKey}` },
      schema,
      secrets: [this.#apiKey],
      onErrorStatus: (status) => (status === 403 ? ADMIN_KEY_NEEDED : undefined),
    });
  }
}

function checkRange(start: number, end: number | undefined): void {
  if (!Number.isInteger(start) || start < 0) throw new RangeError(`start must be unix seconds, got ${start}`);
  if (end !== undefined && (!Number.isInteger(end) || end <= start)) {
    throw new RangeError(`end must be unix seconds after start, got ${end}`);
  }
}

function checkLimit(limit: number | undefined, max: number): void {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > max)) {
    throw new RangeError(`limit must be 1-${max}, got ${limit}`);
  }
}
