/**
 * The scheduler: a tick (Deno.cron or POST /scheduler/trigger) only ENQUEUES one item per (org, pipeline,
 * logical date) for every org whose integration is VALID; a bounded pool of workers drains the queue through
 * the run executor, retrying failed scheduled runs a bounded number of times with backoff.
 */
import { pipelines } from "../../generated/manifest.ts";
import type { PipelineModule } from "../pipeline/module.ts";
import { CREDENTIAL_PROVIDER, type RunExecutor } from "../pipeline/executor.ts";
import { ProcessorError, type ProcessorLogger } from "../processors/context.ts";
import { CENTRAL_DATASET } from "../orgs/api_keys.ts";
import type { Warehouse } from "../warehouse/warehouse.ts";
import { type Candidate, ExecutionQueue, type QueueItem } from "./queue.ts";
import { utcDay } from "../pipeline/template.ts";

export interface SchedulerOptions {
  /** Runs at once across this process (default 4). */
  readonly concurrency?: number;
  /** Attempts per scheduled item, the first included (default 3). */
  readonly maxAttempts?: number;
  /** First retry delay; doubles each attempt (default 60 s). */
  readonly backoffMs?: number;
  /** How long a claim holds before another worker may take it over (default 2 h). */
  readonly leaseMs?: number;
  readonly now?: () => Date;
}

/** Scheduled data pipelines: every pipeline with a `schedule`. */
export function scheduledPipelines(): PipelineModule[] {
  return Object.values(pipelines as Record<string, PipelineModule>).filter((p) => p.kind === "data" && p.schedule);
}

/** Whether a pipeline is due for a logical date: daily always; monthly on the first day of a month; cron daily. */
export function isDue(p: PipelineModule, logicalDate: string): boolean {
  if (p.schedule === "monthly") return logicalDate.endsWith("-01");
  return true;
}

/** The params of a scheduled run for its logical date, from the params the pipeline declares. */
export function scheduledParams(p: PipelineModule, logicalDate: string): Record<string, unknown> {
  const names = new Set(p.params.map((x) => x.name));
  const out: Record<string, unknown> = {};
  if (names.has("start_date")) out.start_date = logicalDate;
  if (names.has("end_date")) out.end_date = logicalDate;
  if (names.has("date")) out.date = logicalDate;
  if (names.has("month")) out.month = logicalDate.slice(0, 7);
  return out;
}

/** Failures a retry cannot fix: the item fails at once. */
const PERMANENT = new Set([
  "VALIDATION_ERROR",
  "INTEGRATION_NOT_READY",
  "DQ_CHECK_FAILED",
  "CREDENTIAL_INVALID",
  "NOT_IMPLEMENTED",
]);

/** DuckDB's and BigQuery's answers for a missing central dataset or queue table. */
const MISSING_DATASET =
  /(Schema|Table) with name \S+ does not exist|schema \S+ does not exist|Not found: (Dataset|Table)/i;
const runKey = (item: QueueItem) => `${item.org_slug}|${item.pipeline_path}`;

export interface EnqueueResult {
  readonly logical_date: string;
  readonly enqueued: number;
  readonly already_queued: number;
  readonly eligible: number;
}

