/**
 * A data run's scope, passed as one object instead of positions: what was asked (`RunRequest`: pipeline, org,
 * checked params, trigger, who asked), the run it became (`RunScope`: run id and trigger, the org's dataset, the
 * credential row read when it was admitted, its tagged logger and bookkeeping ledger), one attempt of it
 * (`AttemptScope`: attempt number, abort signal, the steps' shared state and template variables), and the
 * processor context built from them (`processorContext`). Private to the pipeline folder.
 */
import type { PipelineModule, StepDef } from "./module.ts";
import { contextBase, type PipelineDeps } from "./run_sync.ts";
import type { OrgState as Preflight } from "../central/quotas.ts";
import { type Ledger, openLedger } from "./_bookkeeping.ts";
import type { ProcessorContext, ProcessorLogger, RunTrigger } from "../processors/context.ts";

/** A logger that can be tagged with more fields (runtime/logger.ts's Logger is one). */
export interface TaggableLogger extends ProcessorLogger {
  child(fields: Record<string, unknown>): TaggableLogger;
}

/** A run as its caller asks for it, params already resolved and checked. */
export interface RunRequest {
  readonly pipeline: PipelineModule;
  readonly orgSlug: string;
  readonly params: Record<string, unknown>;
  readonly trigger: RunTrigger;
  readonly requestedBy: string;
  readonly requestId?: string;
  readonly logicalDate?: string;
}

/** A request that passed admission: its PENDING run row exists. */
export interface AdmittedRun {
  readonly request: RunRequest;
  readonly runId: string;
  /** The integration's credential row read inside the claim (undefined when the pipeline needs none). */
  readonly credential: Preflight["credential"] | undefined;
}

/** The org a run belongs to and the dataset its outputs go to. */
export interface OrgRef {
  readonly slug: string;
  readonly dataset: string;
}

/** Everything about one run that its attempts, steps, outputs and notifications read. */
export interface RunScope {
  readonly pipeline: PipelineModule;
  readonly org: OrgRef;
  /** The run as processors see it: its id and the trigger its run row records. */
  readonly run: { readonly id: string; readonly trigger: RunTrigger };
  readonly logicalDate?: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly credential: Preflight["credential"] | undefined;
  /** Tagged with org, pipeline and run id. */
  readonly log: TaggableLogger;
  /** Where the run's bookkeeping writes are queued. */
  readonly ledger: Ledger;
}

/** One attempt of a run. */
export interface AttemptScope extends RunScope {
  readonly attempt: number;
  /** Aborted when the attempt times out or the process shuts down. */
  readonly signal: AbortSignal;
  /** State the steps of this attempt share (the decrypted credential among it); cleared when it ends. */
  readonly state: Map<string, unknown>;
  /** Values of the `{{ ... }}` templates in the steps' config. */
  readonly vars: Record<string, unknown>;
}

/** The scope of an admitted run: the org's dataset, a logger tagged with the run, a new ledger. */
export function openScope(
  deps: { readonly env: PipelineDeps["env"]; readonly logger: TaggableLogger },
  admitted: AdmittedRun,
): RunScope {
  const { request, runId } = admitted;
  const log = deps.logger.child({ org_slug: request.orgSlug, pipeline: request.pipeline.path, run_id: runId });
  return {
    pipeline: request.pipeline,
    org: { slug: request.orgSlug, dataset: `${request.orgSlug}_${deps.env.datasetSuffix}` },
    run: { id: runId, trigger: request.trigger },
    ...(request.logicalDate ? { logicalDate: request.logicalDate } : {}),
    params: request.params,
    credential: admitted.credential,
    log,
    ledger: openLedger(log),
  };
}

/** What a processor of the run gets besides the run's scope: its step, logger, params and state. */
export interface ContextPart {
  readonly step: StepDef;
  readonly logger: ProcessorLogger;
  readonly params: Readonly<Record<string, unknown>>;
  readonly state: Map<string, unknown>;
  readonly signal?: AbortSignal;
}

/** The processor context of a step (or notification) of the run: the deps' clients, the run's org and trigger. */
export function processorContext(deps: PipelineDeps, scope: RunScope, part: ContextPart): ProcessorContext {
  return {
    ...contextBase(deps, part.logger),
    pipeline: scope.pipeline,
    step: part.step,
    org: scope.org,
    run: scope.run,
    params: part.params,
    state: part.state,
    ...(part.signal ? { signal: part.signal } : {}),
  };
}
