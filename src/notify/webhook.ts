/**
 * POSTs JSON to a webhook that {@link guardUrl} accepted: no redirects followed, a timeout per attempt,
 * and a small retry on 429 and 5xx (and on connection failures, where nothing was delivered).
 * Errors name the host only: a webhook URL's path is its secret.
 */
import { AppError } from "../errors/mod.ts";

export interface PostJsonOptions {
  /** Default: the global fetch. */
  readonly fetch?: typeof fetch;
  /** Per attempt; default 5000 ms. */
  readonly timeoutMs?: number;
  /** Attempts in all; default 3. */
  readonly attempts?: number;
  /** First retry delay, doubled each time (a Retry-After up to `maxDelayMs` wins); default 500 ms. */
  readonly backoffMs?: number;
  readonly maxDelayMs?: number;
  readonly signal?: AbortSignal;
  /** Names the endpoint in messages, e.g. "Slack webhook". */
  readonly what?: string;
}

export interface PostJsonResult {
  readonly status: number;
  readonly attempts: number;
}

/** A webhook delivery that failed: `WEBHOOK_FAILED`, with the last HTTP status in `details.status` if one came. */
function webhookError(message: string, status?: number): AppError {
  return new AppError("WEBHOOK_FAILED", message, status === undefined ? {} : { details: { status } });
}

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s)'"]+/gi;

/** Removes URLs from `text` (runtime errors quote the request URL, which holds the webhook secret). */
export function scrubUrls(text: string): string {
  return text.replace(URL_IN_TEXT, "[url]");
}

async function snippet(res: Response): Promise<string> {
  try {
    const text = (await res.text()).slice(0, 200);
    // deno-lint-ignore no-control-regex
    return scrubUrls(text.replace(/[\x00-\x1f\x7f]+/g, " ").trim());
  } catch {
    return "";
  }
}

function retryDelay(res: Response | undefined, attempt: number, opts: PostJsonOptions): number {
  const max = opts.maxDelayMs ?? 10_000;
  const after = res?.headers.get("retry-after");
  if (after && /^\d+$/.test(after)) return Math.min(Number(after) * 1000, max);
  return Math.min((opts.backoffMs ?? 500) * 2 ** (attempt - 1), max);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

/**
 * Sends `body` as JSON. Resolves on a 2xx answer.
 * @throws {AppError} `WEBHOOK_FAILED` on a redirect, a 4xx other than 429, a timeout, or when retries run out
 */
export async function postJson(url: URL, body: unknown, opts: PostJsonOptions = {}): Promise<PostJsonResult> {
  const doFetch = opts.fetch ?? fetch;
  const attempts = Math.max(1, opts.attempts ?? 3);
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const where = `${opts.what ?? "Webhook"} at "${url.host}"`;
  const payload = JSON.stringify(body);
  for (let attempt = 1;; attempt++) {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
    let res: Response;
    try {
      res = await doFetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "Convergence-Notifier/1" },
        body: payload,
        redirect: "manual",
        signal,
      });
    } catch (err) {
      if (timeout.aborted) throw webhookError(`${where} did not answer within ${timeoutMs} ms`);
      if (opts.signal?.aborted) throw webhookError(`${where}: delivery was cancelled`);
      const reason = scrubUrls(err instanceof Error ? err.message : String(err));
      if (attempt >= attempts) {
        throw webhookError(`${where} could not be reached after ${attempt} attempt(s): ${reason}`);
      }
      await sleep(retryDelay(undefined, attempt, opts), opts.signal);
      continue;
    }
    if (res.status >= 200 && res.status < 300) {
      await res.body?.cancel();
      return { status: res.status, attempts: attempt };
    }
    if ((res.status >= 300 && res.status < 400) || res.type === "opaqueredirect") {
      await res.body?.cancel();
      throw webhookError(`${where} answered a redirect (${res.status}); redirects are not followed`, res.status);
    }
    const retriable = res.status === 429 || res.status >= 500;
    if (!retriable || attempt >= attempts) {
      const text = await snippet(res);
      const tries = retriable ? ` after ${attempt} attempts` : "";
      throw webhookError(`${where} answered ${res.status}${tries}${text ? `: ${text}` : ""}`, res.status);
    }
    const delay = retryDelay(res, attempt, opts);
    await res.body?.cancel();
    await sleep(delay, opts.signal);
  }
}
