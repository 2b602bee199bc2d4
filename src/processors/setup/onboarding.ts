/**
 * `setup.organizations.onboarding`: all or nothing. The profile is the row that marks an org as onboarded, and it
 * never stands beside the dataset unless the whole onboard committed: a leftover profile (rows without dataset)
 * is deleted first, the org dataset is created next (DDL cannot join a transaction; idempotent), then one
 * transaction clears whatever an earlier, failed onboard of the slug left and writes the subscription, usage
 * quotas, API key and, last, the profile (so a backend whose transaction is not atomic never shows a profile
 * without its other rows). When the transaction fails, the dataset is dropped again if this call created it.
 * After any failure the slug is untouched or half-onboarded (rows without dataset, or a dataset without
 * profile), and onboarding it again repairs it; only a slug with both its profile and its dataset is 409
 * ORG_EXISTS. The key is returned once; `dataset_created` says whether this call created the dataset.
 */
import { onboardingSpec } from "../specs.ts";
import { defineProcessor } from "../registry.ts";
import { type ProcessorContext } from "../context.ts";
import { orgDataset, planLimits } from "./_orgs.ts";
import { ONBOARDING_TABLES } from "../../central/orgs.ts";
import { AppError } from "../../errors/mod.ts";

/** Slugs being onboarded by this process right now: two concurrent onboards of one slug cannot both pass the check. */
const inFlight = new Set<string>();

export const onboardingProcessor = defineProcessor(onboardingSpec, async (ctx, config) => {
  const slug = String(ctx.params.org_slug);
  const plan = String(ctx.params.subscription_plan);
  const limits = planLimits(ctx, plan);
  if (!limits) throw new AppError("UNKNOWN_PLAN", `Subscription plan "${plan}" is not defined in configs/`);
  const missing = await ctx.stores.orgs.missingTables();
  if (missing.length) {
    throw new AppError("BOOTSTRAP_REQUIRED", `Run POST /api/v1/admin/bootstrap first: missing ${missing.join(", ")}`);
  }
  if (inFlight.has(slug)) throw new AppError("ORG_EXISTS", `Organization "${slug}" is being onboarded`);
  inFlight.add(slug);
  try {
    const dataset = orgDataset(ctx, slug);
    const hasProfile = await ctx.stores.orgs.exists(slug);
    const datasetExisted = await ctx.warehouse.datasetExists(dataset);
    if (hasProfile && datasetExisted) {
      throw new AppError("ORG_EXISTS", `Organization "${slug}" already exists`);
    }
    const repair = hasProfile || datasetExisted;
    const now = ctx.now();
    const ts = now.toISOString();
    // The key (a vault call, which can fail) before the dataset: nothing to undo when it fails.
    const key = await ctx.stores.apiKeys.issue(slug, config.api_key_random_chars, now);
    if (hasProfile) {
      // Rows without dataset: the old profile goes before the dataset comes, so no crash from here on can leave a
      // profile beside a dataset (which would read as onboarded, with a key never returned).
      await ctx.stores.orgs.deleteProfile(slug);
    }
    if (!datasetExisted) await ctx.warehouse.ensureDataset(dataset);
    const response: Record<string, unknown> = {
      status: "SUCCESS",
      org_slug: slug,
      api_key: key.apiKey,
      api_key_fingerprint: key.fingerprint,
      dataset_id: dataset,
      dataset_created: !datasetExisted,
      repaired: repair,
      subscription_plan: plan,
      limits: {
        max_pipelines_per_day: limits.max_pipelines_per_day,
        max_pipelines_per_month: limits.max_pipelines_per_month,
        max_concurrent_pipelines: limits.max_concurrent_pipelines,
      },
      message: "Store the API key now: it is shown once and cannot be retrieved",
    };
    let cleared = 0;
    try {
      cleared = await ctx.stores.orgs.writeOnboarding(slug, {
        subscription: {
          ...limits,
          subscription_id: crypto.randomUUID(),
          org_slug: slug,
          plan_name: plan,
          status: "ACTIVE",
          starts_at: ts,
          created_at: ts,
          updated_at: ts,
        },
        usage: {
          usage_id: crypto.randomUUID(),
          org_slug: slug,
          usage_date: ts.slice(0, 10),
          pipelines_run_today: 0,
          pipelines_succeeded_today: 0,
          pipelines_failed_today: 0,
          pipelines_run_month: 0,
          concurrent_pipelines_running: 0,
          daily_limit: limits.max_pipelines_per_day,
          monthly_limit: limits.max_pipelines_per_month,
          concurrent_limit: limits.max_concurrent_pipelines,
          last_updated: ts,
        },
        key,
        profile: {
          org_slug: slug,
          company_name: ctx.params.company_name,
          admin_email: ctx.params.admin_email,
          status: "ACTIVE",
          subscription_plan: plan,
          org_dataset_id: dataset,
          created_at: ts,
          updated_at: ts,
        },
      }, async (tx) => await ctx.commitHook?.(tx, response));
    } catch (err) {
      if (!datasetExisted) await dropQuietly(ctx, dataset);
      throw new Error(`Writing the rows of organization "${slug}" failed`, { cause: err });
    }
    // Keys of an earlier, half-done attempt were deleted: no cached lookup may keep them alive.
    if (cleared || hasProfile) ctx.stores.apiKeys.forgetOrg(slug);
    ctx.logger.info(repair ? "organization onboarded (repaired a half-onboarded slug)" : "organization onboarded", {
      org_slug: slug,
      plan,
      dataset,
      dataset_created: !datasetExisted,
      ...(repair ? { leftover_rows_cleared: cleared } : {}),
    });
    return { rowsWritten: ONBOARDING_TABLES.length, response };
  } finally {
    inFlight.delete(slug);
  }
});

/** Undoes this call's dataset; a failure here leaves a dataset without rows, which the next onboard repairs. */
async function dropQuietly(ctx: ProcessorContext, dataset: string): Promise<void> {
  try {
    await ctx.warehouse.dropDataset(dataset);
  } catch (err) {
    ctx.logger.warn("dropping the dataset of a failed onboard failed; a re-onboard repairs it", {
      dataset,
      error: err instanceof Error ? err.message : String(err),
    });
  }
}
