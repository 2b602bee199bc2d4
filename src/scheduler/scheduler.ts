/**
 * The scheduler: a tick (Deno.cron, POST /scheduler/trigger, or start-up catch-up) only ENQUEUES one item per
 * (org, pipeline, logical date) for every org whose integration is VALID; a bounded pool of workers drains the
 * queue through the run executor. An org never has more items running here than its plan's concurrent runs; an
 * item refused for a busy slot (429 concurrent, 409 RUN_IN_PROGRESS) goes back to the queue without using an
 * attempt, and one refused at a daily or monthly limit is deferred, visibly, to when the limit resets. The
 * executor owns whole-run retries: an item whose run FAILED is FAILED, with the run's error.
 */
import type { PipelineModule } from "../pipeline/module.ts";
import { CREDENTIAL_PROVIDER, type RunExecutor } from "../pipeline/executor.ts";
import { type ProcessorLogger } from "../processors/context.ts";
import type { Candidate, QueueItem, QueueStore } from "../central/queue.ts";
import type { ScheduleReads } from "../central/schedule_reads.ts";
import type { SchedulerDeps, SchedulerOptions } from "./_options.ts";
import { type Day, dayFromIso, isoDay } from "../time/day.ts";
import { isDue, missedLogicalDays, reloadSpan, scheduledParams, tickLogicalDay } from "./calendar.ts";
import { mayPassLater, waitReason } from "./limits.ts";
import { NOT_BACKFILLABLE, type PipelineCatalog, scheduledPipelines } from "./_catalog.ts";

export { isDue, NOT_BACKFILLABLE, type PipelineCatalog, reloadSpan, scheduledParams, scheduledPipelines };
export type { SchedulerDeps, SchedulerOptions };

/** How long an item refused for a busy slot waits before it is claimed again (unless a run here frees one first). */
const SLOT_WAIT_MS = 5_000;
/** How long an org's plan concurrency is cached. */
const LIMIT_TTL_MS = 60_000;

/** DuckDB's and BigQuery's answers for a missing central dataset or queue table. */
const MISSING_DATASET =
  /(Schema|Table) with name \S+ does not exist|schema \S+ does not exist|Not found: (Dataset|Table)/i;
const runKey = (item: QueueItem) => `${item.org_slug}|${item.pipeline_path}`;

export interface EnqueueResult {
  readonly logical_date: string;
  readonly enqueued: number;
  readonly already_queued: number;
  /** FAILED items of the day queued again. */
  readonly requeued: number;
  readonly eligible: number;
}

