/**
 * `ProviderHttp`: the one place provider calls go through. Bounded retries with
 * exponential backoff and jitter on 429, 5xx, network errors and timeouts (honouring
 * `Retry-After`), a per-attempt timeout, a byte cap on the body, JSON parsing and
 * zod validation. Every failure is a `ProviderError` whose message names the
 * provider and endpoint and never carries a credential.
 */
import { AppError } from "../errors/mod.ts";
import type { z } from "zod";
import { redact } from "./_redact.ts";

/** Why a provider call failed. */
export type ProviderErrorKind =
  | "unauthorized"
  | "forbidden"
  | "rate_limited"
  | "unavailable"
  | "timeout"
  | "malformed"
  | "too_large"
  | "bad_request";

const RETRYABLE: ReadonlySet<ProviderErrorKind> = new Set(["rate_limited", "unavailable", "timeout"]);

/** Fields of a `ProviderError`. */
export interface ProviderErrorInit {
  provider: string;
  endpoint: string;
  kind: ProviderErrorKind;
  status?: number | undefined;
  /** Why, in words; must already be free of secrets. */
  detail: string;
  attempts?: number;
  cause?: unknown;
}

/**
 * A failed provider call: `OpenAI GET /organization/usage/completions failed: 401 unauthorized (invalid API key)`.
 * An `AppError` whose code is `PROVIDER_UNAVAILABLE` for a failure worth retrying later ({@link retryable}),
 * `PROVIDER_ERROR` otherwise; the provider's own HTTP status is `status`.
 */
export class ProviderError extends AppError {
  override readonly name = "ProviderError";
  readonly provider: string;
  readonly endpoint: string;
  readonly status: number | undefined;
  readonly kind: ProviderErrorKind;
  readonly detail: string;
  /** How many attempts were made before giving up. */
  readonly attempts: number;

  constructor(init: ProviderErrorInit) {
    const status = init.status === undefined ? "" : `${init.status} `;
    const attempts = init.attempts ?? 1;
    const tail = attempts > 1 ? `, gave up after ${attempts} attempts` : "";
    super(
      RETRYABLE.has(init.kind) ? "PROVIDER_UNAVAILABLE" : "PROVIDER_ERROR",
      `${init.provider} ${init.endpoint} failed: ${status}${init.kind} (${init.detail})${tail}`,
      init.cause === undefined ? {} : { cause: init.cause },
    );
    this.provider = init.provider;
    this.endpoint = init.endpoint;
    this.status = init.status;
    this.kind = init.kind;
    this.detail = init.detail;
    this.attempts = attempts;
  }

  /** True for failures worth retrying later (rate limits, outages, timeouts). */
  get retryable(): boolean {
    return RETRYABLE.has(this.kind);
  }
}

/** Defaults and injectable clock/transport for a `ProviderHttp`. */
export interface ProviderHttpOptions {
  /** Transport; default the global `fetch`. */
  fetch?: typeof fetch;
  /** Waits between attempts; default `setTimeout`. */
  sleep?: (ms: number) => Promise<void>;
  /** Milliseconds since the epoch, for `Retry-After` dates; default `Date.now`. */
  now?: () => number;
  /** In [0, 1), for jitter; default `Math.random`. */
  random?: () => number;
  /** Per-attempt timeout, headers and body included; default 15000. */
  timeoutMs?: number;
  /** Retries after the first attempt; default 4. */
  maxRetries?: number;
  /** Largest accepted body; default 20 MiB. */
  maxBytes?: number;
  /** First backoff delay, doubled each retry; default 500. */
  baseDelayMs?: number;
  /** Cap on any wait, backoff or `Retry-After`; default 60000. */
  maxDelayMs?: number;
  /** Called before each retry (for logging). */
  onRetry?: (
    info: { provider: string; endpoint: string; attempt: number; delayMs: number; error: ProviderError },
  ) => void;
}

/** What the caller may say about an error answer, e.g. OpenAI's 403 on the usage endpoint. */
export interface ErrorHint {
  kind?: ProviderErrorKind;
  detail?: string;
}

/** One provider call. */
export interface ProviderRequest<S extends z.ZodType> {
  /** Display name: `OpenAI`, `Anthropic`, `DeepSeek`, `GCP`. */
  provider: string;
  /** Name used in messages, e.g. `GET /organization/usage/completions`. */
  endpoint: string;
  url: URL | string;
  /** When set, the call is refused unless `url` has this origin (credentials stay with their provider). */
  origin?: string;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string | URLSearchParams;
  schema: S;
  /** Values to scrub from any message (the API key, a private key). */
  secrets?: readonly string[];
  timeoutMs?: number;
  maxRetries?: number;
  maxBytes?: number;
  /** Refines the error for an HTTP error answer; `body` is the parsed JSON body or undefined. */
  onErrorStatus?: (status: number, body: unknown) => ErrorHint | undefined;
}

