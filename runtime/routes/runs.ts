/** Run history of an org: the runs list and one run with its steps (of every attempt, `attempt` on each). */
import type { Hono, MiddlewareHandler } from "hono";
import { z } from "zod";
import type { Auth } from "../../src/pipeline/module.ts";
import { notFound } from "../errors.ts";
import { AppError } from "../../src/errors/mod.ts";
import { describeIssues } from "../../src/pipeline/run_sync.ts";
import type { AppDeps, AppEnv } from "../context.ts";

const listQuery = z.strictObject({
  pipeline: z.string().regex(/^[a-z0-9_/]{1,100}$/).optional(),
  status: z.enum(["PENDING", "RUNNING", "COMPLETED", "FAILED"]).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

export function mountRunRoutes(
  app: Hono<AppEnv>,
  deps: AppDeps,
  guard: (mode: Auth) => MiddlewareHandler<AppEnv>,
): void {
  app.get("/api/v1/pipelines/runs/:org_slug", guard("org"), async (c) => {
    const q = listQuery.safeParse(c.req.query());
    if (!q.success) throw new AppError("VALIDATION_ERROR", describeIssues(q.error.issues));
    const runs = await deps.stores.runs.list(c.req.param("org_slug"), q.data);
    return c.json({ org_slug: c.req.param("org_slug"), runs, count: runs.length });
  });

  app.get("/api/v1/pipelines/runs/:org_slug/:run_id", guard("org"), async (c) => {
    const params = { org_slug: c.req.param("org_slug"), run_id: c.req.param("run_id") };
    const run = await deps.stores.runs.detail(params.org_slug, params.run_id);
    if (!run) throw notFound(`Run "${params.run_id}" does not exist for "${params.org_slug}"`);
    return c.json(run);
  });
}
