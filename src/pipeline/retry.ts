/**
 * The whole-run retry policy of a pipeline's `retry: {attempts, backoff_seconds}`: `attempts` retries after the
 * first try (so at most `attempts + 1` tries), the n-th retry after `backoff_seconds * 2^(n-1)` seconds, and only
 * for failures a retry can fix. Provider 429/5xx are also retried per request by the provider HTTP client, before
 * a run ever fails.
 */
import { ProviderError } from "../providers/http.ts";
import { AppError, TRANSIENT_CODES } from "../errors/mod.ts";
import type { PipelineModule } from "./module.ts";

/** Retries after the first try that `pipeline` allows (0 without `retry:`). */
export function retriesOf(pipeline: PipelineModule): number {
  return pipeline.retry?.attempts ?? 0;
}

/** Milliseconds to wait before retry number `retry` (1 = the second try). */
export function retryDelayMs(pipeline: PipelineModule, retry: number): number {
  const base = pipeline.retry?.backoffSeconds ?? 0;
  return base * 1000 * 2 ** (retry - 1);
}

/**
 * Whether a retry of the run could succeed after `err`: not for a code that is not transient
 * (`TRANSIENT_CODES`: bad input, configuration, a failed check, a plan limit), or a provider answer that will not change (401,
 * 403, 400, malformed); yes for provider rate limits, outages and timeouts, warehouse errors, run timeouts and
 * anything unexpected.
 */
export function isRetryable(err: unknown): boolean {
  let e: unknown = err;
  for (let i = 0; e instanceof Error && i < 5; i++, e = e.cause) {
    if (e instanceof ProviderError) return e.retryable;
    if (e instanceof AppError && !TRANSIENT_CODES.has(e.code)) return false;
  }
  return true;
}
