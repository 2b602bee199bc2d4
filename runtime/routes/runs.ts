/** Run history of an org: the runs list and one run with its steps (of every attempt, `attempt` on each). */
import { z } from "zod";
import { notFound } from "../errors.ts";
import { defineRoute, type Route } from "../route.ts";
import { runRow, stepsOfRun } from "./_run_schemas.ts";
import { orgSlug } from "./_schemas.ts";

const listQuery = z.strictObject({
  pipeline: z.string().regex(/^[a-z0-9_/]{1,100}$/).optional().meta({ description: "Only runs of this pipeline" }),
  status: z.enum(["PENDING", "RUNNING", "COMPLETED", "FAILED"]).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

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
      const runs = await deps.stores.runs.list(params.org_slug, query);
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
      const run = await deps.stores.runs.detail(params.org_slug, params.run_id);
      if (!run) throw notFound(`Run "${params.run_id}" does not exist for "${params.org_slug}"`);
      return c.json(run);
    },
  }),
];
