/**
 * Routes generated from the manifest: every pipeline's own route, plus the catalogue. Each pipeline route's body
 * is its generated params schema, annotated from the params' definitions (descriptions, date format, defaults).
 */
import { z } from "zod";
import { pipelines, routes } from "../../generated/manifest.ts";
import type { ManifestRoute, ParamDef, PipelineModule } from "../../src/pipeline/module.ts";
import { runSync } from "../../src/pipeline/run_sync.ts";
import type { AppDeps } from "../context.ts";
import { type CommitHook, idempotent, takesIdempotencyKey } from "../idempotency.ts";
import { defineRoute, type Route, type Tag } from "../route.ts";
import { pipelineResponse } from "./_pipeline_responses.ts";
import { runRow, stepsOfRun } from "./_run_schemas.ts";

/** A run with its steps, as `GET /pipelines/runs/{org}/{run_id}` and `?wait=true` show it. */
export async function runDetail(deps: AppDeps, orgSlug: string, runId: string) {
  return await deps.stores.runs.detail(orgSlug, runId) ?? { steps: [], previous_attempts: [] };
}

/** A pipeline as the catalogue shows it (no secrets: params are descriptions only). */
export function catalogueEntry(p: PipelineModule) {
  return {
    path: p.path,
    id: p.id,
    description: p.description,
    kind: p.kind,
    integration: p.integration ?? null,
    schedule: p.schedule ?? null,
    method: p.route.method,
    route: `/api/v1${p.route.path}`,
    params: p.params.map(({ name, type, required, description, enum: e, default: d, secret, aliasOf }) => ({
      name,
      type,
      required,
      ...(d !== undefined ? { default: d } : {}),
      ...(aliasOf ? { alias_of: aliasOf } : {}),
      ...(e ? { enum: e } : {}),
      ...(description ? { description } : {}),
      ...(secret ? { secret } : {}),
    })),
  };
}

/** The documentation of one param, merged into its schema's JSON Schema. */
function paramMeta(p: ParamDef): Record<string, unknown> {
  const text: (string | undefined)[] = [p.description];
  const meta: Record<string, unknown> = {};
  if (p.aliasOf) {
    const names = p.aliasOf.map((n) => `"${n}"`).join(" and ");
    text.push(`Shorthand for ${names}, never given with ${p.aliasOf.length > 1 ? "them" : "it"}`);
    if (p.aliasNote) text.push(`Shorthands of ${names} must agree: ${p.aliasNote}`);
    meta["x-alias-of"] = [...p.aliasOf];
  }
  const templated = typeof p.default === "string" && p.default.includes("{{");
  if (p.type === "date") {
    meta.format = "date";
    text.push("A UTC day from 2015-01-01 to today");
    // `yesterday`/`today` are words, not days: said in the text, never as a `default` of a `format: date`.
    if (p.default !== undefined && !templated) text.push(`Default: ${p.default} (UTC)`);
  } else if (p.default !== undefined && !templated) meta.default = p.default;
  if (p.secret) meta.writeOnly = true;
  const description = text.filter(Boolean).join(". ");
  return description ? { ...meta, description } : meta;
}

/** The pipeline's params schema with each param's documentation attached (validation unchanged). */
function documentedParams(p: PipelineModule): z.ZodType {
  const schema = p.paramsSchema;
  if (!(schema instanceof z.ZodObject)) return schema;
  const shape = Object.fromEntries(
    Object.entries(schema.shape as Record<string, z.ZodType>).map(([name, s]) => {
      const def = p.params.find((d) => d.name === name);
      return [name, def ? s.meta(paramMeta(def)) : s];
    }),
  );
  return z.strictObject(shape);
}

const TAG: Record<PipelineModule["kind"], Tag> = { data: "pipelines", integration: "integrations", system: "admin" };
const waitQuery = z.object({
  wait: z.enum(["true", "false"], { error: `Query "wait" must be true or false` }).optional().meta({
    description: "true: answer once the run ends (200 with the run) instead of at once (202)",
  }),
});
const started = z.object({
  run_id: z.string(),
  status: z.literal("PENDING"),
  pipeline: z.string(),
});
const finished = runRow.omit({ status: true }).extend({
  status: z.enum(["COMPLETED", "FAILED"]),
  error: z.string().nullable().meta({ description: "Why the run failed; null when it completed" }),
  ...stepsOfRun,
});

