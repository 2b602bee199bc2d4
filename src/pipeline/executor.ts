/**
 * The run executor for data pipelines: params, integration, concurrency and quota checks (claimed atomically
 * per org, see quota.ts), the run row (PENDING -> RUNNING -> COMPLETED/FAILED, back to PENDING between
 * whole-run retries of the pipeline's `retry:`, see retry.ts), steps in dependency order with a tagged logger,
 * step logs per attempt, data-quality results, atomic output writes and notifications. Runs go on in the
 * background; callers may await `done`. This file is the orchestration (start and claim, attempts, steps); its
 * parts are in the folder's private modules: _preflight.ts (params, integration and quota checks), _outputs.ts
 * (a step's output written with its checks), _bookkeeping.ts (step logs, check results), _notify.ts
 * (notifications) and _failure.ts (the tenant-safe error description).
 */
import type { PipelineModule, StepDef } from "./module.ts";
import { contextBase, type PipelineDeps, templateVars } from "./run_sync.ts";
import { renderTemplates } from "./template.ts";
import type { RunsStore } from "../central/runs.ts";
import type { OrgState as Preflight } from "../central/quotas.ts";
import { OrgMutex } from "./quota.ts";
import { isRetryable, retriesOf, retryDelayMs } from "./retry.ts";
import { describeFailure } from "./_failure.ts";
import { type Book, logStep } from "./_bookkeeping.ts";
import { type OutputDeps, writeOutput } from "./_outputs.ts";
import { notify } from "./_notify.ts";
import { checkDateRange, checkIntegration, checkQuota, CREDENTIAL_PROVIDER } from "./_preflight.ts";
import type { ProcessorContext, ProcessorLogger, StepResult } from "../processors/context.ts";
import { AppError } from "../errors/mod.ts";

export { checkDateRange, CREDENTIAL_PROVIDER };

/** A logger that can be tagged with more fields (runtime/logger.ts's Logger is one). */
export interface TaggableLogger extends ProcessorLogger {
  child(fields: Record<string, unknown>): TaggableLogger;
}

