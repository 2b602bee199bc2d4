/** API errors: one shape everywhere, `{"error": {"code", "message", "request_id"}}`, rendered by one onError. */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type Logger, redactKeys } from "./logger.ts";
import { VaultError } from "../src/vault/vault.ts";
import { isWriteConflict } from "../src/warehouse/conflict.ts";
import { DayError } from "../src/time/day.ts";
import { AppError } from "../src/errors/mod.ts";
import { statusOf } from "./error_status.ts";

/** An error meant for the client: a status, a stable code and a message that names the field. */
export class ApiError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly details?: Record<string, unknown>,
    /** Fields rendered beside `error` at the top level of the body. */
    readonly extra?: Record<string, unknown>,
  ) {
    super(status, { message });
  }
}

export const badRequest = (code: string, message: string, details?: Record<string, unknown>) =>
  new ApiError(400, code, message, {}, details);
export const unauthorized = (message: string) => new ApiError(401, "UNAUTHORIZED", message);
export const forbidden = (message: string) => new ApiError(403, "FORBIDDEN", message);
export const notFound = (message: string) => new ApiError(404, "NOT_FOUND", message);
export const conflict = (code: string, message: string) => new ApiError(409, code, message);

const DEFAULT_CODES: Partial<Record<number, string>> = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  409: "CONFLICT",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  422: "UNPROCESSABLE",
  429: "RATE_LIMITED",
  503: "UNAVAILABLE",
};

export function errorBody(
  c: Context,
  status: number,
  code: string,
  message: string,
  details?: Record<string, unknown>,
  extra?: Record<string, unknown>,
) {
  const requestId = c.get("requestId") ?? "";
  // A message may quote what the client sent (a path, a field): key-shaped values are never echoed back.
  // (The redacted text has no quote or backslash, so the JSON of the details stays valid.)
  const safe = redactKeys(message);
  const safeDetails = details ? JSON.parse(redactKeys(JSON.stringify(details))) : undefined;
  return c.json(
    {
      ...extra,
      error: { code, message: safe, request_id: requestId, ...(safeDetails ? { details: safeDetails } : {}) },
    },
    status as ContentfulStatusCode,
  );
}

export { isWriteConflict };

/** The key vault (Cloud KMS) could not be reached: a 503 to retry later, not an internal error. */
export function isVaultUnavailable(err: unknown): boolean {
  return causes(err).some((e) => e instanceof VaultError && e.code === "VAULT_UNAVAILABLE");
}

const DISK_FULL = /No space left on device|disk is full|database has been invalidated/i;

/**
 * The warehouse cannot serve now: reopening after a fatal engine error, or its disk is full. A 503 to retry
 * later (the process heals once the cause is gone), never a 500.
 */
export function isWarehouseUnavailable(err: unknown): boolean {
  return causes(err).some((e) => e.name === "WarehouseUnavailableError" || DISK_FULL.test(e.message));
}

function causes(err: unknown): Error[] {
  const out: Error[] = [];
  for (let e = err; e instanceof Error && out.length < 5; e = e.cause) out.push(e);
  return out;
}

/** The app's only onError: known errors keep their status and message; anything else is a 500 with no internals. */
export function onError(logger: Logger) {
  return (err: Error, c: Context) => {
    if (err instanceof AppError) {
      for (const [k, v] of Object.entries(err.headers ?? {})) c.header(k, v);
      if (err.retryAfterS !== undefined) c.header("Retry-After", String(Math.ceil(err.retryAfterS)));
      const status = statusOf(err.code);
      if (status >= 500 && err.code === "INTERNAL") {
        logger.error("internal error", { request_id: c.get("requestId"), path: c.req.path, error: err });
      }
      return errorBody(c, status, err.code, err.message, err.details, err.extra);
    }
    if (err instanceof ApiError) {
      for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
      return errorBody(c, err.status, err.code, err.message, err.details, err.extra);
    }
    if (err instanceof HTTPException) {
      const status = err.status;
      if (status < 500) {
        return errorBody(c, status, DEFAULT_CODES[status] ?? "BAD_REQUEST", err.message || "Bad request");
      }
    }
    // A route may simply call parseDay/parseDayRange: a bad day is the client's 400, naming the field.
    if (err instanceof DayError) return errorBody(c, 400, "VALIDATION_ERROR", err.message);
    if (isWriteConflict(err)) {
      logger.warn("write conflict with a concurrent request", { request_id: c.get("requestId"), path: c.req.path });
      c.header("Retry-After", "1");
      return errorBody(
        c,
        409,
        "WRITE_CONFLICT",
        "Another request changed the same data at the same time; retry the request",
      );
    }
    if (isVaultUnavailable(err)) {
      logger.error("key vault unavailable", { request_id: c.get("requestId"), path: c.req.path, error: err });
      c.header("Retry-After", "30");
      return errorBody(c, 503, "VAULT_UNAVAILABLE", "The key vault is unavailable; retry later");
    }
    if (isWarehouseUnavailable(err)) {
      logger.error("warehouse unavailable", { request_id: c.get("requestId"), path: c.req.path, error: err });
      c.header("Retry-After", "5");
      return errorBody(
        c,
        503,
        "WAREHOUSE_UNAVAILABLE",
        "The warehouse cannot serve this request now (see /health); retry later and quote the request id if it lasts",
      );
    }
    logger.error("unhandled error", { request_id: c.get("requestId"), path: c.req.path, error: err });
    return errorBody(c, 500, "INTERNAL", "Internal error; quote the request id when reporting it");
  };
}
