/** Which pipelines the scheduler runs, and which of them cannot be backfilled (re-exported by scheduler.ts). */
import { pipelines } from "../../generated/manifest.ts";
import type { PipelineModule } from "../pipeline/module.ts";

/** Scheduled data pipelines: every pipeline with a `schedule`. */
export function scheduledPipelines(): PipelineModule[] {
  return Object.values(pipelines as Record<string, PipelineModule>).filter((p) => p.kind === "data" && p.schedule);
}

/** Pipelines whose past days cannot be loaded again (a snapshot of the present): no backfill, catch-up of one day. */
export const NOT_BACKFILLABLE: Readonly<Record<string, string>> = {
  "deepseek/usage_cost": "DeepSeek reports only the account balance as it is now (it has no usage history API), " +
    "so a past day's snapshot cannot be taken again; its scheduled daily runs record each day as it ends",
};
