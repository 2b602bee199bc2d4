/**
 * `GET /api/v1/organizations/{org_slug}/quota` (the org's key or the root key): the org's plan limits, what it has
 * used today, this month and right now, what remains, and when the day and month counts reset. Counted by the same
 * query as the run claim (src/pipeline/quota.ts), so what it shows is what the next run is checked against.
 */
import { z } from "zod";
import { nextMonthStart, nextUtcMidnight } from "../../src/pipeline/quota.ts";
import { notFound } from "../errors.ts";
import { defineRoute, type Route } from "../route.ts";
import { count, instant, orgParams } from "./_schemas.ts";

const quota = z.object({
  org_slug: z.string(),
  plan: z.string().meta({ description: "Plan of the org's active subscription, e.g. STARTER" }),
  limits: z.object({
    per_day: count("Runs a UTC day"),
    per_month: count("Runs a UTC calendar month"),
    concurrent: count("Runs PENDING or RUNNING at once"),
  }),
  used: z.object({
    today: count("Runs created since UTC midnight, any status"),
    month: count("Runs created since the first of the UTC month, any status"),
    running: count("Runs PENDING or RUNNING now (a run waiting for a retry included)"),
  }),
  remaining: z.object({
    today: count("Runs that can still start today (also bounded by the month)"),
    month: count(),
    concurrent: count(),
  }),
  resets: z.object({
    daily: instant.meta({ description: "Next UTC midnight" }),
    monthly: instant.meta({ description: "First instant of the next UTC month" }),
  }),
  as_of: instant,
});

export const quotaRoutes: readonly Route[] = [
  defineRoute({
    method: "GET",
    path: "/api/v1/organizations/{org_slug}/quota",
    auth: "root_or_org",
    tag: "organizations",
    summary: "Plan limits, runs used and what remains",
    description: "Plan limits, runs used today / this month / now, what remains and when the counts reset (UTC). " +
      "Counted like the run claim: runs of any pipeline and trigger; a retry is the same run.",
    params: orgParams,
    responses: { 200: { description: "The org's quota", schema: quota } },
    handler: (deps) => async (c, { params }) => {
      const slug = params.org_slug;
      const now = deps.now();
      const { plan, usage } = await deps.stores.quotas.orgState(slug, now);
      if (!plan) throw notFound(`Organization "${slug}" has no active subscription`);
      const left = (max: number, used: number) => Math.max(0, max - used);
      return c.json({
        org_slug: slug,
        plan: plan.name,
        limits: { per_day: plan.perDay, per_month: plan.perMonth, concurrent: plan.concurrent },
        used: { today: usage.today, month: usage.month, running: usage.running },
        remaining: {
          // A run today also needs room in the month.
          today: Math.min(left(plan.perDay, usage.today), left(plan.perMonth, usage.month)),
          month: left(plan.perMonth, usage.month),
          concurrent: left(plan.concurrent, usage.running),
        },
        resets: { daily: nextUtcMidnight(now).toISOString(), monthly: nextMonthStart(now).toISOString() },
        as_of: now.toISOString(),
      });
    },
  }),
];
