/**
 * One attempt of a data run and its steps: the attempt's timeout, the org's dataset, the decrypted credential in
 * the steps' shared state, then each step in dependency order (its processor run in the step's context, its
 * output written, one log line at its start and end, its log row); after a failed step the rest are SKIPPED.
 * Private to the pipeline folder.
 */
import type { StepDef } from "./module.ts";
import { type PipelineDeps, templateVars } from "./run_sync.ts";
import { renderTemplates } from "./template.ts";
import type { RunsStore } from "../central/runs.ts";
import { CREDENTIAL_PROVIDER } from "./_preflight.ts";
import { describeFailure } from "./_failure.ts";
import { logStep } from "./_bookkeeping.ts";
import { writeOutput } from "./_outputs.ts";
import type { Progress } from "./_lifecycle.ts";
import { type AttemptScope, processorContext, type RunScope } from "./_scope.ts";
import type { ProcessorLogger, StepResult } from "../processors/context.ts";
import { AppError } from "../errors/mod.ts";

/** The clients a step uses, the runs store its rows go to, and the attempts running now (aborted at shutdown). */
export interface StepDeps extends PipelineDeps {
  readonly runs: RunsStore;
  readonly controllers: Set<AbortController>;
}

/** One attempt of the run: its steps in order. Resolves with the error it failed with, or undefined. */
export async function runAttempt(
  deps: StepDeps,
  scope: RunScope,
  attempt: number,
  progress: Progress,
): Promise<unknown> {
  const { pipeline, log, ledger } = scope;
  const controller = new AbortController();
  deps.controllers.add(controller);
  const timer = setTimeout(
    () => controller.abort(new Error(`Run timed out after ${pipeline.timeoutMinutes} min`)),
    pipeline.timeoutMinutes * 60_000,
  );
  const state = new Map<string, unknown>();
  let failed: { error: unknown } | undefined;
  try {
    await deps.warehouse.ensureDataset(scope.org.dataset);
    if (pipeline.integration) await loadCredential(deps, scope, state);
    const vars = templateVars(pipeline, scope.params, deps.env, {
      org: scope.org,
      run: { ...scope.run, ...(scope.logicalDate ? { date: scope.logicalDate } : {}) },
    });
    const at: AttemptScope = { ...scope, attempt, signal: controller.signal, state, vars };
    for (const [index, step] of pipeline.steps.entries()) {
      if (failed) {
        ledger.book(logStep(deps, at, step, { index, status: "SKIPPED", rows: 0, ms: 0, error: null }));
        continue;
      }
      const stepLog = log.child({ step_id: step.id });
      const s0 = performance.now();
      const steps = `${index + 1}/${pipeline.steps.length}`;
      stepLog.info("step started", { progress: steps, ps_type: step.psType, attempt });
      try {
        if (controller.signal.aborted) throw controller.signal.reason;
        const written = await runStep(deps, at, step, stepLog);
        progress.rows += written;
        progress.completed++;
        const ms = Math.round(performance.now() - s0);
        stepLog.info("step completed", { progress: steps, status: "COMPLETED", rows: written, duration_ms: ms });
        ledger.book(logStep(deps, at, step, { index, status: "COMPLETED", rows: written, ms, error: null }));
        // The run row counts finished steps while the run goes on (batched with other runs' updates).
        ledger.book(deps.runs.heartbeat(scope.run.id, progress.completed, progress.rows, deps.now().toISOString()));
      } catch (err) {
        const ms = Math.round(performance.now() - s0);
        failed = { error: err };
        const described = describeFailure(err, scope.run.id);
        stepLog.error("step failed", { progress: steps, status: "FAILED", duration_ms: ms, error: described.detail });
        ledger.book(logStep(deps, at, step, { index, status: "FAILED", rows: 0, ms, error: described.message }));
      }
    }
  } catch (err) {
    failed ??= { error: err };
    log.error("run failed before its steps", { error: describeFailure(err, scope.run.id).detail, attempt });
  } finally {
    clearTimeout(timer);
    deps.controllers.delete(controller);
    state.clear();
  }
  return failed?.error;
}

/** The credential of the pipeline's integration, decrypted into the attempt's state. @throws 422 */
async function loadCredential(deps: StepDeps, scope: RunScope, state: Map<string, unknown>): Promise<void> {
  const provider = CREDENTIAL_PROVIDER[scope.pipeline.integration!];
  const { credential, org } = scope;
  if (credential?.status !== "VALID") {
    throw new AppError("INTEGRATION_NOT_READY", `Integration ${provider} is not VALID for "${org.slug}"`);
  }
  state.set("credential", await deps.vault.decrypt(credential.encrypted, { org_slug: org.slug, provider }));
  state.set("credential_metadata", credential.metadata ?? {});
}

/** Runs one step's processor and writes its output; resolves with the rows written. */
async function runStep(deps: StepDeps, at: AttemptScope, step: StepDef, logger: ProcessorLogger): Promise<number> {
  const processor = deps.processors.get(step.psType);
  if (!processor) {
    throw new AppError("NOT_IMPLEMENTED", `Processor "${step.psType}" is not available in this build`);
  }
  const ctx = processorContext(deps, at, { step, logger, params: at.params, state: at.state, signal: at.signal });
  const result: StepResult = await processor.run(ctx, renderTemplates(step.config, at.vars));
  if (!step.output) return result.rowsWritten ?? 0;
  return await writeOutput(deps, at, step, result);
}
