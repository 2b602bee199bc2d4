/**
 * A run's bookkeeping rows: one step log per step and attempt (`logStep`) and one data-quality row per check
 * (`logDq`), written through the runs store. The executor queues them on its `Book` and commits them before the
 * run reports its outcome. Private to the pipeline folder.
 */
import type { PipelineModule, StepDef } from "./module.ts";
import type { CheckOutcome } from "./checks.ts";
import type { RunsStore } from "../central/runs.ts";

/** Queues a bookkeeping write of the current run (committed before the run reports its outcome). */
export type Book = (write: Promise<unknown>) => void;

/** The runs store and the clock the rows are stamped with. */
export interface Bookkeeper {
  readonly runs: RunsStore;
  readonly now: () => Date;
}

/** The data-quality rows of one step's check outcomes. */
export async function logDq(
  books: Bookkeeper,
  pipeline: PipelineModule,
  step: StepDef,
  org: { slug: string; dataset: string },
  runId: string,
  outcomes: readonly CheckOutcome[],
): Promise<void> {
  const now = books.now().toISOString();
  await books.runs.logDq(outcomes.map((o) => ({
    dq_id: crypto.randomUUID(),
    run_id: runId,
    org_slug: org.slug,
    pipeline_path: pipeline.path,
    step_id: step.id,
    check_name: o.check.name,
    check_type: o.check.check,
    table_name: step.output!.table,
    column_names: [...(o.check.columns ?? [])],
    passed: o.passed,
    observed_value: String(o.observed),
    threshold: o.check.value !== undefined ? String(o.check.value) : null,
    severity: o.check.severity,
    message: o.message,
    checked_at: now,
  })));
}

/** The log row of one step in one attempt (timed as ending now, no times when SKIPPED). */
export async function logStep(
  books: Bookkeeper,
  at: { runId: string; orgSlug: string; pipeline: PipelineModule; attempt: number },
  step: StepDef,
  index: number,
  status: string,
  rows: number,
  ms: number,
  error: string | null,
): Promise<void> {
  const now = books.now().toISOString();
  await books.runs.logStep({
    step_log_id: crypto.randomUUID(),
    run_id: at.runId,
    org_slug: at.orgSlug,
    pipeline_path: at.pipeline.path,
    step_id: step.id,
    attempt: at.attempt,
    step_index: index,
    ps_type: step.psType,
    status,
    output_table: step.output?.table ?? null,
    rows_written: rows,
    start_time: status === "SKIPPED" ? null : new Date(Date.parse(now) - ms).toISOString(),
    end_time: status === "SKIPPED" ? null : now,
    duration_ms: ms,
    error_message: error,
    metadata: null,
    created_at: now,
  });
}
