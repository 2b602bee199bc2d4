/**
 * Typed provider clients over `fetch`: OpenAI, Anthropic, DeepSeek and GCP OAuth.
 *
 * Every call goes through `ProviderHttp` (retries with backoff on 429/5xx/timeouts,
 * `Retry-After`, a body cap, zod validation) and fails with a `ProviderError` whose
 * message names provider and endpoint and never contains a credential. Credentials are
 * only ever sent to the configured base URL's origin; redirects are not followed.
 *
 * @example
 * ```ts
 * const openai = new OpenAIClient({ apiKey, baseUrl: Deno.env.get("OPENAI_BASE_URL") });
 * await openai.validateAdminKey();
 * for await (const page of openai.usageCompletions({ start, end, groupBy: ["model", "project_id"] })) {
 *   for (const bucket of page.data) console.log(bucket.start_time, bucket.results.length);
 * }
 * ```
 * @module
 */

/**
 * The shared HTTP layer. `new ProviderHttp({fetch?, sleep?, now?, random?, timeoutMs = 15000,
 * maxRetries = 4, maxBytes = 20 MiB, baseDelayMs = 500, maxDelayMs = 60000, onRetry?})`;
 * `request({provider, endpoint, url, schema, headers?, secrets?, ...})` returns the validated body.
 * @throws {ProviderError} kind `unauthorized | forbidden | rate_limited | unavailable | timeout | malformed | too_large | bad_request`
 * @example await http.request({ provider: "OpenAI", endpoint: "GET /models", url, schema: z.object({}) });
 */
export { ProviderError, ProviderHttp } from "./http.ts";
export type { ErrorHint, ProviderErrorInit, ProviderErrorKind, ProviderHttpOptions, ProviderRequest } from "./http.ts";

/**
 * OpenAI organization usage and costs with an Admin key: `validateAdminKey()`,
 * `usage(endpoint, {start, end?, bucketWidth = "1d", groupBy?, limit?})` for every Usage API endpoint of
 * `OPENAI_USAGE_ENDPOINTS` (`usageCompletions(query)` for completions) and `costs({start, end?, groupBy?, limit?})`,
 * all async generators of pages.
 * Base URL default `https://api.openai.com/v1`.
 * @throws {ProviderError} a 403 reads "an organization Admin key is needed (this key has no usage rights)"
 * @example for await (const page of client.costs({ start: 1735689600, groupBy: ["line_item"] })) {}
 */
export {
  OPENAI_BASE_URL,
  OPENAI_COSTS_GROUP_BY,
  OpenAIClient,
  openAICostResultSchema,
  openAICostsPageSchema,
  openAIUsagePageSchema,
  openAIUsageResultSchema,
} from "./openai.ts";
export { OPENAI_USAGE_ENDPOINT_NAMES, OPENAI_USAGE_ENDPOINTS, usagePath } from "./openai_usage.ts";
export type {
  MeasureKind,
  OpenAIUsageEndpoint,
  OpenAIUsageEndpointGroupBy,
  OpenAIUsageEndpointPage,
} from "./openai_usage.ts";
export type {
  OpenAIClientOptions,
  OpenAICostResult,
  OpenAICostsBucket,
  OpenAICostsPage,
  OpenAICostsQuery,
  OpenAIUsageBucket,
  OpenAIUsageGroupBy,
  OpenAIUsagePage,
  OpenAIUsageQuery,
  OpenAIUsageResult,
} from "./openai.ts";

/**
 * Anthropic Admin API usage and cost reports: `validateAdminKey()`,
 * `usageReport({startingAt, endingAt?, bucketWidth = "1d", groupBy?, limit?})` and
 * `costReport({startingAt, endingAt?, groupBy?, limit?})` (amounts in cents, see `centsToDollars`).
 * Base URL default `https://api.anthropic.com`; sends `anthropic-version: 2023-06-01`.
 * @throws {ProviderError} on any failed page
 * @example for await (const page of client.usageReport({ startingAt: "2025-01-01T00:00:00Z", groupBy: ["model"] })) {}
 */
export {
  ANTHROPIC_BASE_URL,
  ANTHROPIC_VERSION,
  AnthropicClient,
  anthropicCostPageSchema,
  anthropicCostResultSchema,
  anthropicUsagePageSchema,
  anthropicUsageResultSchema,
} from "./anthropic.ts";
export type {
  AnthropicClientOptions,
  AnthropicCostBucket,
  AnthropicCostPage,
  AnthropicCostQuery,
  AnthropicCostResult,
  AnthropicUsageBucket,
  AnthropicUsageGroupBy,
  AnthropicUsagePage,
  AnthropicUsageQuery,
  AnthropicUsageResult,
} from "./anthropic.ts";

/**
 * DeepSeek: `validateKey()` (`GET /models`) and `balance()` (`GET /user/balance`, decimal strings).
 * Base URL default `https://api.deepseek.com`.
 * @throws {ProviderError} on failure or a non-decimal amount
 * @example const { balance_infos } = await new DeepSeekClient({ apiKey }).balance();
 */
export {
  DEEPSEEK_BASE_URL,
  deepSeekBalanceInfoSchema,
  deepSeekBalanceSchema,
  DeepSeekClient,
  deepSeekModelsSchema,
} from "./deepseek.ts";
export type { DeepSeekBalance, DeepSeekBalanceInfo, DeepSeekClientOptions, DeepSeekModels } from "./deepseek.ts";

/**
 * GCP service accounts: `parseServiceAccount(json)` checks a key file without ever echoing the
 * key; `mintAccessToken(sa, {tokenUri?, scope = cloud-platform, ...http})` runs the RS256
 * JWT-bearer grant and returns `{access_token, expires_in, token_type}`.
 * @throws {AppError} `SERVICE_ACCOUNT_INVALID` for a bad key file; {ProviderError} `unauthorized` for `invalid_grant`
 * @example const token = await mintAccessToken(parseServiceAccount(json));
 */
export { base64url, CLOUD_PLATFORM_SCOPE, mintAccessToken, parseServiceAccount, signJwt } from "./gcp.ts";
export type { AccessToken, MintAccessTokenOptions, ServiceAccount } from "./gcp.ts";

/**
 * Exact decimal-string arithmetic for amounts: `centsToDollars("123.45") === "1.2345"`,
 * `shiftDecimal(value, places)`, `isDecimalString(value)`, and `numberToDecimalString(1e-7) === "0.0000001"`
 * for JSON numbers (OpenAI cost values).
 * @throws {RangeError} for input that is not a decimal string / finite number
 * @example centsToDollars("5") // "0.05"
 */
export { centsToDollars, isDecimalString, numberToDecimalString, shiftDecimal } from "./decimal.ts";
