/**
 * The checks a data run passes before its run row exists: its params and date range (400), its integration's
 * credential (422) and its org's plan limits (404 without a plan, 429 at a limit; counted inside the claim, see
 * quota.ts). Private to the pipeline folder; the executor re-exports `checkDateRange` and `CREDENTIAL_PROVIDER`.
 */
import type { PipelineModule } from "./module.ts";
import { resolveParams } from "./run_sync.ts";
import type { OrgState as Preflight } from "../central/quotas.ts";
import { noPlan, quotaExceeded } from "./quota.ts";
import { AppError } from "../errors/mod.ts";
import { CREDENTIAL_KEY_OF } from "../providers/catalogue.ts";

/** Credential row provider names by pipeline integration (the catalogue's `CREDENTIAL_KEY_OF`). */
export const CREDENTIAL_PROVIDER = CREDENTIAL_KEY_OF;

/**
 * The run's params resolved and checked (`resolveParams`: every date a real day 2015-01-01..today, start <= end,
 * at most 366 days). A bad date is a 400 naming its field, raised before any run row exists.
 */
export function checkDateRange(pipeline: PipelineModule, raw: unknown, now: Date): Record<string, unknown> {
  return resolveParams(pipeline, raw, now);
}

/** The VALID credential row of the pipeline's integration (undefined when it needs none). @throws 422 */
export function checkIntegration(
  pipeline: PipelineModule,
  provider: string | null,
  pre: Preflight,
): Preflight["credential"] | undefined {
  if (!provider) return undefined;
  const status = pre.credential?.status ?? "NOT_CONFIGURED";
  if (status !== "VALID") {
    throw new AppError(
      "INTEGRATION_NOT_READY",
      `Cannot run pipeline "${pipeline.path}": integration ${provider} is ${status}`,
    );
  }
  return pre.credential;
}

/** @throws 404 without an active subscription, 429 `QUOTA_EXCEEDED` at a plan limit (details: see quota.ts) */
export function checkQuota(orgSlug: string, pre: Preflight, now: Date): void {
  if (!pre.plan) throw noPlan(orgSlug);
  const exceeded = quotaExceeded(orgSlug, pre.plan, pre.usage, now);
  if (exceeded) throw exceeded;
}
