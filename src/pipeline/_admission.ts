/**
 * Admission of a data run: in one transaction that holds the org's claim lock (the quota store's `claim`), the
 * org's state is read, the run is refused when the same pipeline already runs for the org (409), its integration
 * is not VALID (422) or a plan limit is reached (404/429, see _preflight.ts), and otherwise its PENDING run row is
 * written. No other claim of the org, from any pipeline, trigger or instance, can count the same free slot; the
 * row is committed before admission returns. Private to the pipeline folder.
 */
import type { PipelineModule } from "./module.ts";
import type { RunsStore } from "../central/runs.ts";
import type { QuotaStore } from "../central/quotas.ts";
import type { OrgMutex } from "./quota.ts";
import { checkIntegration, checkQuota, CREDENTIAL_PROVIDER } from "./_preflight.ts";
import type { AdmittedRun, RunRequest } from "./_scope.ts";
import { AppError } from "../errors/mod.ts";

/** Where runs are claimed and recorded, and who claims them. */
export interface AdmissionDeps {
  readonly runs: RunsStore;
  readonly quotas: QuotaStore;
  /** Claims of one org in this process wait for each other (other instances are held off by the claim lock). */
  readonly claims: OrgMutex;
  readonly workerId: string;
}

/** The 409 of a pipeline that already runs for the org. */
export function runInProgress(request: Pick<RunRequest, "pipeline" | "orgSlug">): AppError {
  const { pipeline, orgSlug } = request;
  return new AppError("RUN_IN_PROGRESS", `Pipeline "${pipeline.path}" is already running for "${orgSlug}"`);
}

/** `{org}-{pipeline id}-{yyyymmddhhmmss}-{8 hex}`. */
function runIdFor(orgSlug: string, pipeline: PipelineModule, now: Date): string {
  const stamp = now.toISOString().replace(/[-:TZ.]/g, "").slice(0, 14);
  const rand = Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${orgSlug}-${pipeline.id}-${stamp}-${rand}`;
}

/**
 * Claims a slot for the run and writes its PENDING row.
 * @throws AppError RUN_IN_PROGRESS, INTEGRATION_NOT_READY, ORG_NOT_FOUND, QUOTA_EXCEEDED, CLAIM_CONTENDED
 */
export async function admit(deps: AdmissionDeps, request: RunRequest, now: Date): Promise<AdmittedRun> {
  const { pipeline, orgSlug, params } = request;
  const provider = pipeline.integration ? CREDENTIAL_PROVIDER[pipeline.integration] : null;
  const runId = runIdFor(orgSlug, pipeline, now);
  let credential: AdmittedRun["credential"];
  await deps.claims.run(orgSlug, () =>
    deps.quotas.claim(orgSlug, { now }, async (tx) => {
      const pre = await deps.quotas.orgState(orgSlug, now, { pipelinePath: pipeline.path, provider }, tx);
      if (pre.activeSame > 0) throw runInProgress(request);
      credential = checkIntegration(pipeline, provider, pre);
      checkQuota(orgSlug, pre, now);
      await deps.runs.insertPendingIn(tx, {
        run_id: runId,
        org_slug: orgSlug,
        pipeline_id: pipeline.id,
        pipeline_path: pipeline.path,
        trigger: request.trigger,
        params,
        logical_date: request.logicalDate ?? (typeof params.start_date === "string" ? params.start_date : null),
        steps_total: pipeline.steps.length,
        requested_by: request.requestedBy,
        request_id: request.requestId ?? null,
        worker_id: deps.workerId,
        now: now.toISOString(),
      });
    }));
  return { request, runId, credential };
}
