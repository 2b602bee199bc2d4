/**
 * A run's lifecycle on its run row: RUNNING for each attempt, back to PENDING between whole-run retries of the
 * pipeline's `retry:` (only for failures a retry can fix, after its backoff, see retry.ts), a heartbeat while it
 * lives, and its end (COMPLETED/FAILED with counts and error) written again with backoff while the warehouse
 * refuses it. The run's outcome is known once its bookkeeping and its end are committed. Private to the pipeline
 * folder.
 */
import type { RunsStore } from "../central/runs.ts";
import { isRetryable, retriesOf, retryDelayMs } from "./retry.ts";
import { describeFailure } from "./_failure.ts";
import type { RunScope } from "./_scope.ts";

/** Waits `ms`, or less when `signal` aborts. */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

/** The run store, the clock, how to wait and the shutdown signal (a retry or an end write stops waiting at it). */
export interface LifecycleDeps {
  readonly runs: RunsStore;
  readonly now: () => Date;
  readonly sleep: Sleep;
  readonly shutdown: AbortSignal;
}

/** Steps finished by the current attempt and rows they wrote (read by the heartbeat). */
export interface Progress {
  completed: number;
  rows: number;
}

/** One attempt of the run; resolves with the error it failed with, or undefined. */
export type RunAttempt = (attempt: number, progress: Progress) => Promise<unknown>;

/** How the run ended. */
export interface RunEnd {
  readonly status: "COMPLETED" | "FAILED";
  readonly failure?: { readonly message: string; readonly code: string };
  readonly attempts: number;
  readonly rows: number;
}

/** How often a running run refreshes its heartbeat. */
const HEARTBEAT_MS = 30_000;

/** Waits between tries of the write that records a run's end (about 2 min in all). */
const END_WRITE_DELAYS_MS = [1_000, 2_000, 5_000, 10_000, 30_000, 60_000];

/** A timer that resolves early when `signal` aborts. */
export function timerSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

/**
 * Runs the run's attempts: the first, then up to `retry.attempts` more after a failure a retry can fix, each
 * after its backoff (the run is PENDING meanwhile and keeps its slot and its run_id); then records its end.
 */
export async function runLifecycle(deps: LifecycleDeps, scope: RunScope, attemptOnce: RunAttempt): Promise<RunEnd> {
  const { pipeline, log, ledger } = scope;
  const runId = scope.run.id;
  const t0 = performance.now();
  const progress: Progress = { completed: 0, rows: 0 };
  // A run's heartbeat tells other instances it is alive (runs silent for 2 min are abandoned on BigQuery), also
  // while it waits for a retry.
  const heartbeat = setInterval(
    () => ledger.book(deps.runs.heartbeat(runId, progress.completed, progress.rows, deps.now().toISOString())),
    HEARTBEAT_MS,
  );
  const retries = retriesOf(pipeline);
  let attempt = 1;
  let failure: { message: string; code: string } | undefined;
  try {
    for (;;) {
      progress.completed = 0;
      progress.rows = 0;
      ledger.book(deps.runs.markRunning(runId, deps.now().toISOString(), attempt));
      log.info("run started", { trigger: scope.run.trigger, steps: pipeline.steps.length, attempt });
      const error = await attemptOnce(attempt, progress);
      failure = error === undefined ? undefined : describeFailure(error, runId);
      if (!failure) break;
      if (attempt > retries || !isRetryable(error) || deps.shutdown.aborted) break;
      const delayMs = retryDelayMs(pipeline, attempt);
      log.warn("run attempt failed; the run is retried", {
        attempt,
        next_attempt: attempt + 1,
        delay_ms: delayMs,
        error: failure.message,
      });
      ledger.book(deps.runs.markRetrying(runId, attempt + 1, failure, deps.now().toISOString()));
      await deps.sleep(delayMs, deps.shutdown);
      if (deps.shutdown.aborted) break;
      attempt++;
    }
  } finally {
    clearInterval(heartbeat);
  }
  const status = failure ? "FAILED" : "COMPLETED";
  const durationMs = Math.round(performance.now() - t0);
  const finished = recordEnd(deps, scope, {
    status,
    now: deps.now().toISOString(),
    durationMs,
    stepsCompleted: progress.completed,
    rows: progress.rows,
    ...(failure ? { error: failure } : {}),
  });
  await ledger.settled();
  await finished;
  log.info("run finished", { status, rows: progress.rows, duration_ms: durationMs, attempts: attempt });
  return { status, ...(failure ? { failure } : {}), attempts: attempt, rows: progress.rows };
}

/**
 * Writes the run's end (status, counts, error), retrying with backoff while the warehouse refuses it (e.g. a
 * full disk being freed), so a run does not stay RUNNING because one write failed; after the last try (or at
 * shutdown) the error is logged and start-up's recovery marks the run FAILED.
 */
async function recordEnd(deps: LifecycleDeps, scope: RunScope, end: Parameters<RunsStore["finish"]>[1]): Promise<void> {
  const runId = scope.run.id;
  for (let i = 0;; i++) {
    try {
      return await deps.runs.finish(runId, end);
    } catch (err) {
      const detail = describeFailure(err, runId).detail;
      const delay = END_WRITE_DELAYS_MS[i];
      if (delay === undefined || deps.shutdown.aborted) {
        return scope.log.error("the run's end could not be recorded; start-up recovery marks it FAILED", {
          error: detail,
        });
      }
      scope.log.warn("recording the run's end failed; retrying", { try: i + 1, delay_ms: delay, error: detail });
      await deps.sleep(delay, deps.shutdown);
    }
  }
}
