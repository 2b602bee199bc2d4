/**
 * Run and step rows in the central tables: the only place the executor touches them. Writes go through the
 * warehouse's {@link WriteBatcher} (group commit), so the bookkeeping of many concurrent runs costs a few
 * transactions, not several per run; each write's promise resolves once it is committed.
 */
import { CENTRAL_DATASET } from "../orgs/api_keys.ts";
import type { Warehouse, WarehouseTx } from "../warehouse/warehouse.ts";
import { type OrgState, readOrgState } from "./quota.ts";
import { WriteBatcher } from "../warehouse/batcher.ts";
import type { TableSchema } from "../schema/table_schema.ts";
import { pipelines } from "../../generated/manifest.ts";

const bootstrap = pipelines["setup/bootstrap"].tables;
export const RUNS_TABLE: TableSchema = bootstrap.org_meta_pipeline_runs;
export const STEPS_TABLE: TableSchema = bootstrap.org_meta_step_logs;
export const DQ_TABLE: TableSchema = bootstrap.org_meta_dq_results;

export type RunStatus = "PENDING" | "RUNNING" | "COMPLETED" | "FAILED";

export interface RunRow {
  run_id: string;
  org_slug: string;
  pipeline_id: string;
  pipeline_path: string;
  status: RunStatus;
  trigger: string;
  params: Record<string, unknown>;
  logical_date: string | null;
  error_message: string | null;
  error_code: string | null;
  attempt: number | null;
}

/** What a run needs to know before it starts (see {@link readOrgState}). */
export type Preflight = OrgState;

/** The fields of a new run row. */
export interface PendingRun {
  run_id: string;
  org_slug: string;
  pipeline_id: string;
  pipeline_path: string;
  trigger: string;
  params: Record<string, unknown>;
  logical_date: string | null;
  steps_total: number;
  requested_by: string;
  request_id: string | null;
  worker_id: string;
  now: string;
}

function pendingRow(row: PendingRun): Record<string, unknown> {
  const { now, ...rest } = row;
  return {
    ...rest,
    status: "PENDING",
    attempt: 1,
    steps_completed: 0,
    rows_written: 0,
    heartbeat_at: now,
    created_at: now,
    updated_at: now,
  };
}

export class RunsStore {
  readonly #batch: WriteBatcher;

  constructor(private readonly wh: Warehouse) {
    this.#batch = WriteBatcher.for(wh);
  }

  /** Resolves once every run write queued so far is committed. */
  flushed(): Promise<void> {
    return this.#batch.flushed();
  }

  /**
   * In one query: the org's fresh active runs of `pipelinePath`, its runs today / this month / in flight (UTC),
   * its active plan and the active credential of `provider` (null: none needed). `q` may be a transaction.
   */
  preflight(
    orgSlug: string,
    pipelinePath: string,
    provider: string | null,
    now: Date,
    q: Pick<WarehouseTx, "query"> = this.wh,
  ): Promise<Preflight> {
    return readOrgState(q, orgSlug, now, { pipelinePath, provider });
  }

  /** Inserts the PENDING run row inside a claim transaction (committed with it). */
  async insertPendingIn(tx: WarehouseTx, row: PendingRun): Promise<void> {
    await tx.insertRows(CENTRAL_DATASET, RUNS_TABLE, [pendingRow(row)]);
  }

  /** Inserts a PENDING run row through the batcher, outside any claim (no plan limit is checked). */
  async insertPending(row: PendingRun): Promise<void> {
    await this.#batch.insert(CENTRAL_DATASET, RUNS_TABLE, [pendingRow(row)]);
  }