const MiB = 1024 * 1024;
const ERROR_BODY_BYTES = 64 * 1024;
const MAX_DETAIL_CHARS = 300;
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Sends provider requests with retries, timeouts, a body cap and schema validation. */
export class ProviderHttp {
  readonly #fetch: typeof fetch;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #defaults: { timeoutMs: number; maxRetries: number; maxBytes: number };
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #onRetry: ProviderHttpOptions["onRetry"];

  constructor(options: ProviderHttpOptions = {}) {
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#sleep = options.sleep ?? defaultSleep;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#defaults = {
      timeoutMs: positive("timeoutMs", options.timeoutMs ?? 15_000),
      maxRetries: nonNegative("maxRetries", options.maxRetries ?? 4),
      maxBytes: positive("maxBytes", options.maxBytes ?? 20 * MiB),
    };
    this.#baseDelayMs = nonNegative("baseDelayMs", options.baseDelayMs ?? 500);
    this.#maxDelayMs = nonNegative("maxDelayMs", options.maxDelayMs ?? 60_000);
    this.#onRetry = options.onRetry;
  }

  /**
   * Sends the request, retrying transient failures, and returns the validated body.
   * @throws {ProviderError} after the last attempt, or at once for a non-retryable failure
   */
  async request<S extends z.ZodType>(req: ProviderRequest<S>): Promise<z.output<S>> {
    const url = new URL(req.url);
    if (req.origin !== undefined && url.origin !== req.origin) {
      throw new Error(`Refusing to send a ${req.provider} credential to "${url.origin}" (expected "${req.origin}")`);
    }
    const maxRetries = nonNegative("maxRetries", req.maxRetries ?? this.#defaults.maxRetries);
    for (let attempt = 1;; attempt++) {
      const outcome = await this.#attempt(req, url, attempt);
      if (outcome.ok) return outcome.value;
      const error = outcome.error;
      if (!error.retryable || attempt > maxRetries) throw error;
      const delayMs = outcome.retryAfterMs ?? this.#backoff(attempt);
      this.#onRetry?.({ provider: req.provider, endpoint: req.endpoint, attempt, delayMs, error });
      await this.#sleep(delayMs);
    }
  }

  #backoff(attempt: number): number {
    const ceiling = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (attempt - 1));
    return Math.round(ceiling / 2 + (this.#random() * ceiling) / 2);
  }

  async #attempt<S extends z.ZodType>(
    req: ProviderRequest<S>,
    url: URL,
    attempt: number,
  ): Promise<{ ok: true; value: z.output<S> } | { ok: false; error: ProviderError; retryAfterMs?: number }> {
    const fail = (kind: ProviderErrorKind, detail: string, status?: number, cause?: unknown) =>
      new ProviderError({
        provider: req.provider,
        endpoint: req.endpoint,
        kind,
        status,
        detail: redact(detail, req.secrets),
        attempts: attempt,
        cause: cause === undefined ? undefined : scrubbedCause(cause, req.secrets),
      });
    const timeoutMs = req.timeoutMs ?? this.#defaults.timeoutMs;
    const maxBytes = req.maxBytes ?? this.#defaults.maxBytes;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    try {
      const res = await this.#fetch(url, {
        method: req.method ?? "GET",
        headers: { accept: "application/json", ...req.headers },
        body: req.body ?? null,
        signal: controller.signal,
        redirect: "manual", // a redirect could carry the credential elsewhere
      });
      if (res.status < 200 || res.status > 299) {
        const body = await readErrorBody(res);
        const { kind, detail } = classify(res.status, body, req.onErrorStatus?.(res.status, body));
        const error = fail(kind, detail, res.status);
        const retryAfterMs = kind === "rate_limited" || kind === "unavailable"
          ? this.#retryAfter(res.headers.get("retry-after"))
          : undefined;
        return retryAfterMs === undefined ? { ok: false, error } : { ok: false, error, retryAfterMs };
      }
      const bytes = await readCapped(res, maxBytes);
      if (bytes === undefined) {
        controller.abort();
        return { ok: false, error: fail("too_large", `response body exceeds ${maxBytes} bytes`, res.status) };
      }
      let json: unknown;
      try {
        json = JSON.parse(new TextDecoder().decode(bytes));
      } catch {
        return { ok: false, error: fail("malformed", "response body is not valid JSON", res.status) };
      }
      const parsed = req.schema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const where = issue ? formatPath(issue.path) : "(root)";
        return {
          ok: false,
          error: fail(
            "malformed",
            `unexpected response shape at "${where}": ${issue?.message ?? "invalid"}`,
            res.status,
          ),
        };
      }
      return { ok: true, value: parsed.data };
    } catch (cause) {
      if (timedOut) return { ok: false, error: fail("timeout", `no complete answer within ${timeoutMs} ms`) };
      const reason = cause instanceof Error ? cause.message : String(cause);
      return { ok: false, error: fail("unavailable", `network error: ${reason}`, undefined, cause) };
    } finally {
      clearTimeout(timer);
    }
  }

  /** `Retry-After` as seconds or an HTTP date, capped at `maxDelayMs`; undefined when absent or unreadable. */
  #retryAfter(value: string | null): number | undefined {
    if (value === null || value.trim() === "") return undefined;
    const text = value.trim();
    let ms: number;
    if (/^\d+(\.\d+)?$/.test(text)) ms = Number(text) * 1000;
    else {
      const at = Date.parse(text);
      if (Number.isNaN(at)) return undefined;
      ms = at - this.#now();
    }
    return Math.min(this.#maxDelayMs, Math.max(0, Math.round(ms)));
  }
}