export interface ExecutorDeps extends PipelineDeps {
  readonly logger: TaggableLogger;
  /**
   * Waits `ms` before a whole-run retry; resolves early when `signal` aborts (shutdown). Default: a timer.
   * Tests pass one that returns at once.
   */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface StartOptions {
  readonly trigger: "api" | "scheduler" | "backfill";
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

/** How often a running run refreshes its heartbeat. */
const HEARTBEAT_MS = 30_000;

/** Waits between tries of the write that records a run's end (about 2 min in all). */
const END_WRITE_DELAYS_MS = [1_000, 2_000, 5_000, 10_000, 30_000, 60_000];

/** Steps finished by the current attempt and rows they wrote (read by the heartbeat). */
interface Progress {
  completed: number;
  rows: number;
}

function timerSleep(ms: number, signal: AbortSignal): Promise<void> {
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

function runIdFor(orgSlug: string, pipeline: PipelineModule, now: Date): string {
  const stamp = now.toISOString().replace(/[-:TZ.]/g, "").slice(0, 14);
  const rand = Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${orgSlug}-${pipeline.id}-${stamp}-${rand}`;
}

export class RunExecutor {
  readonly runs: RunsStore;
  readonly #inFlight = new Map<string, Promise<RunOutcome>>();
  readonly #controllers = new Set<AbortController>();
  /** Notifications still being sent: they never hold up a run's outcome, but shutdown waits for them. */
  readonly #notifications = new Set<Promise<void>>();
  readonly workerId = `worker-${crypto.randomUUID().slice(0, 8)}`;
  /** Claims of one org in this process wait for each other (other instances are held off by the claim lock). */
  readonly #claims = new OrgMutex();
  /** Aborted by drain(): runs waiting for a retry stop waiting and end. */
  readonly #shutdown = new AbortController();

  /** Where step logs and check results of runs are written. */
  readonly #books: OutputDeps;

  constructor(private readonly deps: ExecutorDeps) {
    this.runs = deps.stores.runs;
    this.#books = { runs: this.runs, now: () => this.deps.now(), warehouse: deps.warehouse };
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
    const params = checkDateRange(pipeline, raw, now);
    const lockKey = `${orgSlug}|${pipeline.path}`;
    const inProgress = () =>
      new AppError("RUN_IN_PROGRESS", `Pipeline "${pipeline.path}" is already running for "${orgSlug}"`);
    if (this.#inFlight.has(lockKey)) throw inProgress();
    // Claim the slot before any await that could interleave with a second request.
    let release!: (o: RunOutcome) => void;
    const done = new Promise<RunOutcome>((r) => (release = r));
    this.#inFlight.set(lockKey, done);
    try {
      const provider = pipeline.integration ? CREDENTIAL_PROVIDER[pipeline.integration] : null;
      const runId = runIdFor(orgSlug, pipeline, now);
      let credential: Preflight["credential"] | undefined;
      const quotas = this.deps.stores.quotas;
      // Count and claim in one transaction that holds the org's claim lock: no other claim of the org, from
      // any pipeline, trigger or instance, can count the same free slot. Committed before start() returns.
      await this.#claims.run(orgSlug, () =>
        quotas.claim(orgSlug, { now }, async (tx) => {
          const pre = await quotas.orgState(orgSlug, now, { pipelinePath: pipeline.path, provider }, tx);
          if (pre.activeSame > 0) throw inProgress();
          credential = checkIntegration(pipeline, provider, pre);
          checkQuota(orgSlug, pre, now);
          await this.runs.insertPendingIn(tx, {
            run_id: runId,
            org_slug: orgSlug,
            pipeline_id: pipeline.id,
            pipeline_path: pipeline.path,
            trigger: opts.trigger,
            params,
            logical_date: opts.logicalDate ?? (typeof params.start_date === "string" ? params.start_date : null),
            steps_total: pipeline.steps.length,
            requested_by: opts.requestedBy,
            request_id: opts.requestId ?? null,
            worker_id: this.workerId,
            now: now.toISOString(),
          });
        }));
      queueMicrotask(() => {
        this.#execute(pipeline, orgSlug, runId, params, opts, credential).then(
          release,
          (err) => release({ runId, status: "FAILED", error: String(err), errorCode: "INTERNAL" }),
        ).finally(() => this.#inFlight.delete(lockKey));
      });
      return { runId, done };
    } catch (err) {
      this.#inFlight.delete(lockKey);
      throw err;
    }
  }

  /**
   * Runs the run's attempts: the first, then up to `retry.attempts` more after a failure a retry can fix, each
   * after its backoff (the run is PENDING meanwhile and keeps its slot and its run_id).
   */
  async #execute(
    pipeline: PipelineModule,
    orgSlug: string,
    runId: string,
    params: Record<string, unknown>,
    opts: StartOptions,
    credential: Preflight["credential"] | undefined,
  ): Promise<RunOutcome> {
    const t0 = performance.now();
    const org = { slug: orgSlug, dataset: `${orgSlug}_${this.deps.env.datasetSuffix}` };
    const log = this.deps.logger.child({ org_slug: orgSlug, pipeline: pipeline.path, run_id: runId });
    // Bookkeeping writes (run status, step logs, check results) are group-committed and not waited for one by
    // one; the run's outcome is reported once all of them, and the final status, are committed.
    const writes: Promise<unknown>[] = [];
    const book: Book = (write) =>
      writes.push(
        write.catch((err) => log.warn("run bookkeeping write failed", { error: describeFailure(err).detail })),
      );
    const progress: Progress = { completed: 0, rows: 0 };
    // A run's heartbeat tells other instances it is alive (runs silent for 2 min are abandoned on BigQuery), also
    // while it waits for a retry.
    const heartbeat = setInterval(
      () => book(this.runs.heartbeat(runId, progress.completed, progress.rows, this.deps.now().toISOString())),
      HEARTBEAT_MS,
    );
    const retries = retriesOf(pipeline);
    const sleep = this.deps.sleep ?? timerSleep;
    let attempt = 1;
    let failure: { message: string; code: string } | undefined;
    try {
      for (;;) {
        progress.completed = 0;
        progress.rows = 0;
        book(this.runs.markRunning(runId, this.deps.now().toISOString(), attempt));
        log.info("run started", { trigger: opts.trigger, steps: pipeline.steps.length, attempt });
        const error = await this.#attempt(pipeline, org, runId, params, opts, credential, attempt, progress, log, book);
        failure = error === undefined ? undefined : describeFailure(error, runId);
        if (!failure) break;
        if (attempt > retries || !isRetryable(error) || this.#shutdown.signal.aborted) break;
        const delayMs = retryDelayMs(pipeline, attempt);
        log.warn("run attempt failed; the run is retried", {
          attempt,
          next_attempt: attempt + 1,
          delay_ms: delayMs,
          error: failure.message,
        });
        book(this.runs.markRetrying(runId, attempt + 1, failure, this.deps.now().toISOString()));
        await sleep(delayMs, this.#shutdown.signal);
        if (this.#shutdown.signal.aborted) break;
        attempt++;
      }
    } finally {
      clearInterval(heartbeat);
    }
    const status = failure ? "FAILED" : "COMPLETED";
    const durationMs = Math.round(performance.now() - t0);
    const finished = this.#recordEnd(runId, {
      status,
      now: this.deps.now().toISOString(),
      durationMs,
      stepsCompleted: progress.completed,
      rows: progress.rows,
      ...(failure ? { error: failure } : {}),
    }, log);
    await Promise.all(writes);
    await finished;
    log.info("run finished", { status, rows: progress.rows, duration_ms: durationMs, attempts: attempt });
    const sending = notify(this.deps, pipeline, org, runId, status, failure, log).finally(() =>
      this.#notifications.delete(sending)
    );
    this.#notifications.add(sending);
    return { runId, status, error: failure?.message ?? null, errorCode: failure?.code ?? null };
  }

  /**
   * Writes the run's end (status, counts, error), retrying with backoff while the warehouse refuses it (e.g. a
   * full disk being freed), so a run does not stay RUNNING because one write failed; after the last try (or at
   * shutdown) the error is logged and start-up's recovery marks the run FAILED.
   */
  async #recordEnd(runId: string, end: Parameters<RunsStore["finish"]>[1], log: TaggableLogger): Promise<void> {
    const sleep = this.deps.sleep ?? timerSleep;
    for (let i = 0;; i++) {
      try {
        return await this.runs.finish(runId, end);
      } catch (err) {
        const detail = describeFailure(err, runId).detail;
        const delay = END_WRITE_DELAYS_MS[i];
        if (delay === undefined || this.#shutdown.signal.aborted) {
          return log.error("the run's end could not be recorded; start-up recovery marks it FAILED", { error: detail });
        }
        log.warn("recording the run's end failed; retrying", { try: i + 1, delay_ms: delay, error: detail });
        await sleep(delay, this.#shutdown.signal);
      }
    }
  }

  /** One attempt of the run: its steps in order. Resolves with the error it failed with, or undefined. */
  async #attempt(
    pipeline: PipelineModule,
    org: { slug: string; dataset: string },
    runId: string,
    params: Record<string, unknown>,
    opts: StartOptions,
    credential: Preflight["credential"] | undefined,
    attempt: number,
    progress: Progress,
    log: TaggableLogger,
    book: Book,
  ): Promise<unknown> {
    const controller = new AbortController();
    this.#controllers.add(controller);
    const timer = setTimeout(
      () => controller.abort(new Error(`Run timed out after ${pipeline.timeoutMinutes} min`)),
      pipeline.timeoutMinutes * 60_000,
    );
    const state = new Map<string, unknown>();
    let failed: { error: unknown } | undefined;
    const at = { runId, orgSlug: org.slug, pipeline, attempt };
    try {
      await this.deps.warehouse.ensureDataset(org.dataset);
      if (pipeline.integration) await this.#loadCredential(pipeline, org.slug, credential, state);
      const vars = templateVars(pipeline, params, this.deps.env, org, {
        id: runId,
        trigger: opts.trigger,
        ...(opts.logicalDate ? { date: opts.logicalDate } : {}),
      });
      for (const [index, step] of pipeline.steps.entries()) {
        if (failed) {
          book(logStep(this.#books, at, step, index, "SKIPPED", 0, 0, null));
          continue;
        }
        const stepLog = log.child({ step_id: step.id });
        const s0 = performance.now();
        const steps = `${index + 1}/${pipeline.steps.length}`;
        stepLog.info("step started", { progress: steps, ps_type: step.psType, attempt });
        try {
          if (controller.signal.aborted) throw controller.signal.reason;
          const written = await this.#runStep(
            pipeline,
            step,
            org,
            { id: runId, trigger: opts.trigger },
            params,
            vars,
            state,
            stepLog,
            controller.signal,
            book,
          );
          progress.rows += written;
          progress.completed++;
          const ms = Math.round(performance.now() - s0);
          stepLog.info("step completed", { progress: steps, status: "COMPLETED", rows: written, duration_ms: ms });
          book(logStep(this.#books, at, step, index, "COMPLETED", written, ms, null));
          // The run row counts finished steps while the run goes on (batched with other runs' updates).
          book(this.runs.heartbeat(runId, progress.completed, progress.rows, this.deps.now().toISOString()));
        } catch (err) {
          const ms = Math.round(performance.now() - s0);
          failed = { error: err };
          const described = describeFailure(err, runId);
          stepLog.error("step failed", { progress: steps, status: "FAILED", duration_ms: ms, error: described.detail });
          book(logStep(this.#books, at, step, index, "FAILED", 0, ms, described.message));
        }
      }
    } catch (err) {
      failed ??= { error: err };
      log.error("run failed before its steps", { error: describeFailure(err, runId).detail, attempt });
    } finally {
      clearTimeout(timer);
      this.#controllers.delete(controller);
      state.clear();
    }
    return failed?.error;
  }

  async #loadCredential(
    pipeline: PipelineModule,
    orgSlug: string,
    credential: Preflight["credential"] | undefined,
    state: Map<string, unknown>,
  ): Promise<void> {
    const provider = CREDENTIAL_PROVIDER[pipeline.integration!];
    if (credential?.status !== "VALID") {
      throw new AppError("INTEGRATION_NOT_READY", `Integration ${provider} is not VALID for "${orgSlug}"`);
    }
    state.set("credential", await this.deps.vault.decrypt(credential.encrypted, { org_slug: orgSlug, provider }));
    state.set("credential_metadata", credential.metadata ?? {});
  }

  async #runStep(
    pipeline: PipelineModule,
    step: StepDef,
    org: { slug: string; dataset: string },
    run: { id: string; trigger: string },
    params: Record<string, unknown>,
    vars: Record<string, unknown>,
    state: Map<string, unknown>,
    logger: ProcessorLogger,
    signal: AbortSignal,
    book: Book,
  ): Promise<number> {
    const processor = this.deps.processors.get(step.psType);
    if (!processor) {
      throw new AppError("NOT_IMPLEMENTED", `Processor "${step.psType}" is not available in this build`);
    }
    const ctx: ProcessorContext = {
      ...contextBase(this.deps, logger),
      pipeline,
      step,
      org,
      run,
      params,
      state,
      signal,
    };
    const result: StepResult = await processor.run(ctx, renderTemplates(step.config, vars));
    if (!step.output) return result.rowsWritten ?? 0;
    return await writeOutput(this.#books, pipeline, step, org, run.id, result, book);
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
