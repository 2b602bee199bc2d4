/** What a processor receives: clients, the org, the run, resolved params and a tagged logger. */
import type { PipelineModule, StepDef } from "../pipeline/module.ts";
import type { LoadQuery, Warehouse, WarehouseTx } from "../warehouse/warehouse.ts";
import type { KeyVault } from "../vault/vault.ts";
import type { BaseUrls } from "../providers/catalogue.ts";
import type { CentralStores } from "../central/mod.ts";

/** The logger shape processors use (runtime/logger.ts implements it, already tagged with org/pipeline/run/step). */
export interface ProcessorLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Deployment facts processors need; built from the runtime settings (base URLs: the catalogue's `BaseUrls`). */
export interface ProcessorEnv extends BaseUrls {
  readonly environment: "development" | "staging" | "production";
  readonly datasetSuffix: string;
  readonly dataDir: string;
  readonly gcpTokenUri?: string;
}

/** Why a run runs, as its run row records it: an API request, the scheduler's queue, or a backfill. */
export type RunTrigger = "api" | "scheduler" | "backfill";

export interface ProcessorContext {
  readonly warehouse: Warehouse;
  readonly vault: KeyVault;
  /** The central stores (runs, credentials, API keys, quotas, orgs, prices, costs): a processor's only way to them. */
  readonly stores: CentralStores;
  readonly env: ProcessorEnv;
  readonly logger: ProcessorLogger;
  readonly now: () => Date;
  readonly pipeline: PipelineModule;
  readonly step: StepDef;
  /** The org the pipeline runs for (absent for platform pipelines such as bootstrap). */
  readonly org?: { readonly slug: string; readonly dataset: string };
  /** The data run this step belongs to (absent for synchronous pipelines), with the trigger its run row records. */
  readonly run?: { readonly id: string; readonly trigger: RunTrigger };
  /** Params after defaults. */
  readonly params: Readonly<Record<string, unknown>>;
  /**
   * State shared by the steps of one run, never persisted or logged. Data runs put the decrypted
   * credential under `credential` (string) and its metadata (JSON object) under `credential_metadata`.
   */
  readonly state: Map<string, unknown>;
  /** Aborted when the run times out or the process shuts down; pass it to provider calls. */
  readonly signal?: AbortSignal;
  /**
   * Set for a request with `Idempotency-Key` (runtime/idempotency.ts): a single-step pipeline that commits its
   * writes in one transaction calls it inside that transaction with its response, so the stored answer (and
   * the one-time key in it) commits with the writes.
   */
  readonly commitHook?: (tx: WarehouseTx, response: Record<string, unknown>) => Promise<void>;
}

/**
 * Output rows in batches, e.g. one batch per provider page, so a step never holds the rows of its whole range.
 * Consumed once, in order, while the write is open; a stream that throws fails the step and writes nothing.
 */
export type RowBatches = AsyncIterable<readonly Record<string, unknown>[]>;

export interface StepResult {
  /**
   * Rows for the step's `output` table, all at once or as {@link RowBatches}. The executor validates them, runs
   * the step's data-quality checks and writes them with the output's write mode (replace_partitions: atomically
   * over `range`; batches are checked and written as they arrive, committed only after the last one passed).
   */
  readonly rows?: readonly Record<string, unknown>[] | RowBatches;
  /**
   * Instead of `rows`: a SELECT the warehouse runs itself to produce the output's rows (every column of the output
   * table by name), so they never pass through JavaScript. The executor replaces `range` with its rows in one
   * transaction (`Warehouse.replacePartitionsWith`), the step's checks counted in SQL over them before the commit.
   */
  readonly load?: LoadQuery;
  /** The UTC days (inclusive) the rows cover; required with replace_partitions. */
  readonly range?: { readonly from: string; readonly to: string };
  /** Rows the processor wrote itself (steps without `output`). */
  readonly rowsWritten?: number;
  /** Fields merged into the API response of synchronous pipelines (system, integration). */
  readonly response?: Record<string, unknown>;
}