  /** Attempt `attempt` of the run starts (start_time is the first attempt's). */
  async markRunning(runId: string, now: string, attempt = 1): Promise<void> {
    if (attempt === 1) {
      await this.#batch.update(CENTRAL_DATASET, RUNS_TABLE, ["run_id"], {
        run_id: runId,
        status: "RUNNING",
        start_time: now,
        heartbeat_at: now,
        updated_at: now,
      });
      return;
    }
    await this.#batch.update(CENTRAL_DATASET, RUNS_TABLE, ["run_id"], {
      run_id: runId,
      status: "RUNNING",
      attempt,
      steps_completed: 0,
      rows_written: 0,
      heartbeat_at: now,
      updated_at: now,
    });
  }

  /**
   * An attempt failed and the run waits `backoff` to try again as attempt `next`: PENDING (it keeps its slot),
   * with the failed attempt's error until the run ends.
   */
  async markRetrying(runId: string, next: number, error: { message: string; code: string }, now: string) {
    await this.#batch.update(CENTRAL_DATASET, RUNS_TABLE, ["run_id"], {
      run_id: runId,
      status: "PENDING",
      attempt: next,
      error_message: error.message,
      error_code: error.code,
      heartbeat_at: now,
      updated_at: now,
    });
  }

  /** Liveness and progress of a running run (also written as each step ends). */
  async heartbeat(runId: string, stepsCompleted: number, rows: number, now: string): Promise<void> {
    await this.#batch.update(CENTRAL_DATASET, RUNS_TABLE, ["run_id"], {
      run_id: runId,
      heartbeat_at: now,
      steps_completed: stepsCompleted,
      rows_written: rows,
      updated_at: now,
    });
  }

  async finish(runId: string, f: {
    status: "COMPLETED" | "FAILED";
    now: string;
    durationMs: number;
    stepsCompleted: number;
    rows: number;
    error?: { message: string; code: string };
  }): Promise<void> {
    await this.#batch.update(CENTRAL_DATASET, RUNS_TABLE, ["run_id"], {
      run_id: runId,
      status: f.status,
      end_time: f.now,
      duration_ms: f.durationMs,
      steps_completed: f.stepsCompleted,
      rows_written: f.rows,
      error_message: f.error?.message ?? null,
      error_code: f.error?.code ?? null,
      updated_at: f.now,
    });
  }

  async logStep(row: Record<string, unknown>): Promise<void> {
    await this.#batch.insert(CENTRAL_DATASET, STEPS_TABLE, [row]);
  }

  async logDq(rows: Record<string, unknown>[]): Promise<void> {
    await this.#batch.insert(CENTRAL_DATASET, DQ_TABLE, rows);
  }

  /** Runs of this org and pipeline that are PENDING or RUNNING. */
  async active(orgSlug: string, pipelinePath: string): Promise<string[]> {
    const rows = await this.wh.query<{ run_id: string }>(
      `SELECT run_id FROM ${CENTRAL_DATASET}.org_meta_pipeline_runs
       WHERE org_slug = @org_slug AND pipeline_path = @path AND status IN ('PENDING', 'RUNNING')`,
      { org_slug: orgSlug, path: pipelinePath },
    );
    return rows.map((r) => r.run_id);
  }

  async get(orgSlug: string, runId: string): Promise<RunRow | undefined> {
    const [row] = await this.wh.query<RunRow>(
      `SELECT run_id, org_slug, pipeline_id, pipeline_path, status, trigger, params, logical_date, error_message, error_code,
         attempt
       FROM ${CENTRAL_DATASET}.org_meta_pipeline_runs WHERE org_slug = @org_slug AND run_id = @run_id`,
      { org_slug: orgSlug, run_id: runId },
    );
    return row;
  }

  /**
   * Marks runs left PENDING/RUNNING by a dead process as FAILED so they can be re-run. With `allWorkers`
   * (the embedded default: one process owns the DuckDB file) every such run is abandoned; otherwise only
   * runs whose heartbeat is older than `staleBefore`.
   */
  async failAbandoned(opts: { now: string; staleBefore: string; allWorkers: boolean }): Promise<number> {
    return await this.wh.execute(
      `UPDATE ${CENTRAL_DATASET}.org_meta_pipeline_runs SET status = 'FAILED', error_code = 'ABANDONED',
       error_message = 'The process running this pipeline stopped before it finished; re-run it',
       end_time = CAST(@now AS TIMESTAMP), updated_at = CAST(@now AS TIMESTAMP)
       WHERE status IN ('PENDING', 'RUNNING') AND (@all = TRUE OR heartbeat_at < CAST(@stale AS TIMESTAMP))`,
      { now: opts.now, stale: opts.staleBefore, all: opts.allWorkers },
    );
  }
}
