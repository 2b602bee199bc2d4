/**
 * The endpoints of OpenAI's organization Usage API (`GET /organization/usage/<endpoint>`), each with its group-by
 * dimensions and the zod schema of its result objects, following the official SDK's types (`openai` 7.60,
 * `client.admin.organization.usage.*`, resources/admin/organization/usage.d.ts). One table drives the client, the
 * processor and the stand-in, so an endpoint is added by one entry here.
 *
 * Every endpoint answers `{object:"page", data:[{object:"bucket", start_time, end_time, results:[...]}],
 * has_more, next_page}`; a result carries `object: "organization.usage.<result>.result"`, its measures, and one
 * field per group-by dimension (null when not grouped by it).
 */
import { z } from "zod";

const count = z.number().int().nonnegative();
/** A count the SDK marks optional (absent in older answers): null when absent, never a guessed 0. */
const optionalCount = count.nullable().default(null);
// Absent and null both read as null; `.default(null)` rather than a transform keeps zod on its fast path.
const nullableString = z.string().nullable().default(null);

/** How a measure is stored: a whole count (INT64) or a decimal (NUMERIC, written as exact decimal text). */
export type MeasureKind = "int" | "decimal";

interface EndpointDef<R extends string, G extends string, M extends z.ZodRawShape> {
  /** The `<result>` of `organization.usage.<result>.result`. */
  result: R;
  /** The SDK's `group_by` options; each is also a field of the result. */
  groupBy: readonly G[];
  /** Result fields other than the group keys, with their zod types. */
  measures: M;
  /** Measures stored as NUMERIC; every other one is INT64. */
  decimals?: readonly (keyof M & string)[];
}

/** A page of 1d (or 1h, 1m) buckets of `result` objects, as every Usage and the Costs endpoint answers. */
export function bucketPageSchema<R extends z.ZodType>(result: R) {
  const bucket = z.object({
    object: z.literal("bucket").optional(),
    start_time: z.number().int(),
    end_time: z.number().int(),
    results: z.array(result),
  });
  return z.object({
    object: z.literal("page").optional(),
    data: z.array(bucket),
    has_more: z.boolean(),
    next_page: z.string().nullish(),
  });
}

function define<const R extends string, const G extends string, const M extends z.ZodRawShape>(
  def: EndpointDef<R, G, M>,
) {
  const keys = Object.fromEntries(
    def.groupBy.map((g) => [g, g === "batch" ? z.boolean().nullable().default(null) : nullableString]),
  ) as { [K in G]: K extends "batch" ? z.ZodDefault<z.ZodNullable<z.ZodBoolean>> : typeof nullableString };
  const result = z.object({
    object: z.literal(`organization.usage.${def.result}.result` as `organization.usage.${R}.result`).optional(),
    ...keys,
    ...def.measures,
  });
  const page = bucketPageSchema(result);
  const measureKinds = Object.fromEntries(
    Object.keys(def.measures).map((
      m,
    ) => [m, (def.decimals as readonly string[] | undefined)?.includes(m) ? "decimal" : "int"]),
  ) as Record<keyof M & string, MeasureKind>;
  return {
    ...def,
    resultObject: `organization.usage.${def.result}.result`,
    resultSchema: result,
    pageSchema: page,
    measureKinds,
  };
}

const MODEL_REQUESTS = { num_model_requests: count };
/** The completions-style split of `input_tokens` and `output_tokens` (cache writes, modalities), when reported. */
const TOKEN_BREAKDOWN = {
  input_uncached_tokens: optionalCount,
  input_text_tokens: optionalCount,
  input_image_tokens: optionalCount,
  input_cached_text_tokens: optionalCount,
  input_cached_audio_tokens: optionalCount,
  input_cached_image_tokens: optionalCount,
  input_cache_write_tokens: optionalCount,
  input_cache_write_30m_tokens: optionalCount,
  input_cache_write_12h_tokens: optionalCount,
  output_text_tokens: optionalCount,
  output_image_tokens: optionalCount,
};
const PER_MODEL = ["project_id", "user_id", "api_key_id", "model"] as const;
const COMPLETIONS_GROUP_BY = [...PER_MODEL, "batch", "service_tier", "api_source"] as const;

