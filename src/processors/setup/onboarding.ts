/**
 * `setup.organizations.onboarding`: profile, subscription, usage quotas and API key rows in one
 * transaction, then the org dataset. The key is returned once; a second onboard of a slug is 409.
 */
import { CENTRAL_DATASET } from "../../orgs/api_keys.ts";
import { onboardingSpec } from "../specs.ts";
import { defineProcessor } from "../registry.ts";
import { ProcessorError } from "../context.ts";
import { missingCentralTables, orgDataset, orgExists, planLimits } from "./_orgs.ts";

/** Slugs being onboarded by this process right now: two concurrent onboards of one slug cannot both pass the check. */
const inFlight = new Set<string>();

export const onboardingProcessor = defineProcessor(onboardingSpec, async (ctx, config) => {
  const slug = String(ctx.params.org_slug);
  const plan = String(ctx.params.subscription_plan);
  const limits = planLimits(ctx, plan);
  if (!limits) throw new ProcessorError(400, "UNKNOWN_PLAN", `Subscription plan "${plan}" is not defined in configs/`);
  const missing = await missingCentralTables(ctx);
  if (missing.length) {
    throw new ProcessorError(
      409,
      "BOOTSTRAP_REQUIRED",
      `Run POST /api/v1/admin/bootstrap first: missing ${missing.join(", ")}`,
    );
  }
  if (inFlight.has(slug)) throw new ProcessorError(409, "ORG_EXISTS", `Organization "${slug}" is being onboarded`);
  inFlight.add(slug);
  try {
    if (await orgExists(ctx, slug)) {
      throw new ProcessorError(409, "ORG_EXISTS", `Organization "${slug}" already exists`);
    }
    const now = ctx.now();
    const ts = now.toISOString();
    const dataset = orgDataset(ctx, slug);
    const key = await ctx.keys.issue(slug, config.api_key_random_chars, now);
    const t = ctx.pipeline.tables;
    const schema = (name: string) => {
      const s = t[name];
      if (!s) throw new Error(`Onboarding needs the schema of "${name}" in its generated module`);
      return s;
    };
    await ctx.warehouse.transaction(async (tx) => {
      await tx.insertRows(CENTRAL_DATASET, schema("org_profiles"), [{
        org_slug: slug,
        company_name: ctx.params.company_name,
        admin_email: ctx.params.admin_email,
        status: "ACTIVE",
        subscription_plan: plan,
        org_dataset_id: dataset,
        created_at: ts,
        updated_at: ts,
      }]);
      await tx.insertRows(CENTRAL_DATASET, schema("org_subscriptions"), [{
        ...limits,
        subscription_id: crypto.randomUUID(),
        org_slug: slug,
        plan_name: plan,
        status: "ACTIVE",
        starts_at: ts,
        created_at: ts,
        updated_at: ts,
      }]);
      await tx.insertRows(CENTRAL_DATASET, schema("org_usage_quotas"), [{
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
      }]);
      await tx.insertRows(CENTRAL_DATASET, schema("org_api_keys"), [key.row]);
    });
    try {
      await ctx.warehouse.ensureDataset(dataset);
    } catch (err) {
      // Undo the rows so a retry starts clean: an org without its dataset must not exist.
      for (const table of ["org_api_keys", "org_usage_quotas", "org_subscriptions", "org_profiles"]) {
        await ctx.warehouse.execute(`DELETE FROM ${CENTRAL_DATASET}.${table} WHERE org_slug = @org_slug`, {
          org_slug: slug,
        });
      }
      throw new Error(`Creating dataset "${dataset}" failed`, { cause: err });
    }
    ctx.logger.info("organization onboarded", { org_slug: slug, plan, dataset });
    return {
      rowsWritten: 4,
      response: {
        status: "SUCCESS",
        org_slug: slug,
        api_key: key.apiKey,
        api_key_fingerprint: key.fingerprint,
        dataset_id: dataset,
        dataset_created: true,
        subscription_plan: plan,
        limits: {
          max_pipelines_per_day: limits.max_pipelines_per_day,
          max_pipelines_per_month: limits.max_pipelines_per_month,
          max_concurrent_pipelines: limits.max_concurrent_pipelines,
        },
        message: "Store the API key now: it is shown once and cannot be retrieved",
      },
    };
  } finally {
    inFlight.delete(slug);
  }
});
