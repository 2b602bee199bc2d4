/**
 * A run's bookkeeping rows: one step log per step and attempt (`logStep`) and one data-quality row per check
 * (`logDq`), written through the runs store. They are queued on the run's `Ledger` (group-committed, not waited
 * for one by one; a failed write is logged) and the run reports its outcome once the ledger has settled. Private
 * to the pipeline folder.
 */
import type { StepDef } from "./module.ts";
import type { CheckOutcome } from "./checks.ts";
import type { RunsStore } from "../central/runs.ts";
import type { AttemptScope, RunScope } from "./_scope.ts";
import { describeFailure } from "./_failure.ts";
import type { ProcessorLogger } from "../processors/context.ts";

/** Queues a bookkeeping write of the current run (committed before the run reports its outcome). */
export type Book = (write: Promise<unknown>) => void;

/** A run's queue of bookkeeping writes. */
export interface Ledger {
  readonly book: Book;
  /** Resolves when every write queued so far has been committed or has failed (and been logged). */
  settled(): Promise<void>;
}

/** A new ledger whose failed writes are logged as warnings on `log`. */
export function openLedger(log: ProcessorLogger): Ledger {
  const writes: Promise<unknown>[] = [];
  return {
    book: (write) => {
      writes.push(
        write.catch((err) => log.warn("run bookkeeping write failed", { error: describeFailure(err).detail })),
      );
    },
    settled: async () => {
      await Promise.all(writes);
    },
  };
}

/** The runs store and the clock the rows are stamped with. */
export interface Bookkeeper {
  readonly runs: RunsStore;
  readonly now: () => Date;
}

/** The data-quality rows of one step's check outcomes. */
export async function logDq(
  books: Bookkeeper,
  scope: Pick<RunScope, "pipeline" | "org" | "run">,
  step: StepDef,
  outcomes: readonly CheckOutcome[],
): Promise<void> {
  const now = books.now().toISOString();
  await books.runs.logDq(outcomes.map((o) => ({
    dq_id: crypto.randomUUID(),
    run_id: scope.run.id,
    org_slug: scope.org.slug,
    pipeline_path: scope.pipeline.path,
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

/** How one step of one attempt ended. */
export interface StepEnd {
  readonly index: number;
  readonly status: "COMPLETED" | "FAILED" | "SKIPPED";
  readonly rows: number;
  readonly ms: number;
  readonly error: string | null;
}

/** The log row of one step in one attempt (timed as ending now, no times when SKIPPED). */
export async function logStep(
  books: Bookkeeper,
  at: Pick<AttemptScope, "pipeline" | "org" | "run" | "attempt">,
  step: StepDef,
  end: StepEnd,
): Promise<void> {
  const now = books.now().toISOString();
  const skipped = end.status === "SKIPPED";
  await books.runs.logStep({
    step_log_id: crypto.randomUUID(),
    run_id: at.run.id,
    org_slug: at.org.slug,
    pipeline_path: at.pipeline.path,
    step_id: step.id,
    attempt: at.attempt,
    step_index: end.index,
    ps_type: step.psType,
    status: end.status,
    output_table: step.output?.table ?? null,
    rows_written: end.rows,
    start_time: skipped ? null : new Date(Date.parse(now) - end.ms).toISOString(),
    end_time: skipped ? null : now,
    duration_ms: end.ms,
    error_message: end.error,
    metadata: null,
    created_at: now,
  });
}
