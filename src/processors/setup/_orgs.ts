/** Shared org checks for dryrun and onboarding. */
import { CENTRAL_DATASET } from "../../orgs/api_keys.ts";
import type { ProcessorContext } from "../context.ts";

/** The central tables onboarding writes; all must exist (bootstrap done). */
export const ONBOARDING_TABLES = ["org_profiles", "org_api_keys", "org_subscriptions", "org_usage_quotas"] as const;

export async function missingCentralTables(ctx: ProcessorContext): Promise<string[]> {
  if (!(await ctx.warehouse.datasetExists(CENTRAL_DATASET))) return [...ONBOARDING_TABLES];
  const missing: string[] = [];
  for (const t of ONBOARDING_TABLES) if (!(await ctx.warehouse.tableExists(CENTRAL_DATASET, t))) missing.push(t);
  return missing;
}

export async function orgExists(ctx: ProcessorContext, orgSlug: string): Promise<boolean> {
  const rows = await ctx.warehouse.query(
    `SELECT org_slug FROM ${CENTRAL_DATASET}.org_profiles WHERE org_slug = @org_slug LIMIT 1`,
    { org_slug: orgSlug },
  );
  return rows.length > 0;
}

export function orgDataset(ctx: ProcessorContext, orgSlug: string): string {
  return `${orgSlug}_${ctx.env.datasetSuffix}`;
}

/** The plan's limits from the seed rows of the step (configs/setup/organizations/onboarding/data/plans.csv). */
export function planLimits(ctx: ProcessorContext, plan: string): Record<string, unknown> | undefined {
  return ctx.step.seed?.rows.find((r) => r.plan_name === plan);
}