export class Scheduler {
  readonly queue: ExecutionQueue;
  readonly #concurrency: number;
  readonly #maxAttempts: number;
  readonly #backoffMs: number;
  readonly #leaseMs: number;
  readonly #now: () => Date;
  #running = 0;
  #pumping = false;
  #wake: (() => void) | undefined;
  /** Org and pipeline of every running item. */
  readonly #busy = new Set<string>();
  /** Queue record writes in flight (the slot of their run is already free). */
  readonly #writes = new Set<Promise<void>>();
  #stopped = false;
  #idle: (() => void)[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly wh: Warehouse,
    private readonly executor: RunExecutor,
    private readonly logger: ProcessorLogger,
    opts: SchedulerOptions = {},
  ) {
    this.queue = new ExecutionQueue(wh, executor.workerId);
    this.#concurrency = opts.concurrency ?? 4;
    this.#maxAttempts = opts.maxAttempts ?? 3;
    this.#backoffMs = opts.backoffMs ?? 60_000;
    this.#leaseMs = opts.leaseMs ?? 2 * 3600_000;
    this.#now = opts.now ?? (() => new Date());
  }

  /** The logical date a tick at `now` covers: the UTC day before. */
  defaultLogicalDate(): string {
    return utcDay(this.#now(), -1);
  }

  /** Enqueues every due scheduled pipeline for every org whose integration is VALID. Idempotent per day. */
  async enqueueDay(
    logicalDate: string,
    opts: { trigger: string; orgs?: string[]; paths?: string[] } = { trigger: "scheduler" },
  ): Promise<EnqueueResult> {
    const due = scheduledPipelines().filter((p) =>
      isDue(p, logicalDate) && (!opts.paths || opts.paths.includes(p.path))
    );
    const valid = await this.wh.query<{ org_slug: string; provider: string }>(
      `SELECT c.org_slug, c.provider FROM ${CENTRAL_DATASET}.org_integration_credentials c
       JOIN ${CENTRAL_DATASET}.org_profiles p ON p.org_slug = c.org_slug
       WHERE c.is_active = TRUE AND c.validation_status = 'VALID' AND p.status = 'ACTIVE'`,
    );
    const byProvider = new Map<string, string[]>();
    for (const r of valid) {
      if (opts.orgs && !opts.orgs.includes(r.org_slug)) continue;
      byProvider.set(r.provider, [...(byProvider.get(r.provider) ?? []), r.org_slug]);
    }
    const candidates: Candidate[] = [];
    for (const p of due) {
      for (const org of byProvider.get(CREDENTIAL_PROVIDER[p.integration!]) ?? []) {
        candidates.push({
          org_slug: org,
          pipeline_path: p.path,
          pipeline_id: p.id,
          schedule: p.schedule!,
          logical_date: logicalDate,
          params: scheduledParams(p, logicalDate),
        });
      }
    }
    const enqueued = await this.queue.enqueue(candidates, opts.trigger, this.#maxAttempts, this.#now());
    this.logger.info("schedule enqueued", { logical_date: logicalDate, eligible: candidates.length, enqueued });
    this.kick();
    return {
      logical_date: logicalDate,
      enqueued,
      already_queued: candidates.length - enqueued,
      eligible: candidates.length,
    };
  }

  /** Starts draining the queue in the background (no-op when already draining). */
  kick(): void {
    if (this.#pumping || this.#stopped) return;
    this.#pumping = true;
    this.#pump().catch((err) => {
      // No central dataset (not bootstrapped yet, or force-recreated): nothing to do, not an error.
      if (!MISSING_DATASET.test(String((err as Error)?.message))) {
        this.logger.error("scheduler pump failed", { error: err });
      }
    }).finally(async () => {
      this.#pumping = false;
      await Promise.allSettled([...this.#writes]);
      if (this.#running === 0 && !this.#pumping) this.#idle.splice(0).forEach((r) => r());
    });
  }

  /** Resolves when nothing is running, nothing due is left to claim and the queue's records are written. */
  idle(): Promise<void> {
    if (!this.#pumping && this.#running === 0 && this.#writes.size === 0) return Promise.resolve();
    return new Promise((r) => this.#idle.push(r));
  }

  /**
   * Claims due items in batches (a quarter of the pool at least, so one claim feeds several runs) and starts
   * them as slots free up; a finished run wakes the pump at once. Two items of the same org and pipeline (e.g.
   * two days of a backfill) never run at once: the second waits for the first (a run of a pipeline that is
   * already running would be refused with 409).
   */
  async #pump(): Promise<void> {
    const ready: QueueItem[] = [];
    const batch = Math.max(1, Math.ceil(this.#concurrency / 4));
    while (!this.#stopped) {
      for (let i = 0; i < ready.length && this.#running < this.#concurrency;) {
        if (this.#busy.has(runKey(ready[i]!))) i++;
        else this.#start(ready.splice(i, 1)[0]!);
      }
      if (this.#running >= this.#concurrency || ready.length >= this.#concurrency) {
        await this.#slotFreed();
        continue;
      }
      const free = this.#concurrency - this.#running;
      const items = await this.queue.claim(Math.max(free, batch), this.#now(), this.#leaseMs);
      if (!items.length) {
        if (this.#running === 0) break;
        await this.#slotFreed();
        continue;
      }
      ready.push(...items);
    }
    // Stopped with claimed items not started: hand them back.
    if (ready.length) await this.queue.release(ready.splice(0), this.#now()).catch(() => {});
    while (this.#running > 0) await this.#slotFreed();
    // Retries are written by then, so the wake-up sees their time.
    await Promise.allSettled([...this.#writes]);
    this.#scheduleRetryWake();
  }

  #start(item: QueueItem): void {
    const key = runKey(item);
    this.#running++;
    this.#busy.add(key);
    this.#work(item).catch((err) => this.logger.error("scheduled item failed", { error: err })).finally(() => {
      this.#running--;
      this.#busy.delete(key);
      this.#wake?.();
    });
  }

  /** Resolves when a running item ends. */
  #slotFreed(): Promise<void> {
    return new Promise((resolve) => (this.#wake = () => {
      this.#wake = undefined;
      resolve();
    }));
  }

  /** Tracks a write of the queue's records; `idle()` waits for it. */
  #track(write: Promise<void>): void {
    const tracked = write.catch((err) => this.logger.error("scheduler record write failed", { error: err }))
      .finally(() => this.#writes.delete(tracked));
    this.#writes.add(tracked);
  }

  /** Wakes the pump when the earliest retry becomes due. */
  #scheduleRetryWake(): void {
    clearTimeout(this.#timer);
    if (this.#stopped) return;
    // Tracked like the record writes, so idle() (and a shutdown after it) never races this query.
    const query = this.wh.query<{ t: string | null }>(
      `SELECT MIN(not_before) AS t FROM ${CENTRAL_DATASET}.org_pipeline_execution_queue WHERE status = 'QUEUED'`,
    ).then(([row]) => {
      if (!row?.t || this.#stopped) return;
      const wait = Math.max(50, Date.parse(row.t) - this.#now().getTime());
      const timer = setTimeout(() => this.kick(), Math.min(wait, 3600_000));
      Deno.unrefTimer(timer as unknown as number);
      this.#timer = timer;
    }).catch(() => {}).finally(() => this.#writes.delete(query));
    this.#writes.add(query);
  }

  async #work(item: QueueItem): Promise<void> {
    const pipeline = (pipelines as Record<string, PipelineModule>)[item.pipeline_path];
    if (!pipeline) {
      return this.#track(
        this.queue.finish(item, "FAILED", null, `Pipeline "${item.pipeline_path}" no longer exists`, this.#now()),
      );
    }
    let runId: string | null = null;
    try {
      const started = await this.executor.start(pipeline, item.org_slug, item.params, {
        trigger: "scheduler",
        requestedBy: "scheduler",
        logicalDate: item.logical_date,
      });
      runId = started.runId;
      const outcome = await started.done;
      if (outcome.status === "COMPLETED") return this.#track(this.queue.finish(item, "DONE", runId, null, this.#now()));
      this.#failOrRetry(item, runId, outcome.error ?? "Run failed", !PERMANENT.has(outcome.errorCode ?? ""));
    } catch (err) {
      const retryable = !(err instanceof ProcessorError) || err.status === 409 || err.status >= 500;
      this.#failOrRetry(item, runId, err instanceof Error ? err.message : String(err), retryable);
    }
  }

  /** Records a failed item as retried later or failed for good (the write is tracked, not waited for). */
  #failOrRetry(item: QueueItem, runId: string | null, error: string, retryable: boolean): void {
    if (retryable && item.attempts < item.max_attempts) {
      const delay = this.#backoffMs * 2 ** (item.attempts - 1);
      this.logger.warn("scheduled run will be retried", {
        org_slug: item.org_slug,
        pipeline: item.pipeline_path,
        attempt: item.attempts,
        delay_ms: delay,
      });
      return this.#track(this.queue.retry(item, runId, error, delay, this.#now()));
    }
    this.#track(this.queue.finish(item, "FAILED", runId, error, this.#now()));
  }

  /** Start-up: release claims of dead workers and drain what is queued. */
  async resume(allWorkers: boolean): Promise<void> {
    const released = await this.queue.releaseExpired(this.#now(), allWorkers);
    if (released) this.logger.warn("released queue items claimed by a previous process", { items: released });
    this.kick();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}