function classify(
  status: number,
  body: unknown,
  hint: ErrorHint | undefined,
): { kind: ProviderErrorKind; detail: string } {
  const base = defaultFor(status);
  const kind = hint?.kind ?? base.kind;
  const said = providerMessage(body);
  const detail = hint?.detail ?? base.detail;
  return { kind, detail: said ? `${detail}; the provider said "${said}"` : detail };
}

function defaultFor(status: number): { kind: ProviderErrorKind; detail: string } {
  if (status === 401) return { kind: "unauthorized", detail: "invalid API key" };
  if (status === 403) return { kind: "forbidden", detail: "the key is not allowed to read this" };
  if (status === 429) return { kind: "rate_limited", detail: "rate limited by the provider" };
  if (status === 408) return { kind: "timeout", detail: "the provider timed out" };
  if (status >= 500) return { kind: "unavailable", detail: "the provider is unavailable" };
  if (status >= 300 && status < 400) return { kind: "bad_request", detail: "unexpected redirect, not followed" };
  return { kind: "bad_request", detail: "the provider rejected the request" };
}

/** The human message in the usual error shapes: `{error: {message}}`, `{error, error_description}`, `{message}`. */
function providerMessage(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const b = body as Record<string, unknown>;
  const error = b.error;
  let text: unknown;
  if (typeof error === "object" && error !== null) text = (error as Record<string, unknown>).message;
  else if (typeof b.error_description === "string") text = b.error_description;
  else if (typeof error === "string") text = error;
  else text = b.message;
  if (typeof text !== "string" || text.trim() === "") return undefined;
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > MAX_DETAIL_CHARS ? `${flat.slice(0, MAX_DETAIL_CHARS)}…` : flat;
}

/** Reads a small error body as JSON; anything else (too big, not JSON) is undefined. */
async function readErrorBody(res: Response): Promise<unknown> {
  const bytes = await readCapped(res, ERROR_BODY_BYTES);
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

/** The whole body, or undefined (after cancelling the stream) as soon as it passes `maxBytes`. */
async function readCapped(res: Response, maxBytes: number): Promise<Uint8Array | undefined> {
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel();
    return undefined;
  }
  if (res.body === null) return new Uint8Array();
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) out += typeof key === "number" ? `[${key}]` : `${out ? "." : ""}${String(key)}`;
  return out || "(root)";
}

/** A network error's cause, kept for debugging but with any secret scrubbed from its message. */
function scrubbedCause(cause: unknown, secrets: readonly string[] | undefined): Error {
  const message = cause instanceof Error ? cause.message : String(cause);
  const error = new Error(redact(message, secrets));
  error.name = cause instanceof Error ? cause.name : "Error";
  return error;
}

function positive(name: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`ProviderHttp option "${name}" must be positive`);
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!(value >= 0) || !Number.isFinite(value)) {
    throw new RangeError(`ProviderHttp option "${name}" must be zero or more`);
  }
  return value;
}
