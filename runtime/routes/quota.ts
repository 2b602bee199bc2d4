/**
 * `GET /api/v1/organizations/{org_slug}/quota` (the org's key or the root key): the org's plan limits, what it has
 * used today, this month and right now, what remains, and when the day and month counts reset. Counted by the same
 * query as the run claim (src/central/quotas.ts), so what it shows is what the next run is checked against.
 */
import type { Hono, MiddlewareHandler } from "hono";
import type { Auth } from "../../src/pipeline/module.ts";
import { nextMonthStart, nextUtcMidnight } from "../../src/pipeline/quota.ts";
import { notFound } from "../errors.ts";
import type { AppDeps, AppEnv } from "../context.ts";

export function mountQuotaRoutes(
  app: Hono<AppEnv>,
  deps: AppDeps,
  guard: (mode: Auth) => MiddlewareHandler<AppEnv>,
): void {
  app.get("/api/v1/organizations/:org_slug/quota", guard("root_or_org"), async (c) => {
    const slug = c.req.param("org_slug");
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
  });
}
