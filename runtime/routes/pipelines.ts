/** Routes generated from the manifest: every pipeline's own route, plus the catalogue. */
import type { Hono, MiddlewareHandler } from "hono";
import { pipelines, routes } from "../../generated/manifest.ts";
import type { PipelineModule } from "../../src/pipeline/module.ts";
import { ParamsError, runSync } from "../../src/pipeline/run_sync.ts";
import { ProcessorError } from "../../src/processors/context.ts";
import { ApiError } from "../errors.ts";
import { jsonBody } from "../body.ts";
import type { AppDeps, AppEnv } from "../context.ts";
import type { Auth } from "../../src/pipeline/module.ts";

/** Turns `{org_slug}` placeholders into Hono's `:org_slug`. */
export function honoPath(path: string): string {
  return path.replace(/\{([a-z_]+)\}/g, ":$1");
}

/** Maps failures of a pipeline to API errors; anything unknown goes on to the 500 handler. */
export function pipelineError(err: unknown): never {
  if (err instanceof ParamsError) throw new ApiError(400, "VALIDATION_ERROR", err.message);
  if (err instanceof ProcessorError) throw new ApiError(err.status, err.code, err.message, {}, err.details);
  throw err;
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
    params: p.params.map(({ name, type, required, description, enum: e, default: d, secret }) => ({
      name,
      type,
      required,
      ...(d !== undefined ? { default: d } : {}),
      ...(e ? { enum: e } : {}),
      ...(description ? { description } : {}),
      ...(secret ? { secret } : {}),
    })),
  };
}

export type RunStarter = (
  c: Parameters<MiddlewareHandler<AppEnv>>[0],
  pipeline: PipelineModule,
  body: Record<string, unknown>,
) => Promise<Response>;

export function mountPipelineRoutes(
  app: Hono<AppEnv>,
  deps: AppDeps,
  guard: (mode: Auth) => MiddlewareHandler<AppEnv>,
  startRun?: RunStarter,
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
        if (!startRun) {
          throw new ApiError(501, "NOT_IMPLEMENTED", `Runs of "${pipeline.path}" are not available in this build`);
        }
        return await startRun(c, pipeline, body);
      }
      const orgSlug = c.req.param("org_slug");
      const org = orgSlug ? { slug: orgSlug, dataset: `${orgSlug}_${deps.settings.datasetSuffix}` } : undefined;
      const logger = deps.logger.child({
        request_id: c.get("requestId"),
        pipeline: pipeline.path,
        ...(orgSlug ? { org_slug: orgSlug } : {}),
      });
      try {
        const result = await runSync(deps, pipeline, body, { ...(org ? { org } : {}), logger });
        return c.json(result, route.status as 200);
      } catch (err) {
        pipelineError(err);
      }
    });
  }
}
