/**
 * The central stores: one object per group of central tables, each the one writer (and reader) of its tables,
 * built once at start-up from the warehouse and the compiled table schemas (runtime/server.ts passes the
 * bootstrap module's `tables`). Routes, processors and the executor reach the central tables only through
 * them, so no SQL lives in `runtime/` or in a processor, and nothing in `src/` imports `generated/`.
 *
 * @example
 * ```ts
 * const stores = createCentralStores(warehouse, tables, vault);
 * const detail = await stores.runs.detail("acme", runId);
 * ```
 */
import type { Warehouse } from "../warehouse/warehouse.ts";
import type { KeyVault } from "../vault/vault.ts";
import { ApiKeyStore } from "./api_keys.ts";
import { CredentialsStore } from "./credentials.ts";
import { IdempotencyStore } from "./idempotency.ts";
import { OrgsStore } from "./orgs.ts";
import { QuotaStore } from "./quotas.ts";
import { RunsStore } from "./runs.ts";
import { CostStore } from "./costs.ts";
import { PriceStore } from "./prices.ts";
import type { TableSchemas } from "./tables.ts";

export { CENTRAL_DATASET, tableOf, type TableSchemas } from "./tables.ts";
export { ApiKeyStore, type IssuedKey, KEY_CACHE_TTL_MS, type KeyIdentity } from "./api_keys.ts";
export { type CredentialRow, CredentialsStore, type CredentialStatusRow } from "./credentials.ts";
export { type HeldKey, IdempotencyStore, type StoredResponse } from "./idempotency.ts";
export { ONBOARDING_TABLES, type OnboardingRows, OrgsStore } from "./orgs.ts";
export { type ClaimOptions, type OrgState, type Plan, QuotaStore, STALE_AFTER_MS, type Usage } from "./quotas.ts";
export { type PendingRun, type RunDetail, type RunFilter, type RunRow, RunsStore, type RunStatus } from "./runs.ts";

/** Every central store of one warehouse. */
export interface CentralStores {
  /** Run, step and data-quality rows (`org_meta_pipeline_runs`, `org_meta_step_logs`, `org_meta_dq_results`). */
  readonly runs: RunsStore;
  /** Integration credentials (`org_integration_credentials`). */
  readonly credentials: CredentialsStore;
  /** Org API keys (`org_api_keys`) and their lookup cache. */
  readonly apiKeys: ApiKeyStore;
  /** Run counts, plan and credential in one read; the run-slot claim (`org_run_claims`). */
  readonly quotas: QuotaStore;
  /** Stored responses of `Idempotency-Key` requests (`org_idempotency_keys`). */
  readonly idempotency: IdempotencyStore;
  /** Org profiles, subscriptions and usage quotas (onboarding's rows, notification recipients). */
  readonly orgs: OrgsStore;
  /** Model prices, subscription plans and their writer locks (`org_model_pricing`, `org_openai_subscriptions`). */
  readonly prices: PriceStore;
  /** Reads of the orgs' cost and usage tables (the unified cost view, FOCUS export). */
  readonly costs: CostStore;
}

/**
 * Builds every central store over `warehouse` from the table schemas `tables` (the bootstrap module's);
 * `vault` seals the copies of org API keys.
 * @throws {Error} naming the table when `tables` lacks one a store needs
 */
export function createCentralStores(
  warehouse: Warehouse,
  tables: TableSchemas,
  vault: KeyVault,
  opts: { apiKeys?: ConstructorParameters<typeof ApiKeyStore>[3] } = {},
): CentralStores {
  const apiKeys = new ApiKeyStore(warehouse, tables, vault, opts.apiKeys);
  return {
    runs: new RunsStore(warehouse, tables),
    credentials: new CredentialsStore(warehouse, tables),
    apiKeys,
    quotas: new QuotaStore(warehouse, tables),
    idempotency: new IdempotencyStore(warehouse, tables),
    orgs: new OrgsStore(warehouse, tables, apiKeys),
    prices: new PriceStore(warehouse, tables),
    costs: new CostStore(warehouse),
  };
}
