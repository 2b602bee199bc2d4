/** Run history of an org: the runs list and one run with its steps (of every attempt, `attempt` on each). */
import { z } from "zod";
import { CENTRAL_DATASET } from "../../src/orgs/api_keys.ts";
import { notFound } from "../errors.ts";
import { defineRoute, type Route } from "../route.ts";
import { STEP_COLUMNS, STEP_ORDER, stepsByAttempt } from "./pipelines.ts";
import { runRow, stepsOfRun } from "./_run_schemas.ts";
import { orgSlug } from "./_schemas.ts";

const listQuery = z.strictObject({
  pipeline: z.string().regex(/^[a-z0-9_/]{1,100}$/).optional().meta({ description: "Only runs of this pipeline" }),
  status: z.enum(["PENDING", "RUNNING", "COMPLETED", "FAILED"]).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const RUN_COLUMNS =
  `run_id, org_slug, pipeline_id, pipeline_path, status, trigger, params, logical_date, start_time, end_time,
  duration_ms, steps_total, steps_completed, rows_written, error_message, error_code, attempt, created_at`;

export const runRoutes: readonly Route[] = [
  defineRoute({
    method: "GET",
    path: "/api/v1/pipelines/runs/{org_slug}",
    auth: "org",
    tag: "runs",
    summary: "Recent runs",
    description: "The org's runs, newest first, optionally of one pipeline or status.",
    params: z.object({ org_slug: orgSlug }),
    query: listQuery,
    responses: {
      200: {
        description: "The runs",
        schema: z.object({ org_slug: z.string(), runs: z.array(runRow), count: z.number().int().min(0) }),
      },
    },
    handler: (deps) => async (c, { params, query }) => {
      const runs = await deps.warehouse.query(
        `SELECT ${RUN_COLUMNS} FROM ${CENTRAL_DATASET}.org_meta_pipeline_runs
         WHERE org_slug = @org_slug AND (@pipeline IS NULL OR pipeline_path = @pipeline) AND (@status IS NULL OR status = @status)
         ORDER BY created_at DESC LIMIT ${query.limit}`,
        { org_slug: params.org_slug, pipeline: query.pipeline ?? null, status: query.status ?? null },
      );
      return c.json({ org_slug: params.org_slug, runs, count: runs.length });
    },
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/pipelines/runs/{org_slug}/{run_id}",
    auth: "org",
    tag: "runs",
    summary: "One run with its steps",
    description: "One run with the steps of its latest attempt and those of earlier attempts.",
    params: z.object({ org_slug: orgSlug, run_id: z.string().meta({ description: "The run's id" }) }),
    responses: { 200: { description: "The run", schema: runRow.extend(stepsOfRun) } },
    handler: (deps) => async (c, { params }) => {
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
    },
  }),
];
