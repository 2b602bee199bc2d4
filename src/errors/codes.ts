/**
 * What the domain needs to know about error codes without HTTP: which failures may pass on a later try. The
 * status of each code lives in `runtime/error_status.ts` only.
 */

/**
 * Codes of failures on the server's side (a provider, the warehouse, the vault, a lost race): a later try of the
 * same work may succeed. Any other `AppError` is the request's or the configuration's fault and stays.
 */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  "CLAIM_CONTENDED",
  "INTERNAL",
  "PROVIDER_ERROR",
  "PROVIDER_UNAVAILABLE",
  "STEP_FAILED",
  "VAULT_UNAVAILABLE",
  "WAREHOUSE_UNAVAILABLE",
  "WRITE_CONFLICT",
]);

/**
 * Codes of the server's own dependencies failing (the warehouse, the vault), found anywhere in a cause chain:
 * the request failed because of them even when a layer wrapped them in its own context.
 */
export const DEPENDENCY_CODES: ReadonlySet<string> = new Set([
  "VAULT_UNAVAILABLE",
  "WAREHOUSE_UNAVAILABLE",
  "WRITE_CONFLICT",
]);
