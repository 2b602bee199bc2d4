/** Which pipelines the scheduler runs, and which of them cannot be backfilled (re-exported by scheduler.ts). */
import type { PipelineModule } from "../pipeline/module.ts";
import { PROVIDERS } from "../providers/catalogue.ts";

/** Every compiled pipeline by path (the generated manifest's `pipelines`, passed in at start-up). */
export type PipelineCatalog = Readonly<Record<string, PipelineModule>>;

/** Scheduled data pipelines of `pipelines`: every data pipeline with a `schedule`. */
export function scheduledPipelines(pipelines: PipelineCatalog): PipelineModule[] {
  return Object.values(pipelines).filter((p) => p.kind === "data" && p.schedule);
}

/**
 * Pipelines whose past days cannot be loaded again (a snapshot of the present): no backfill, catch-up of one day.
 * The pipelines of every catalogue provider that is not `backfillable`, with its reason.
 */
export const NOT_BACKFILLABLE: Readonly<Record<string, string>> = Object.fromEntries(
  PROVIDERS.flatMap((p) => p.backfillable ? [] : p.pipelines.map((path) => [path, p.noBackfillReason])),
);
