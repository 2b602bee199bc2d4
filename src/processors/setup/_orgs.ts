/** Shared org helpers of dryrun and onboarding (the org rows themselves are the orgs store's). */
import type { ProcessorContext } from "../context.ts";

export function orgDataset(ctx: ProcessorContext, orgSlug: string): string {
  return `${orgSlug}_${ctx.env.datasetSuffix}`;
}

/** The plan's limits from the seed rows of the step (configs/setup/organizations/onboarding/data/plans.csv). */
export function planLimits(ctx: ProcessorContext, plan: string): Record<string, unknown> | undefined {
  return ctx.step.seed?.rows.find((r) => r.plan_name === plan);
}
