/**
 * Run and step rows in the central tables: the only place the executor touches them. Writes go through the
 * warehouse's {@link WriteBatcher} (group commit), so the bookkeeping of many concurrent runs costs a few
 * transactions, not several per run; each write's promise resolves once it is committed.
 */
import { CENTRAL_DATASET } from "../orgs/api_keys.ts";
import type { Warehouse } from "../warehouse/warehouse.ts";
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
}

/** What a run needs to know before it starts, read in one query (see {@link RunsStore.preflight}). */
export interface Preflight {
  /** PENDING or RUNNING runs of this org and pipeline. */
  readonly activeSame: number;
  readonly usage: { today: number; month: number; active: number };
  /** The org's ACTIVE plan limits, or undefined without an active subscription. */
  readonly plan?: { perDay: number; perMonth: number; concurrent: number };
  /** The active credential row of the pipeline's integration, or undefined when there is none. */
  readonly credential?: { status: string; encrypted: string; metadata: unknown };
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
   * In one query: the org's active runs of `pipelinePath`, its runs today / this month / in flight (UTC), its
   * active plan and the active credential of `provider` (null: none needed).
   */
  async preflight(orgSlug: string, pipelinePath: string, provider: string | null, now: Date): Promise<Preflight> {
    const day = now.toISOString().slice(0, 10);
    const [row] = await this.wh.query<Record<string, unknown>>(
      `SELECT u.today, u.month, u.active, u.active_same,
         p.max_pipelines_per_day, p.max_pipelines_per_month, p.max_concurrent_pipelines, p.has_plan,
         c.validation_status, c.encrypted_credential, c.metadata
       FROM (
         SELECT
           COUNT(CASE WHEN created_at >= CAST(@day AS TIMESTAMP) THEN 1 END) AS today,
           COUNT(CASE WHEN created_at >= CAST(@month_start AS TIMESTAMP) THEN 1 END) AS month,
           COUNT(CASE WHEN created_at >= CAST(@month_start AS TIMESTAMP) AND status IN ('PENDING', 'RUNNING') THEN 1 END)
             AS active,
           COUNT(CASE WHEN pipeline_path = @path AND status IN ('PENDING', 'RUNNING') THEN 1 END) AS active_same
         FROM ${CENTRAL_DATASET}.org_meta_pipeline_runs
         WHERE org_slug = @org_slug AND (created_at >= CAST(@month_start AS TIMESTAMP) OR status IN ('PENDING', 'RUNNING'))
       ) u
       LEFT JOIN (
         SELECT max_pipelines_per_day, max_pipelines_per_month, max_concurrent_pipelines, TRUE AS has_plan
         FROM ${CENTRAL_DATASET}.org_subscriptions
         WHERE org_slug = @org_slug AND status = 'ACTIVE' ORDER BY created_at DESC LIMIT 1
       ) p ON TRUE
       LEFT JOIN (
         SELECT validation_status, encrypted_credential, metadata FROM ${CENTRAL_DATASET}.org_integration_credentials
         WHERE org_slug = @org_slug AND provider = @provider AND is_active = TRUE LIMIT 1
       ) c ON TRUE`,
      {
        org_slug: orgSlug,
        path: pipelinePath,
        provider,
        day: `${day}T00:00:00Z`,
        month_start: `${day.slice(0, 7)}-01T00:00:00Z`,
      },
    );
    const n = (v: unknown) => Number(v ?? 0);
    return {
      activeSame: n(row?.active_same),
      usage: { today: n(row?.today), month: n(row?.month), active: n(row?.active) },
      ...(row?.has_plan
        ? {
          plan: {
            perDay: n(row.max_pipelines_per_day),
            perMonth: n(row.max_pipelines_per_month),
            concurrent: n(row.max_concurrent_pipelines),
          },
        }
        : {}),
      ...(row?.validation_status
        ? {
          credential: {
            status: String(row.validation_status),
            encrypted: String(row.encrypted_credential),
            metadata: row.metadata ?? {},
          },
        }
        : {}),
    };
  }

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
    await this.#batch.insert(CENTRAL_DATASET, RUNS_TABLE, [{
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
    await this.#batch.update(CENTRAL_DATASET, RUNS_TABLE, ["run_id"], {
      run_id: runId,
      status: "RUNNING",
      start_time: now,
      heartbeat_at: now,
      updated_at: now,
    });
  }

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
