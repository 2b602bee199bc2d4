/** Routes generated from the manifest: every pipeline's own route, plus the catalogue. */
import type { Hono, MiddlewareHandler } from "hono";
import { pipelines, routes } from "../../generated/manifest.ts";
import type { PipelineModule } from "../../src/pipeline/module.ts";
import { runSync } from "../../src/pipeline/run_sync.ts";
import { AppError } from "../../src/errors/mod.ts";
import { jsonBody } from "../body.ts";
import type { AppDeps, AppEnv } from "../context.ts";
import type { Auth } from "../../src/pipeline/module.ts";
import { type CommitHook, idempotent, takesIdempotencyKey } from "../idempotency.ts";

/** Turns `{org_slug}` placeholders into Hono's `:org_slug`. */
export function honoPath(path: string): string {
  return path.replace(/\{([a-z_]+)\}/g, ":$1");
}

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

export function mountPipelineRoutes(
  app: Hono<AppEnv>,
  deps: AppDeps,
  guard: (mode: Auth) => MiddlewareHandler<AppEnv>,
  /** Called after an integration pipeline (setup/validate) of an org ran, whatever its outcome. */
  onIntegrationChange: (org: string) => void = () => {},
): void {
  app.get("/api/v1/pipelines", guard("root_or_org"), (c) => {
    const kind = c.req.query("kind");
    const list = Object.values(pipelines as Record<string, PipelineModule>)
      .filter((p) => (kind ? p.kind === kind : true))
      .map(catalogueEntry);
    return c.json({ pipelines: list, total: list.length });
  });

  for (const route of routes) {
    const pipeline = (pipelines as Record<string, PipelineModule>)[route.pipeline]!;
    app.on(route.method, honoPath(route.path), guard(route.auth), async (c) => {
      const body = await jsonBody(c);
      if (pipeline.kind === "data") {
        const orgSlug = c.req.param("org_slug")!;
        const wait = c.req.query("wait");
        if (wait !== undefined && wait !== "true" && wait !== "false") {
          throw new AppError("VALIDATION_ERROR", `Query "wait" must be true or false`);
        }
        const started = await deps.executor.start(pipeline, orgSlug, body, {
          trigger: "api",
          requestedBy: "api_key",
          requestId: c.get("requestId"),
        });
        if (wait !== "true") return c.json({ run_id: started.runId, status: "PENDING", pipeline: pipeline.path }, 202);
        const outcome = await started.done;
        const detail = await runDetail(deps, orgSlug, started.runId);
        return c.json({ ...detail, run_id: outcome.runId, status: outcome.status, error: outcome.error }, 200);
      }
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
          if (org && pipeline.kind === "integration") onIntegrationChange(org.slug);
        }
      };
      return takesIdempotencyKey(route.method, route.path)
        ? await idempotent(c, deps, body, route.status, exec)
        : await exec();
    });
  }
}
