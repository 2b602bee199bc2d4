/** Run history of an org: the runs list and one run with its steps (of every attempt, `attempt` on each). */
import type { Hono, MiddlewareHandler } from "hono";
import { z } from "zod";
import { CENTRAL_DATASET } from "../../src/orgs/api_keys.ts";
import type { Auth } from "../../src/pipeline/module.ts";
import { notFound } from "../errors.ts";
import { AppError } from "../../src/errors/mod.ts";
import { describeIssues } from "../../src/pipeline/run_sync.ts";
import { STEP_COLUMNS, STEP_ORDER, stepsByAttempt } from "./pipelines.ts";
import type { AppDeps, AppEnv } from "../context.ts";

const listQuery = z.strictObject({
  pipeline: z.string().regex(/^[a-z0-9_/]{1,100}$/).optional(),
  status: z.enum(["PENDING", "RUNNING", "COMPLETED", "FAILED"]).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const RUN_COLUMNS =
  `run_id, org_slug, pipeline_id, pipeline_path, status, trigger, params, logical_date, start_time, end_time,
  duration_ms, steps_total, steps_completed, rows_written, error_message, error_code, attempt, created_at`;

export function mountRunRoutes(
  app: Hono<AppEnv>,
  deps: AppDeps,
  guard: (mode: Auth) => MiddlewareHandler<AppEnv>,
): void {
  app.get("/api/v1/pipelines/runs/:org_slug", guard("org"), async (c) => {
    const q = listQuery.safeParse(c.req.query());
    if (!q.success) throw new AppError("VALIDATION_ERROR", describeIssues(q.error.issues));
    const runs = await deps.warehouse.query(
      `SELECT ${RUN_COLUMNS} FROM ${CENTRAL_DATASET}.org_meta_pipeline_runs
       WHERE org_slug = @org_slug AND (@pipeline IS NULL OR pipeline_path = @pipeline) AND (@status IS NULL OR status = @status)
       ORDER BY created_at DESC LIMIT ${q.data.limit}`,
      { org_slug: c.req.param("org_slug"), pipeline: q.data.pipeline ?? null, status: q.data.status ?? null },
    );
    return c.json({ org_slug: c.req.param("org_slug"), runs, count: runs.length });
  });

  app.get("/api/v1/pipelines/runs/:org_slug/:run_id", guard("org"), async (c) => {
    const params = { org_slug: c.req.param("org_slug"), run_id: c.req.param("run_id") };
    const [run] = await deps.warehouse.query(
      `SELECT ${RUN_COLUMNS} FROM ${CENTRAL_DATASET}.org_meta_pipeline_runs WHERE org_slug = @org_slug AND run_id = @run_id`,
      params,
    );
    if (!run) throw notFound(`Run "${params.run_id}" does not exist for "${params.org_slug}"`);
    const steps = await deps.warehouse.query(
      `SELECT ${STEP_COLUMNS}
       FROM ${CENTRAL_DATASET}.org_meta_step_logs WHERE org_slug = @org_slug AND run_id = @run_id ${STEP_ORDER}`,
      params,
    );
    return c.json({ ...run, ...stepsByAttempt(steps) });
  });
}
