/** What a {@link Scheduler} is built from: its stores, executor, logger and pipelines, and its tuning options. */
import type { RunExecutor } from "../pipeline/executor.ts";
import type { ProcessorLogger } from "../processors/context.ts";
import type { QueueStore } from "../central/queue.ts";
import type { ScheduleReads } from "../central/schedule_reads.ts";
import type { PipelineCatalog } from "./_catalog.ts";

/** The scheduler's stores, the executor that runs items, and every compiled pipeline by path (the manifest's). */
export interface SchedulerDeps {
  readonly queue: QueueStore;
  readonly reads: ScheduleReads;
  readonly executor: RunExecutor;
  readonly logger: ProcessorLogger;
  readonly pipelines: PipelineCatalog;
}

export interface SchedulerOptions {
  /** Runs at once across this process (default 4). */
  readonly concurrency?: number;
  /** Claims per item before it is FAILED for good when its start keeps failing (default 3). */
  readonly maxAttempts?: number;
  /** How long a claim holds before another worker may take it over (default 2 h). */
  readonly leaseMs?: number;
  /** Days back start-up looks for missed ticks (default 3; 0: no catch-up). */
  readonly catchupDays?: number;
  readonly now?: () => Date;
}
