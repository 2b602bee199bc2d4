/**
 * A run's notifications: once the run has its final status, each `notify:` entry whose trigger matches it
 * (`always`, `on_completion`, `on_success` or `on_failure`) runs its processor. A missing processor or a failed
 * notification is logged as a warning; the run keeps its status. Private to the pipeline folder.
 */
import type { PipelineModule } from "./module.ts";
import { contextBase, type PipelineDeps } from "./run_sync.ts";
import { describeFailure } from "./_failure.ts";
import type { ProcessorLogger } from "../processors/context.ts";

/** Sends the notifications of a finished run; never throws for a notification that fails. */
export async function notify(
  deps: PipelineDeps,
  pipeline: PipelineModule,
  org: { slug: string; dataset: string },
  runId: string,
  status: string,
  failure: { message: string } | undefined,
  log: ProcessorLogger,
): Promise<void> {
  const triggers = new Set(["always", "on_completion", status === "COMPLETED" ? "on_success" : "on_failure"]);
  for (const n of pipeline.notify) {
    if (!triggers.has(n.trigger)) continue;
    const processor = deps.processors.get(n.psType);
    if (!processor) {
      log.warn("notification processor not available", { ps_type: n.psType });
      continue;
    }
    try {
      await processor.run({
        ...contextBase(deps, log),
        pipeline,
        step: {
          id: `notify_${n.trigger}`,
          psType: n.psType,
          dependsOn: [],
          config: n.config,
          tables: [],
          checks: [],
        },
        org,
        run: { id: runId, trigger: n.trigger },
        params: { status, error: failure?.message ?? null },
        state: new Map(),
      }, n.config);
    } catch (err) {
      log.warn("notification failed; the run keeps its status", {
        ps_type: n.psType,
        error: describeFailure(err).detail,
      });
    }
  }
}