const catalogue = z.object({
  pipelines: z.array(z.object({
    path: z.string(),
    id: z.string(),
    description: z.string(),
    kind: z.enum(["data", "system", "integration"]),
    integration: z.string().nullable(),
    schedule: z.string().nullable(),
    method: z.string(),
    route: z.string(),
    params: z.array(z.object({
      name: z.string(),
      type: z.string(),
      required: z.boolean(),
      default: z.union([z.string(), z.number(), z.boolean()]).optional(),
      alias_of: z.array(z.string()).optional(),
      enum: z.array(z.string()).optional(),
      description: z.string().optional(),
      secret: z.boolean().optional(),
    })),
  })),
  total: z.number().int().min(0),
});

function pipelineRoute(route: ManifestRoute): Route {
  const pipeline = (pipelines as Record<string, PipelineModule>)[route.pipeline]!;
  const data = pipeline.kind === "data";
  const common = {
    method: route.method,
    path: route.path,
    auth: route.auth,
    tag: TAG[pipeline.kind],
    summary: pipeline.description.split(/(?<=[.;:])\s/)[0]!.replace(/[.;:]$/, "").slice(0, 120),
    description: pipeline.description,
    bodyRequired: pipeline.params.some((p) => p.required),
  } as const;
  if (data) {
    return defineRoute({
      ...common,
      params: z.object({ org_slug: z.string().meta({ description: "The organization's slug" }) }),
      query: waitQuery,
      body: documentedParams(pipeline),
      errors: [409, 422, 503],
      responses: {
        202: { description: "The run is queued (without wait=true)", schema: started },
        200: { description: "With wait=true: the run once it ended, with its steps", schema: finished },
      },
      handler: (deps) => async (c, { params, query, body }) => {
        const orgSlug = params.org_slug;
        const wait = query.wait;
        const started = await deps.executor.start(pipeline, orgSlug, body, {
          trigger: "api",
          requestedBy: "api_key",
          requestId: c.get("requestId"),
        });
        if (wait !== "true") return c.json({ run_id: started.runId, status: "PENDING", pipeline: pipeline.path }, 202);
        const outcome = await started.done;
        const detail = await runDetail(deps, orgSlug, started.runId);
        return c.json({ ...detail, run_id: outcome.runId, status: outcome.status, error: outcome.error }, 200);
      },
    });
  }
  return defineRoute({
    ...common,
    ...(route.path.includes("{org_slug}")
      ? { params: z.object({ org_slug: z.string().meta({ description: "The organization's slug" }) }) }
      : {}),
    body: documentedParams(pipeline),
    errors: pipeline.kind === "integration" ? [409, 422, 502, 503] : [409, 422, 503],
    responses: { [route.status]: { description: "The pipeline ran", schema: pipelineResponse(pipeline) } },
    handler: (deps) => async (c, { body }) => {
      const orgSlug = c.req.param("org_slug");
      const org = orgSlug ? { slug: orgSlug, dataset: `${orgSlug}_${deps.settings.datasetSuffix}` } : undefined;
      const logger = deps.logger.child({
        request_id: c.get("requestId"),
        pipeline: pipeline.path,
        ...(orgSlug ? { org_slug: orgSlug } : {}),
      });
      const exec = async (commitHook?: CommitHook) => {
        try {
          const result = await runSync(deps, pipeline, body, {
            ...(org ? { org } : {}),
            logger,
            ...(commitHook ? { commitHook } : {}),
          });
          return c.json(result, route.status as 200);
        } finally {
          if (org && pipeline.kind === "integration") deps.statuses.invalidate(org.slug);
        }
      };
      return takesIdempotencyKey(route.method, route.path)
        ? await idempotent(c, deps, body, route.status, exec)
        : await exec();
    },
  });
}

/** The catalogue, then every pipeline's route from the manifest. */
export const pipelineRoutes: readonly Route[] = [
  defineRoute({
    method: "GET",
    path: "/api/v1/pipelines",
    auth: "root_or_org",
    tag: "pipelines",
    summary: "The pipeline catalogue",
    description: "Every pipeline with its route, kind, schedule and params (descriptions only, never values).",
    query: z.object({
      kind: z.string().optional().meta({ enum: ["data", "system", "integration"], description: "Only this kind" }),
    }),
    responses: { 200: { description: "The pipelines", schema: catalogue } },
    handler: () => (c, { query }) => {
      const kind = query.kind;
      const list = Object.values(pipelines as Record<string, PipelineModule>)
        .filter((p) => (kind ? p.kind === kind : true))
        .map(catalogueEntry);
      return c.json({ pipelines: list, total: list.length });
    },
  }),
  ...routes.map(pipelineRoute),
];
