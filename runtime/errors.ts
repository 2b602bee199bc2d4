/** API errors: one shape everywhere, `{"error": {"code", "message", "request_id"}}`, rendered by one onError. */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type Logger, redactKeys } from "./logger.ts";
import { AppError, DEPENDENCY_CODES, findAppError } from "../src/errors/mod.ts";
import { statusOf } from "./error_status.ts";

/** `AppError` factories for the common request failures (the status comes from `error_status.ts`). */
export const badRequest = (code: string, message: string, details?: Record<string, unknown>) =>
  new AppError(code, message, details ? { details } : {});
export const unauthorized = (message: string) => new AppError("UNAUTHORIZED", message);
export const forbidden = (message: string) => new AppError("FORBIDDEN", message);
export const notFound = (message: string) => new AppError("NOT_FOUND", message);

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

/**
 * Failures of the server's own dependencies: their messages are for the operator's log (they name engines and
 * files), the caller reads this text, with a Retry-After of `retryAfterS` unless the error gives its own.
 */
const UNAVAILABLE: Record<string, { message: string; retryAfterS: number; log: string }> = {
  VAULT_UNAVAILABLE: {
    message: "The key vault is unavailable; retry later",
    retryAfterS: 30,
    log: "key vault unavailable",
  },
  WAREHOUSE_UNAVAILABLE: {
    message:
      "The warehouse cannot serve this request now (see /health); retry later and quote the request id if it lasts",
    retryAfterS: 5,
    log: "warehouse unavailable",
  },
};

/** The AppError `err` stands for: itself, or a dependency failure (`DEPENDENCY_CODES`) anywhere in its causes. */
function appErrorOf(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  const found = findAppError(err);
  return found && DEPENDENCY_CODES.has(found.code) ? found : undefined;
}

/** The app's only onError: known errors keep their status and message; anything else is a 500 with no internals. */
export function onError(logger: Logger) {
  return (err: Error, c: Context) => {
    const at = { request_id: c.get("requestId"), path: c.req.path };
    const app = appErrorOf(err);
    if (app) {
      for (const [k, v] of Object.entries(app.headers ?? {})) c.header(k, v);
      const down = UNAVAILABLE[app.code];
      const retryAfterS = app.retryAfterS ?? down?.retryAfterS;
      if (retryAfterS !== undefined) c.header("Retry-After", String(Math.ceil(retryAfterS)));
      const status = statusOf(app.code);
      if (down) {
        logger.error(down.log, { ...at, error: err });
        return errorBody(c, status, app.code, down.message);
      }
      if (app.code === "WRITE_CONFLICT") logger.warn("write conflict with a concurrent request", at);
      if (status === 500 && app.code !== "INTERNAL") {
        // A server-side failure whose message is for the operator (a table that cannot be upgraded, a vault
        // envelope that cannot be opened): the caller gets the internal error, the log the rest.
        logger.error("unhandled error", { ...at, error: err });
        return errorBody(c, 500, "INTERNAL", "Internal error; quote the request id when reporting it");
      }
      if (app.code === "INTERNAL") logger.error("internal error", { ...at, error: err });
      return errorBody(c, status, app.code, app.message, app.details, app.extra);
    }
    if (err instanceof HTTPException) {
      const status = err.status;
      if (status < 500) {
        return errorBody(c, status, DEFAULT_CODES[status] ?? "BAD_REQUEST", err.message || "Bad request");
      }
    }
    logger.error("unhandled error", { ...at, error: err });
    return errorBody(c, 500, "INTERNAL", "Internal error; quote the request id when reporting it");
  };
}
