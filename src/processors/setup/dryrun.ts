/**
 * `setup.organizations.dryrun`: every check onboarding would make, and nothing created. A half-onboarded slug
 * (profile without dataset, or dataset without profile) is ready: onboarding repairs it.
 */
import { dryrunSpec } from "../specs.ts";
import { defineProcessor } from "../registry.ts";
import { orgDataset, planLimits } from "./_orgs.ts";

interface Check {
  name: string;
  passed: boolean;
  message: string;
}

export const dryrunProcessor = defineProcessor(dryrunSpec, async (ctx, config) => {
  const slug = String(ctx.params.org_slug);
  const plan = String(ctx.params.subscription_plan);
  const checks: Check[] = [];
  const add = (name: string, passed: boolean, ok: string, bad: string) =>
    checks.push({ name, passed, message: passed ? ok : bad });
  add("org_slug_format", true, `Slug "${slug}" is valid`, "");
  add("admin_email_format", true, "Email is valid", "");
  add(
    "subscription_plan",
    planLimits(ctx, plan) !== undefined,
    `Plan ${plan} exists`,
    `Plan "${plan}" has no limits in configs/`,
  );
  let reachable = true;
  try {
    await ctx.warehouse.ping();
  } catch {
    reachable = false;
  }
  add("warehouse_reachable", reachable, "Warehouse answers", "Warehouse does not answer");
  const missing = reachable ? await ctx.stores.orgs.missingTables() : [];
  if (config.require_bootstrap) {
    add(
      "central_tables_exist",
      reachable && missing.length === 0,
      "Bootstrap is done",
      `Bootstrap first: missing ${missing.join(", ")}`,
    );
  }
  const hasProfile = reachable && missing.length === 0 ? await ctx.stores.orgs.exists(slug) : false;
  const dataset = orgDataset(ctx, slug);
  const datasetTaken = reachable ? await ctx.warehouse.datasetExists(dataset) : false;
  // Only a profile with its dataset is an onboarded org; either one alone is a failed onboard, which onboarding repairs.
  const half = hasProfile !== datasetTaken;
  add(
    "org_slug_available",
    !(hasProfile && datasetTaken),
    half ? `Slug "${slug}" is half-onboarded; onboarding repairs it` : `Slug "${slug}" is free`,
    `Organization "${slug}" already exists`,
  );
  add(
    "dataset_available",
    !(hasProfile && datasetTaken),
    datasetTaken ? `Dataset "${dataset}" exists without an org; onboarding reuses it` : `Dataset "${dataset}" is free`,
    `Dataset "${dataset}" already exists`,
  );
  const ready = checks.every((c) => c.passed);
  return {
    response: {
      status: ready ? "SUCCESS" : "FAILED",
      ready_for_onboarding: ready,
      org_slug: slug,
      dataset_id: dataset,
      subscription_plan: plan,
      checks,
    },
  };
});
