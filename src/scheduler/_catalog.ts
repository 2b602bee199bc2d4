/** Which pipelines the scheduler runs, and which of them cannot be backfilled (re-exported by scheduler.ts). */
import { pipelines } from "../../generated/manifest.ts";
import type { PipelineModule } from "../pipeline/module.ts";
import { PROVIDERS } from "../providers/catalogue.ts";

/** Scheduled data pipelines: every pipeline with a `schedule`. */
export function scheduledPipelines(): PipelineModule[] {
  return Object.values(pipelines as Record<string, PipelineModule>).filter((p) => p.kind === "data" && p.schedule);
}

/**
 * Pipelines whose past days cannot be loaded again (a snapshot of the present): no backfill, catch-up of one day.
 * The pipelines of every catalogue provider that is not `backfillable`, with its reason.
 */
export const NOT_BACKFILLABLE: Readonly<Record<string, string>> = Object.fromEntries(
  PROVIDERS.flatMap((p) => p.backfillable ? [] : p.pipelines.map((path) => [path, p.noBackfillReason])),
);
