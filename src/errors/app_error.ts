/**
 * The one error type of the product: a stable `code`, a human message naming the field, and optional context.
 * Domain code throws it without knowing HTTP; `runtime/error_status.ts` maps each code to its status once.
 *
 * @example
 * throw new AppError("CREDENTIAL_INVALID", 'Field "credential": OpenAI rejected the key', { field: "credential" });
 */

/** Optional parts of an `AppError`, all named (no positional shapes). */
export interface AppErrorInit {
  /** The request field the error is about, e.g. `"start_date"` or `"body.amount"`. */
  readonly field?: string;
  /** Machine-readable details rendered as `error.details`. */
  readonly details?: Record<string, unknown>;
  /** Seconds after which a retry may succeed; rendered as the `Retry-After` header. */
  readonly retryAfterS?: number;
  /** Extra response headers (e.g. `WWW-Authenticate`). */
  readonly headers?: Record<string, string>;
  /** Fields rendered beside `error` at the top level of the response body (e.g. `validation_status`). */
  readonly extra?: Record<string, unknown>;
  /** The underlying error, kept for logs and never rendered. */
  readonly cause?: unknown;
}

/** A failure with a stable code; the message is safe to show the caller (no secret, no SQL, no stack). */
export class AppError extends Error {
  override readonly name: string = "AppError";
  readonly code: string;
  readonly field: string | undefined;
  readonly details: Record<string, unknown> | undefined;
  readonly retryAfterS: number | undefined;
  readonly headers: Record<string, string> | undefined;
  readonly extra: Record<string, unknown> | undefined;

  constructor(code: string, message: string, init: AppErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = code;
    this.field = init.field;
    this.details = init.details;
    this.retryAfterS = init.retryAfterS;
    this.headers = init.headers;
    this.extra = init.extra;
  }
}

/** The first `AppError` in an error's cause chain (at most five deep), if any. */
export function findAppError(err: unknown): AppError | undefined {
  let e: unknown = err;
  for (let i = 0; i < 5 && e instanceof Error; i++, e = e.cause) {
    if (e instanceof AppError) return e;
  }
  return undefined;
}
