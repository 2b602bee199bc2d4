/**
 * A run's notifications: once the run has its final status, each `notify:` entry whose trigger matches it
 * (`always`, `on_completion`, `on_success` or `on_failure`) runs its processor, in the run's context (its org, run
 * id and run trigger), with `params` `{status, error}`. A missing processor or a failed notification is logged as
 * a warning; the run keeps its status. Private to the pipeline folder.
 */
import type { PipelineDeps } from "./run_sync.ts";
import { processorContext, type RunScope } from "./_scope.ts";
import { describeFailure } from "./_failure.ts";

/** How a run ended, as its notifications tell it. */
export interface RunEndNotice {
  readonly status: "COMPLETED" | "FAILED";
  readonly failure?: { readonly message: string };
}

/** Sends the notifications of a finished run; never throws for a notification that fails. */
export async function notify(deps: PipelineDeps, scope: RunScope, end: RunEndNotice): Promise<void> {
  const { pipeline, log } = scope;
  const triggers = new Set(["always", "on_completion", end.status === "COMPLETED" ? "on_success" : "on_failure"]);
  for (const n of pipeline.notify) {
    if (!triggers.has(n.trigger)) continue;
    const processor = deps.processors.get(n.psType);
    if (!processor) {
      log.warn("notification processor not available", { ps_type: n.psType });
      continue;
    }
    try {
      const step = {
        id: `notify_${n.trigger}`,
        psType: n.psType,
        dependsOn: [],
        config: n.config,
        tables: [],
        checks: [],
      };
      const params = { status: end.status, error: end.failure?.message ?? null };
      await processor.run(processorContext(deps, scope, { step, logger: log, params, state: new Map() }), n.config);
    } catch (err) {
      log.warn("notification failed; the run keeps its status", {
        ps_type: n.psType,
        error: describeFailure(err).detail,
      });
    }
  }
}
