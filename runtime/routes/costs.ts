/** `GET /api/v1/costs/{org_slug}`: cost across every provider from the org's own dataset (org key only). */
import type { Hono, MiddlewareHandler } from "hono";
import type { Auth } from "../../src/pipeline/module.ts";
import { parseCostsQuery } from "../../src/costs/query.ts";
import type { AppDeps, AppEnv } from "../context.ts";

export function mountCostRoutes(
  app: Hono<AppEnv>,
  deps: AppDeps,
  guard: (mode: Auth) => MiddlewareHandler<AppEnv>,
): void {
  app.get("/api/v1/costs/:org_slug", guard("org"), async (c) => {
    const orgSlug = c.req.param("org_slug");
    const req = parseCostsQuery(new URL(c.req.url).searchParams, deps.now());
    const dataset = `${orgSlug}_${deps.settings.datasetSuffix}`;
    const body = req.format === "focus"
      ? await deps.stores.costs.focusExport(dataset, req)
      : await deps.stores.costs.costSummary(dataset, req);
    return c.json({ org_slug: orgSlug, ...body });
  });
}
