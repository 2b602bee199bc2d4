/**
 * The run executor for data pipelines, the orchestrator of a run's parts: its params checked (_preflight.ts), its
 * admission (_admission.ts: the org's claim, the integration and quota checks and the PENDING run row, see
 * quota.ts), then in the background its lifecycle (_lifecycle.ts: attempts and whole-run retries, heartbeat, the
 * run's end), each attempt's steps (_step.ts: one step, its output written by _outputs.ts, its log row by
 * _bookkeeping.ts) and its notifications (_notify.ts). One `RunScope` (_scope.ts: pipeline, org, run id and
 * trigger, params, logger, ledger) travels between them and gives every processor its context. Callers may await
 * `done`; drain() stops the runs at shutdown.
 */
import type { PipelineModule } from "./module.ts";
import type { PipelineDeps } from "./run_sync.ts";
import type { RunsStore } from "../central/runs.ts";
import { OrgMutex } from "./quota.ts";
import { checkDateRange, CREDENTIAL_PROVIDER } from "./_preflight.ts";
import { type AdmissionDeps, admit, runInProgress } from "./_admission.ts";
import { type AdmittedRun, openScope, type RunRequest, type RunScope, type TaggableLogger } from "./_scope.ts";
import { type LifecycleDeps, type RunEnd, runLifecycle, type Sleep, timerSleep } from "./_lifecycle.ts";
import { runAttempt, type StepDeps } from "./_step.ts";
import { notify } from "./_notify.ts";
import type { RunTrigger } from "../processors/context.ts";

export { checkDateRange, CREDENTIAL_PROVIDER };
export type { RunRequest, RunTrigger, TaggableLogger };

export interface ExecutorDeps extends PipelineDeps {
  readonly logger: TaggableLogger;
  /**
   * Waits `ms` before a whole-run retry; resolves early when `signal` aborts (shutdown). Default: a timer.
   * Tests pass one that returns at once.
   */
  readonly sleep?: Sleep;
}

/** Why and for whom a run is started (recorded on its run row; the trigger also reaches its processors). */
export interface StartOptions {
  readonly trigger: RunTrigger;
  readonly requestedBy: string;
  readonly requestId?: string;
  readonly logicalDate?: string;
}

export interface RunOutcome {
  readonly runId: string;
  readonly status: "COMPLETED" | "FAILED";
  readonly error: string | null;
  readonly errorCode: string | null;
}

export interface StartedRun {
  readonly runId: string;
  readonly done: Promise<RunOutcome>;
}

export class RunExecutor {
  readonly runs: RunsStore;
  readonly workerId = `worker-${crypto.randomUUID().slice(0, 8)}`;
  /** Runs of this process by org and pipeline, until they end. */
  readonly #inFlight = new Map<string, Promise<RunOutcome>>();
  /** Attempts running now (aborted by drain()). */
  readonly #controllers = new Set<AbortController>();
  /** Notifications still being sent: they never hold up a run's outcome, but shutdown waits for them. */
  readonly #notifications = new Set<Promise<void>>();
  /** Aborted by drain(): runs waiting for a retry stop waiting and end. */
  readonly #shutdown = new AbortController();
  readonly #admission: AdmissionDeps;
  readonly #lifecycle: LifecycleDeps;
  readonly #steps: StepDeps;

  constructor(private readonly deps: ExecutorDeps) {
    this.runs = deps.stores.runs;
    const now = () => this.deps.now();
    this.#admission = { runs: this.runs, quotas: deps.stores.quotas, claims: new OrgMutex(), workerId: this.workerId };
    this.#lifecycle = { runs: this.runs, now, sleep: deps.sleep ?? timerSleep, shutdown: this.#shutdown.signal };
    this.#steps = { ...deps, now, runs: this.runs, controllers: this.#controllers };
  }

  /** Resolves when every notification started so far has been sent or has failed. */
  async notificationsSettled(): Promise<void> {
    await Promise.allSettled([...this.#notifications]);
  }

  /** Runs of this process that have not finished. */
  get active(): number {
    return this.#inFlight.size;
  }

  /**
   * Checks and records a run, then runs it in the background.
   * @throws AppError VALIDATION_ERROR, RUN_IN_PROGRESS, INTEGRATION_NOT_READY, QUOTA_EXCEEDED, CLAIM_CONTENDED
   */
  async start(pipeline: PipelineModule, orgSlug: string, raw: unknown, opts: StartOptions): Promise<StartedRun> {
    if (pipeline.kind !== "data") throw new Error(`Pipeline "${pipeline.path}" is not a data pipeline`);
    const now = this.deps.now();
    const request: RunRequest = { ...opts, pipeline, orgSlug, params: checkDateRange(pipeline, raw, now) };
    const lockKey = `${orgSlug}|${pipeline.path}`;
    if (this.#inFlight.has(lockKey)) throw runInProgress(request);
    // Claim the slot before any await that could interleave with a second request.
    let release!: (o: RunOutcome) => void;
    const done = new Promise<RunOutcome>((r) => (release = r));
    this.#inFlight.set(lockKey, done);
    try {
      const admitted = await admit(this.#admission, request, now);
      queueMicrotask(() => {
        this.#execute(admitted).then(
          release,
          (err) => release({ runId: admitted.runId, status: "FAILED", error: String(err), errorCode: "INTERNAL" }),
        ).finally(() => this.#inFlight.delete(lockKey));
      });
      return { runId: admitted.runId, done };
    } catch (err) {
      this.#inFlight.delete(lockKey);
      throw err;
    }
  }

  /** Runs an admitted run to its end, then sends its notifications without waiting for them. */
  async #execute(admitted: AdmittedRun): Promise<RunOutcome> {
    const scope = openScope(this.deps, admitted);
    const end = await runLifecycle(
      this.#lifecycle,
      scope,
      (attempt, progress) => runAttempt(this.#steps, scope, attempt, progress),
    );
    this.#notify(scope, end);
    return {
      runId: scope.run.id,
      status: end.status,
      error: end.failure?.message ?? null,
      errorCode: end.failure?.code ?? null,
    };
  }

  #notify(scope: RunScope, end: RunEnd): void {
    const sending = notify(this.deps, scope, end).finally(() => this.#notifications.delete(sending));
    this.#notifications.add(sending);
  }

  /** Aborts running steps (shutdown) and waits for the runs to record their end. */
  async drain(timeoutMs = 10_000): Promise<void> {
    this.#shutdown.abort(new Error("The server is shutting down"));
    for (const c of this.#controllers) c.abort(new Error("The server is shutting down"));
    await Promise.race([
      Promise.allSettled([...this.#inFlight.values()]),
      new Promise((r) => setTimeout(r, timeoutMs)),
    ]);
  }
}