/** Every Usage API endpoint by its path segment. */
export const OPENAI_USAGE_ENDPOINTS = {
  /** `input_tokens` includes cached and cache-write tokens (text, audio and image). */
  completions: define({
    result: "completions",
    groupBy: COMPLETIONS_GROUP_BY,
    measures: {
      input_tokens: count,
      output_tokens: count,
      ...MODEL_REQUESTS,
      input_cached_tokens: count.default(0),
      input_audio_tokens: count.default(0),
      output_audio_tokens: count.default(0),
      ...TOKEN_BREAKDOWN,
    },
  }),
  /** Decisions API tokens, in the completions shape; every split is optional (null when absent). */
  decisions: define({
    result: "decisions",
    groupBy: COMPLETIONS_GROUP_BY,
    measures: {
      input_tokens: count,
      output_tokens: count,
      ...MODEL_REQUESTS,
      input_cached_tokens: optionalCount,
      input_audio_tokens: optionalCount,
      output_audio_tokens: optionalCount,
      ...TOKEN_BREAKDOWN,
    },
  }),
  embeddings: define({
    result: "embeddings",
    groupBy: PER_MODEL,
    measures: { input_tokens: count, ...MODEL_REQUESTS },
  }),
  moderations: define({
    result: "moderations",
    groupBy: PER_MODEL,
    measures: { input_tokens: count, ...MODEL_REQUESTS },
  }),
  images: define({
    result: "images",
    groupBy: [...PER_MODEL, "size", "source"],
    measures: { images: count, ...MODEL_REQUESTS },
  }),
  audio_speeches: define({
    result: "audio_speeches",
    groupBy: PER_MODEL,
    measures: { characters: count, ...MODEL_REQUESTS },
  }),
  audio_transcriptions: define({
    result: "audio_transcriptions",
    groupBy: PER_MODEL,
    measures: { seconds: z.number().nonnegative(), ...MODEL_REQUESTS },
    decimals: ["seconds"],
  }),
  /** `usage_bytes` is the storage held that bucket (billed per GB-day), not a flow. */
  vector_stores: define({ result: "vector_stores", groupBy: ["project_id"], measures: { usage_bytes: count } }),
  code_interpreter_sessions: define({
    result: "code_interpreter_sessions",
    groupBy: ["project_id"],
    measures: { num_sessions: count },
  }),
  file_search_calls: define({
    result: "file_searches",
    groupBy: ["project_id", "user_id", "api_key_id", "vector_store_id"],
    measures: { num_requests: count },
  }),
  web_search_calls: define({
    result: "web_searches",
    groupBy: [...PER_MODEL, "context_level", "api_source"],
    measures: { num_requests: count, ...MODEL_REQUESTS },
  }),
} as const;

/** A Usage API endpoint, e.g. `"embeddings"` for `GET /organization/usage/embeddings`. */
export type OpenAIUsageEndpoint = keyof typeof OPENAI_USAGE_ENDPOINTS;
/** Every endpoint name, in a stable order. */
export const OPENAI_USAGE_ENDPOINT_NAMES = Object.keys(OPENAI_USAGE_ENDPOINTS) as [
  OpenAIUsageEndpoint,
  ...OpenAIUsageEndpoint[],
];
/** A page of one endpoint. */
export type OpenAIUsageEndpointPage<E extends OpenAIUsageEndpoint> = z.output<
  (typeof OPENAI_USAGE_ENDPOINTS)[E]["pageSchema"]
>;
/** A group-by dimension of one endpoint. */
export type OpenAIUsageEndpointGroupBy<E extends OpenAIUsageEndpoint> = (typeof OPENAI_USAGE_ENDPOINTS)[E]["groupBy"][
  number
];

/** The API path of an endpoint. */
export const usagePath = (endpoint: OpenAIUsageEndpoint): string => `/organization/usage/${endpoint}`;
