/**
 * Run and step rows in the central tables (`org_meta_pipeline_runs`, `org_meta_step_logs`, `org_meta_dq_results`):
 * the one writer and reader of them. The executor's writes go through the warehouse's {@link WriteBatcher} (group
 * commit), so the bookkeeping of many concurrent runs costs a few transactions, not several per run; each write's
 * promise resolves once it is committed. The run list and a run with its steps (by attempt) are read here too.
 */
import type { Warehouse, WarehouseTx } from "../warehouse/warehouse.ts";
import { WriteBatcher } from "../warehouse/batcher.ts";
import type { TableSchema } from "../schema/table_schema.ts";
import { CENTRAL_DATASET, tableOf, type TableSchemas } from "./tables.ts";

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

/** Columns of a run as the run list and the run detail show them. */
const RUN_COLUMNS =
  `run_id, org_slug, pipeline_id, pipeline_path, status, trigger, params, logical_date, start_time, end_time,
  duration_ms, steps_total, steps_completed, rows_written, error_message, error_code, attempt, created_at`;
/** Columns of a step log as the run detail shows them. */
const STEP_COLUMNS =
  "step_id, step_index, attempt, ps_type, status, output_table, rows_written, start_time, end_time, duration_ms, error_message";

/** Filters of {@link RunsStore.list}. */
export interface RunFilter {
  readonly pipeline?: string;
  readonly status?: RunStatus;
  /** Newest runs at most (an integer, 1..500). */
  readonly limit: number;
}

/** A run with its steps: `steps` of its latest attempt, `previous_attempts` (`[{attempt, steps}]`) oldest first. */
export type RunDetail = Record<string, unknown> & {
  steps: Record<string, unknown>[];
  previous_attempts: { attempt: number; steps: Record<string, unknown>[] }[];
};

/**
 * A run's step logs shown as `steps` (those of its latest attempt) and `previous_attempts` (`[{attempt, steps}]`,
 * oldest first, empty when the first try was the only one).
 */
export function stepsByAttempt(rows: Record<string, unknown>[]): Pick<RunDetail, "steps" | "previous_attempts"> {
  const byAttempt = new Map<number, Record<string, unknown>[]>();
  for (const r of rows) {
    const a = Number(r.attempt ?? 1);
    byAttempt.set(a, [...(byAttempt.get(a) ?? []), r]);
  }
  const attempts = [...byAttempt.keys()].sort((x, y) => x - y);
  const last = attempts.pop();
  return {
    steps: last === undefined ? [] : byAttempt.get(last)!,
    previous_attempts: attempts.map((attempt) => ({ attempt, steps: byAttempt.get(attempt)! })),
  };
}

export class RunsStore {
  readonly #batch: WriteBatcher;
  readonly #runs: TableSchema;
  readonly #steps: TableSchema;
  readonly #dq: TableSchema;

  /** @throws {Error} when `tables` lacks org_meta_pipeline_runs, org_meta_step_logs or org_meta_dq_results */
  constructor(private readonly wh: Warehouse, tables: TableSchemas) {
    this.#batch = WriteBatcher.for(wh);
    this.#runs = tableOf(tables, "org_meta_pipeline_runs");
    this.#steps = tableOf(tables, "org_meta_step_logs");
    this.#dq = tableOf(tables, "org_meta_dq_results");
  }

  /** Whether the runs table exists (a warehouse that was never bootstrapped has none). */
  ready(): Promise<boolean> {
    return this.wh.tableExists(CENTRAL_DATASET, this.#runs.table);
  }

  /** Resolves once every run write queued so far is committed. */
  flushed(): Promise<void> {
    return this.#batch.flushed();
  }

  /** Inserts the PENDING run row inside a claim transaction (committed with it). */
  async insertPendingIn(tx: WarehouseTx, row: PendingRun): Promise<void> {
    await tx.insertRows(CENTRAL_DATASET, this.#runs, [pendingRow(row)]);
  }

  /** Inserts a PENDING run row through the batcher, outside any claim (no plan limit is checked). */
  async insertPending(row: PendingRun): Promise<void> {
    await this.#batch.insert(CENTRAL_DATASET, this.#runs, [pendingRow(row)]);
  }

  /** Attempt `attempt` of the run starts (start_time is the first attempt's). */
  async markRunning(runId: string, now: string, attempt = 1): Promise<void> {
    if (attempt === 1) {
      await this.#batch.update(CENTRAL_DATASET, this.#runs, ["run_id"], {
        run_id: runId,
        status: "RUNNING",
        start_time: now,
        heartbeat_at: now,
        updated_at: now,
      });
      return;
    }
    await this.#batch.update(CENTRAL_DATASET, this.#runs, ["run_id"], {
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
    await this.#batch.update(CENTRAL_DATASET, this.#runs, ["run_id"], {
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
    await this.#batch.update(CENTRAL_DATASET, this.#runs, ["run_id"], {
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
    await this.#batch.update(CENTRAL_DATASET, this.#runs, ["run_id"], {
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
    await this.#batch.insert(CENTRAL_DATASET, this.#steps, [row]);
  }

  async logDq(rows: Record<string, unknown>[]): Promise<void> {
    await this.#batch.insert(CENTRAL_DATASET, this.#dq, rows);
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

  /** The org's newest runs, optionally of one pipeline and/or one status. */
  list(orgSlug: string, filter: RunFilter): Promise<Record<string, unknown>[]> {
    const limit = Math.trunc(filter.limit);
    if (!(limit >= 1 && limit <= 500)) throw new RangeError(`Run list limit must be 1..500, got ${filter.limit}`);
    return this.wh.query(
      `SELECT ${RUN_COLUMNS} FROM ${CENTRAL_DATASET}.org_meta_pipeline_runs
       WHERE org_slug = @org_slug AND (@pipeline IS NULL OR pipeline_path = @pipeline) AND (@status IS NULL OR status = @status)
       ORDER BY created_at DESC LIMIT ${limit}`,
      { org_slug: orgSlug, pipeline: filter.pipeline ?? null, status: filter.status ?? null },
    );
  }

  /** A run of the org with the steps of every attempt (see {@link stepsByAttempt}), or undefined when none. */
  async detail(orgSlug: string, runId: string): Promise<RunDetail | undefined> {
    const params = { org_slug: orgSlug, run_id: runId };
    const [run] = await this.wh.query(
      `SELECT ${RUN_COLUMNS} FROM ${CENTRAL_DATASET}.org_meta_pipeline_runs WHERE org_slug = @org_slug AND run_id = @run_id`,
      params,
    );
    if (!run) return undefined;
    const steps = await this.wh.query(
      `SELECT ${STEP_COLUMNS} FROM ${CENTRAL_DATASET}.org_meta_step_logs
       WHERE org_slug = @org_slug AND run_id = @run_id ORDER BY attempt, step_index`,
      params,
    );
    return { ...run, ...stepsByAttempt(steps) };
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
