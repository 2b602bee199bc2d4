/** Run and step rows in the central tables: the only place the executor touches them. */
import { CENTRAL_DATASET } from "../orgs/api_keys.ts";
import type { Warehouse } from "../warehouse/warehouse.ts";
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
}

export class RunsStore {
  constructor(private readonly wh: Warehouse) {}

  async insertPending(row: {
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
  }): Promise<void> {
    const { now, ...rest } = row;
    await this.wh.insertRows(CENTRAL_DATASET, RUNS_TABLE, [{
      ...rest,
      status: "PENDING",
      steps_completed: 0,
      rows_written: 0,
      heartbeat_at: now,
      created_at: now,
      updated_at: now,
    }]);
  }

  async markRunning(runId: string, now: string): Promise<void> {
    await this.wh.execute(
      `UPDATE ${CENTRAL_DATASET}.org_meta_pipeline_runs SET status = 'RUNNING', start_time = CAST(@now AS TIMESTAMP),
       heartbeat_at = CAST(@now AS TIMESTAMP), updated_at = CAST(@now AS TIMESTAMP) WHERE run_id = @run_id`,
      { run_id: runId, now },
    );
  }

  async heartbeat(runId: string, stepsCompleted: number, rows: number, now: string): Promise<void> {
    await this.wh.execute(
      `UPDATE ${CENTRAL_DATASET}.org_meta_pipeline_runs SET heartbeat_at = CAST(@now AS TIMESTAMP), steps_completed = @steps,
       rows_written = @rows, updated_at = CAST(@now AS TIMESTAMP) WHERE run_id = @run_id`,
      { run_id: runId, now, steps: stepsCompleted, rows },
    );
  }

  async finish(runId: string, f: {
    status: "COMPLETED" | "FAILED";
    now: string;
    durationMs: number;
    stepsCompleted: number;
    rows: number;
    error?: { message: string; code: string };
  }): Promise<void> {
    await this.wh.execute(
      `UPDATE ${CENTRAL_DATASET}.org_meta_pipeline_runs SET status = @status, end_time = CAST(@now AS TIMESTAMP),
       duration_ms = @duration, steps_completed = @steps, rows_written = @rows, error_message = @error_message,
       error_code = @error_code, updated_at = CAST(@now AS TIMESTAMP) WHERE run_id = @run_id`,
      {
        run_id: runId,
        status: f.status,
        now: f.now,
        duration: f.durationMs,
        steps: f.stepsCompleted,
        rows: f.rows,
        error_message: f.error?.message ?? null,
        error_code: f.error?.code ?? null,
      },
    );
  }

  async logStep(row: Record<string, unknown>): Promise<void> {
    await this.wh.insertRows(CENTRAL_DATASET, STEPS_TABLE, [row]);
  }

  async logDq(rows: Record<string, unknown>[]): Promise<void> {
    if (rows.length) await this.wh.insertRows(CENTRAL_DATASET, DQ_TABLE, rows);
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

  /** Counts for quota checks: runs created today and this month (UTC), and runs in flight. */
  async usage(orgSlug: string, now: Date): Promise<{ today: number; month: number; active: number }> {
    const day = now.toISOString().slice(0, 10);
    const monthStart = `${day.slice(0, 7)}-01`;
    const [row] = await this.wh.query<{ today: number; month: number; active: number }>(
      `SELECT
         COUNT(CASE WHEN created_at >= CAST(@day AS TIMESTAMP) THEN 1 END) AS today,
         COUNT(*) AS month,
         COUNT(CASE WHEN status IN ('PENDING', 'RUNNING') THEN 1 END) AS active
       FROM ${CENTRAL_DATASET}.org_meta_pipeline_runs
       WHERE org_slug = @org_slug AND created_at >= CAST(@month_start AS TIMESTAMP)`,
      { org_slug: orgSlug, day: `${day}T00:00:00Z`, month_start: `${monthStart}T00:00:00Z` },
    );
    return { today: Number(row?.today ?? 0), month: Number(row?.month ?? 0), active: Number(row?.active ?? 0) };
  }

  async get(orgSlug: string, runId: string): Promise<RunRow | undefined> {
    const [row] = await this.wh.query<RunRow>(
      `SELECT run_id, org_slug, pipeline_id, pipeline_path, status, trigger, params, logical_date, error_message, error_code
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
