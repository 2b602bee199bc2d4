/**
 * The HTTP status of every error code, in one table: domain code throws `AppError(code, ...)` without a status,
 * and `onError` looks the status up here. A code missing from the table is a bug and renders as a 500
 * (`error_status_test.ts` checks every code the sources throw is listed).
 */
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Error code -> HTTP status. Keep sorted by status, then code. */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  CREDENTIAL_INVALID: 400,
  INVALID_BODY: 400,
  INVALID_JSON: 400,
  SERVICE_ACCOUNT_INVALID: 400,
  UNKNOWN_PLAN: 400,
  VALIDATION_ERROR: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  ORG_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  BOOTSTRAP_REQUIRED: 409,
  CONFLICT: 409,
  IDEMPOTENCY_IN_PROGRESS: 409,
  ORG_EXISTS: 409,
  PRICE_EXISTS: 409,
  PRICE_OVERLAP: 409,
  RUN_IN_PROGRESS: 409,
  SUBSCRIPTION_EXISTS: 409,
  SUBSCRIPTION_OVERLAP: 409,
  WRITE_CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  BACKFILL_EXCEEDS_PLAN: 422,
  BACKFILL_NOT_SUPPORTED: 422,
  BILLING_EXPORT_MISSING: 422,
  DQ_CHECK_FAILED: 422,
  IDEMPOTENCY_KEY_REUSED: 422,
  INTEGRATION_NOT_READY: 422,
  UNPROCESSABLE: 422,
  QUOTA_EXCEEDED: 429,
  RATE_LIMITED: 429,
  CONFIG_INVALID: 500,
  INTERNAL: 500,
  LOCK_ROW_MISSING: 500,
  NOTIFIER_MISCONFIGURED: 500,
  SMTP_FAILED: 500,
  TABLE_UPGRADE_REFUSED: 500,
  URL_REFUSED: 500,
  VAULT_DECRYPT_FAILED: 500,
  WEBHOOK_FAILED: 500,
  NOT_IMPLEMENTED: 501,
  PROVIDER_ERROR: 502,
  PROVIDER_UNAVAILABLE: 502,
  STEP_FAILED: 502,
  CLAIM_CONTENDED: 503,
  UNAVAILABLE: 503,
  VAULT_UNAVAILABLE: 503,
  WAREHOUSE_UNAVAILABLE: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** The status of a code; 500 for a code not in the table. */
export function statusOf(code: string): ContentfulStatusCode {
  return (ERROR_STATUS as Record<string, ContentfulStatusCode>)[code] ?? 500;
}