export class Scheduler {
  readonly queue: QueueStore;
  readonly reads: ScheduleReads;
  readonly #executor: RunExecutor;
  readonly #logger: ProcessorLogger;
  readonly #pipelines: PipelineCatalog;
  readonly #concurrency: number;
  readonly #maxAttempts: number;
  readonly #leaseMs: number;
  readonly #catchupDays: number;
  readonly #now: () => Date;
  #running = 0;
  #pumping = false;
  #wake: (() => void) | undefined;
  /** Org and pipeline of every running item. */
  readonly #busy = new Set<string>();
  /** Items running here, per org. */
  readonly #orgRunning = new Map<string, number>();
  /** Plan concurrency per org, with when it was read. */
  readonly #orgLimit = new Map<string, { max: number; at: number }>();
  /** Queue record writes in flight (the slot of their run is already free). */
  readonly #writes = new Set<Promise<void>>();
  #stopped = false;
  #idle: (() => void)[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(deps: SchedulerDeps, opts: SchedulerOptions = {}) {
    this.queue = deps.queue;
    this.reads = deps.reads;
    this.#executor = deps.executor;
    this.#logger = deps.logger;
    this.#pipelines = deps.pipelines;
    this.#concurrency = opts.concurrency ?? 4;
    this.#maxAttempts = opts.maxAttempts ?? 3;
    this.#leaseMs = opts.leaseMs ?? 2 * 3600_000;
    this.#catchupDays = opts.catchupDays ?? 3;
    this.#now = opts.now ?? (() => new Date());
  }

  get maxAttempts(): number {
    return this.#maxAttempts;
  }

  /** The logical date a tick at `now` covers: the UTC day before. */
  defaultLogicalDate(): string {
    return isoDay(tickLogicalDay("daily", this.#now()));
  }

  /**
   * Enqueues every due scheduled pipeline for every org whose integration is VALID (idempotent per day), each
   * item's params covering the pipeline's reload window ending at the day (`reloadSpan`), and queues the day's
   * FAILED items again when `requeueFailed`.
   */
  async enqueueDay(
    logicalDate: string | Day,
    opts: { trigger: string; orgs?: string[]; paths?: string[]; requeueFailed?: boolean } = { trigger: "scheduler" },
  ): Promise<EnqueueResult> {
    const day = typeof logicalDate === "number" ? logicalDate : dayFromIso(logicalDate);
    if (day === undefined) throw new Error(`Logical date "${logicalDate}" is not a day written YYYY-MM-DD`);
    const iso = isoDay(day);
    const due = scheduledPipelines(this.#pipelines).filter((p) =>
      isDue(p, day) && (!opts.paths || opts.paths.includes(p.path))
    );
    const valid = await this.reads.validIntegrations();
    const byProvider = new Map<string, string[]>();
    for (const r of valid) {
      if (opts.orgs && !opts.orgs.includes(r.org_slug)) continue;
      byProvider.set(r.provider, [...(byProvider.get(r.provider) ?? []), r.org_slug]);
    }
    const candidates: Candidate[] = [];
    for (const p of due) {
      // One item (one run, one quota unit) for day D, covering the pipeline's reload window ending at D.
      const span = reloadSpan(p, day);
      for (const org of byProvider.get(CREDENTIAL_PROVIDER[p.integration!]) ?? []) {
        candidates.push({
          org_slug: org,
          pipeline_path: p.path,
          pipeline_id: p.id,
          schedule: p.schedule!,
          logical_date: iso,
          params: scheduledParams(p, span.start, span.end),
        });
      }
    }
    let requeued = 0;
    if (opts.requeueFailed) {
      const failed = (await this.queue.failed({ from: day, to: day })).filter((f) =>
        (!opts.orgs || opts.orgs.includes(f.org_slug)) && (!opts.paths || opts.paths.includes(f.pipeline_path))
      );
      requeued = (await this.queue.requeueFailed(failed, this.#now())).length;
    }
    const enqueued = await this.queue.enqueue(candidates, opts.trigger, this.#maxAttempts, this.#now());
    this.#logger.info("schedule enqueued", { logical_date: iso, eligible: candidates.length, enqueued, requeued });
    this.kick();
    return {
      logical_date: iso,
      enqueued,
      already_queued: candidates.length - enqueued,
      requeued,
      eligible: candidates.length,
    };
  }

  /**
   * Enqueues the logical days of the ticks missed in the last `catchupDays` days (idempotent: days already
   * queued are skipped by the queue's dedupe). A pipeline that cannot load a past day gets only the latest.
   */
  async catchUp(): Promise<{ logical_date: string; enqueued: number }[]> {
    const now = this.#now();
    const bySchedule = new Map<string, PipelineModule[]>();
    for (const p of scheduledPipelines(this.#pipelines)) {
      bySchedule.set(p.schedule!, [...(bySchedule.get(p.schedule!) ?? []), p]);
    }
    const out: { logical_date: string; enqueued: number }[] = [];
    for (const [schedule, ps] of bySchedule) {
      const days = missedLogicalDays(schedule, now, this.#catchupDays);
      for (const [i, day] of days.entries()) {
        const latest = i === days.length - 1;
        const paths = ps.filter((p) => latest || !(p.path in NOT_BACKFILLABLE)).map((p) => p.path);
        if (!paths.length) continue;
        const r = await this.enqueueDay(day, { trigger: "catchup", paths });
        out.push({ logical_date: r.logical_date, enqueued: r.enqueued });
      }
    }
    const enqueued = out.reduce((n, r) => n + r.enqueued, 0);
    if (enqueued) this.#logger.info("missed schedule ticks enqueued", { items: enqueued, days: out.length });
    return out;
  }

  /** Starts draining the queue in the background (no-op when already draining). */
  kick(): void {
    if (this.#pumping || this.#stopped) return;
    this.#pumping = true;
    this.#pump().catch((err) => {
      // No central dataset (not bootstrapped yet, or force-recreated): nothing to do, not an error.
      if (!MISSING_DATASET.test(String((err as Error)?.message))) {
        this.#logger.error("scheduler pump failed", { error: err });
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

  /** Items running in this process, per org. */
  running(): Record<string, number> {
    return Object.fromEntries(this.#orgRunning);
  }

  /** Whether an item may start now: its org and pipeline is not running here and its org has a free slot. */
  #startable(item: QueueItem): boolean {
    if (this.#busy.has(runKey(item))) return false;
    const max = this.#orgLimit.get(item.org_slug)?.max ?? 1;
    return (this.#orgRunning.get(item.org_slug) ?? 0) < max;
  }

  /** Reads the plan concurrency of the orgs not cached (or cached too long ago). */
  async #loadLimits(items: readonly QueueItem[]): Promise<void> {
    const at = Date.now();
    const orgs = [...new Set(items.map((i) => i.org_slug))].filter((o) =>
      at - (this.#orgLimit.get(o)?.at ?? -Infinity) > LIMIT_TTL_MS
    );
    if (!orgs.length) return;
    for (const [org, max] of await this.reads.concurrencyLimits(orgs)) this.#orgLimit.set(org, { max, at });
  }

  /**
   * Claims due items in batches (a quarter of the pool at least, so one claim feeds several runs) and starts
   * them as slots free up; a finished run wakes the pump at once. An item waits in memory while its org has as
   * many items running here as its plan allows, or its pipeline is already running for the org (a second run
   * would be refused with 409); other orgs' items are claimed past it, up to a bounded number held.
   */
  async #pump(): Promise<void> {
    const ready: QueueItem[] = [];
    const batch = Math.max(1, Math.ceil(this.#concurrency / 4));
    const hold = Math.max(16, this.#concurrency * 4);
    while (!this.#stopped) {
      for (let i = 0; i < ready.length && this.#running < this.#concurrency;) {
        if (this.#startable(ready[i]!)) this.#start(ready.splice(i, 1)[0]!);
        else i++;
      }
      if (this.#running >= this.#concurrency || ready.length >= hold) {
        await this.#slotFreed();
        continue;
      }
      const free = this.#concurrency - this.#running;
      const items = await this.queue.claim(this.#executor.workerId, Math.max(free, batch), this.#now(), this.#leaseMs);
      if (!items.length) {
        // Nothing running: the held items can start now (their org's slot freed during the claim), or none is left.
        if (this.#running === 0 && !ready.some((i) => this.#startable(i))) break;
        if (this.#running > 0) await this.#slotFreed();
        continue;
      }
      await this.#loadLimits(items);
      ready.push(...items);
    }
    // Stopped with claimed items not started: hand them back.
    if (ready.length) {
      await this.queue.release(this.#executor.workerId, ready.splice(0), this.#now()).catch(() => {});
    }
    while (this.#running > 0) await this.#slotFreed();
    // Put-back items are written by then, so the wake-up sees their time.
    await Promise.allSettled([...this.#writes]);
    this.#scheduleWake();
  }

  #start(item: QueueItem): void {
    const key = runKey(item);
    this.#running++;
    this.#busy.add(key);
    this.#orgRunning.set(item.org_slug, (this.#orgRunning.get(item.org_slug) ?? 0) + 1);
    this.#work(item).catch((err) => this.#logger.error("scheduled item failed", { error: err })).finally(() => {
      this.#running--;
      this.#busy.delete(key);
      const n = (this.#orgRunning.get(item.org_slug) ?? 1) - 1;
      if (n > 0) this.#orgRunning.set(item.org_slug, n);
      else this.#orgRunning.delete(item.org_slug);
      this.#notifyFreed();
    });
  }

  /** Resolves when a running item ends (at once when one ended since the last call: a wake-up is never lost). */
  #slotFreed(): Promise<void> {
    if (this.#freed) {
      this.#freed = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => (this.#wake = () => {
      this.#wake = undefined;
      resolve();
    }));
  }

  /** An item ended while the pump was not waiting for one. */
  #freed = false;

  #notifyFreed(): void {
    if (this.#wake) this.#wake();
    else this.#freed = true;
  }

  /** Tracks a write of the queue's records; `idle()` waits for it. */
  #track(write: Promise<void>): void {
    const tracked = write.catch((err) => this.#logger.error("scheduler record write failed", { error: err }))
      .finally(() => this.#writes.delete(tracked));
    this.#writes.add(tracked);
  }

  /** Wakes the pump when the earliest queued item becomes due (a put-back item or a deferred one). */
  #scheduleWake(): void {
    clearTimeout(this.#timer);
    if (this.#stopped) return;
    // Tracked like the record writes, so idle() (and a shutdown after it) never races this query.
    const query = this.queue.nextDue().then((due) => {
      if (!due || this.#stopped) return;
      const wait = Math.max(50, due.getTime() - this.#now().getTime());
      const timer = setTimeout(() => this.kick(), Math.min(wait, 3600_000));
      Deno.unrefTimer(timer as unknown as number);
      this.#timer = timer;
    }).catch(() => {}).finally(() => this.#writes.delete(query));
    this.#writes.add(query);
  }

  async #work(item: QueueItem): Promise<void> {
    const now = () => this.#now();
    const pipeline = this.#pipelines[item.pipeline_path];
    if (!pipeline) {
      return this.#track(
        this.queue.finish(item, "FAILED", null, `Pipeline "${item.pipeline_path}" no longer exists`, now()),
      );
    }
    let started;
    try {
      started = await this.#executor.start(pipeline, item.org_slug, item.params, {
        trigger: "scheduler",
        requestedBy: "scheduler",
        logicalDate: String(item.logical_date).slice(0, 10),
      });
    } catch (err) {
      return this.#refused(item, err);
    }
    this.#track(this.queue.markRunning(item, started.runId, now()));
    const outcome = await started.done;
    if (outcome.status === "COMPLETED") {
      return this.#track(this.queue.finish(item, "DONE", started.runId, null, now()));
    }
    this.#track(this.queue.finish(item, "FAILED", started.runId, outcome.error ?? "Run failed", now()));
  }

  /**
   * An item the executor would not start: back to the queue when the slot was busy (no attempt used), deferred
   * to the reset at a daily or monthly limit, tried again later when the start itself broke (an infrastructure
   * error, counted against `max_attempts`), FAILED for good otherwise (params, integration, no plan).
   */
  #refused(item: QueueItem, err: unknown): void {
    const now = this.#now();
    const wait = waitReason(err, now);
    if (wait) {
      const notBefore = wait.until ?? new Date(now.getTime() + (wait.retryAfterMs ?? SLOT_WAIT_MS));
      if (wait.until) {
        this.#logger.warn("scheduled item deferred", { org_slug: item.org_slug, pipeline: item.pipeline_path });
      }
      return this.#track(this.queue.requeue(item, notBefore, wait.reason, wait.until !== undefined, now));
    }
    const message = err instanceof Error ? err.message : String(err);
    const broken = mayPassLater(err);
    if (broken && item.attempts < item.max_attempts) {
      this.#logger.warn("scheduled item could not start; will try again", {
        org_slug: item.org_slug,
        pipeline: item.pipeline_path,
        attempt: item.attempts,
      });
      const back = { ...item, attempts: item.attempts + 1 }; // requeue() gives the attempt back; this one counts
      return this.#track(
        this.queue.requeue(back, new Date(now.getTime() + 30_000 * item.attempts), message, false, now),
      );
    }
    this.#track(this.queue.finish(item, "FAILED", null, message, now));
  }

  /**
   * Start-up: release claims of dead workers, enqueue the ticks missed while down (`catchUp`, default true: the
   * in-process schedule's job, so off with SCHEDULER_ENABLED=false), and drain what is queued.
   */
  async resume(allWorkers: boolean, opts: { catchUp?: boolean } = {}): Promise<void> {
    const released = await this.queue.releaseExpired(this.#now(), allWorkers);
    if (released) this.#logger.warn("released queue items claimed by a previous process", { items: released });
    if (opts.catchUp ?? true) {
      await this.catchUp().catch((err) => this.#logger.error("schedule catch-up failed", { error: err }));
    }
    this.kick();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}
