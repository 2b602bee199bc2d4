/** The Hono app: request id, CORS, body limit, logging and one onError; routes from the manifest and the runtime. */
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { bodyLimit } from "hono/body-limit";
import type { Auth } from "../src/pipeline/module.ts";
import { errorBody, onError } from "./errors.ts";
import { AppError } from "../src/errors/mod.ts";
import { assignRequestId } from "./middleware/request_id.ts";
import { auth } from "./middleware/auth.ts";
import { rootKeyChecker } from "./middleware/root_key.ts";
import { rateLimit, TokenBuckets } from "./middleware/rate_limit.ts";
import { clientLimit } from "./middleware/client_limit.ts";
import type { AppDeps, AppEnv } from "./context.ts";
import type { StatusRow } from "./routes/integrations.ts";
import { StatusCache } from "./status_cache.ts";
import { mountRoutes, type RouteDeps } from "./route.ts";
import { API_ROUTES } from "./routes/mod.ts";
import { buildOpenApi } from "./openapi.ts";

let document: Record<string, unknown> | undefined;
/** The OpenAPI document of every route, built once per process. */
export function openApiDocument(): Record<string, unknown> {
  return document ??= buildOpenApi(API_ROUTES);
}

/** Builds the app. Throws when the settings cannot work (e.g. a short root key). */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const { settings, logger } = deps;
  const app = new Hono<AppEnv>();
  const checkRoot = rootKeyChecker(deps.rootKey, deps.previousRootKey);
  logger.addSecret(deps.rootKey);
  if (deps.previousRootKey) logger.addSecret(deps.previousRootKey);
  const buckets = new TokenBuckets(settings.rateLimit);
  const limiter = rateLimit(buckets);
  // Before the key lookup: requests with no known credential, per client (same rate and burst as per org).
  const gate = clientLimit(new TokenBuckets(settings.rateLimit), {
    trustedProxyHops: settings.trustedProxyHops,
    isKnown: (c) => {
      const key = c.req.header("X-API-Key");
      if (key) return deps.stores.apiKeys.isCached(key);
      return checkRoot(c.req.header("X-CA-Root-Key"));
    },
  });
  const guard = (mode: Auth): MiddlewareHandler<AppEnv> => {
    const a = auth(mode, { keys: deps.stores.apiKeys, checkRoot, disabled: settings.disableAuth });
    if (!settings.rateLimitEnabled || mode === "none") return a;
    return async function guardMiddleware(c, next) {
      const authed = async () => {
        await a(c, async () => {
          await limiter(c, next);
        });
      };
      await (settings.disableAuth ? authed() : gate(c, authed));
    };
  };

  app.onError(onError(logger));
  app.notFound(notFoundHandler);
  const corsHandler = cors({
    origin: (origin) => (settings.corsOrigins.includes(origin) ? origin : null),
    allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    allowHeaders: ["Content-Type", "X-API-Key", "X-CA-Root-Key", "X-Request-ID", "X-User-ID", "Idempotency-Key"],
    exposeHeaders: ["X-Request-ID", "Retry-After", "RateLimit", "RateLimit-Policy", "Idempotent-Replayed"],
    maxAge: 600,
  });
  // Request id, CORS and the access log line in one middleware (each layer costs every request).
  app.use("*", async function front(c, next) {
    const t0 = performance.now();
    const id = assignRequestId(c);
    // Requests without an Origin are not cross-origin browser requests: no CORS work for them.
    if (c.req.header("Origin")) {
      const preflight = await corsHandler(c, next); // an OPTIONS preflight answers without calling next
      if (preflight) c.res = preflight;
    } else await next();
    const identity = c.get("auth");
    logger.info("request", {
      request_id: id,
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      duration_ms: Math.round((performance.now() - t0) * 10) / 10,
      ...(identity?.kind === "org" ? { org_slug: identity.orgSlug } : {}),
    });
  });
  const limitBody = bodyLimit({
    maxSize: settings.maxBodyBytes,
    onError: () => {
      throw new AppError("PAYLOAD_TOO_LARGE", `Request body exceeds ${settings.maxBodyBytes} bytes`);
    },
  });
  // Only on methods with a body: GET and HEAD routes do not even pass through it (a layer costs every request).
  app.on(["POST", "PUT", "PATCH", "DELETE", "OPTIONS"], "*", limitBody);

  // Routes see the app's deps (through the prototype, so later changes show) plus per-app state.
  const routeDeps: RouteDeps = Object.assign(Object.create(deps) as AppDeps, {
    statuses: new StatusCache<StatusRow[]>(),
    openapi: openApiDocument(),
  });
  mountRoutes(app, API_ROUTES, routeDeps, guard);
  return app;
}

const PIPELINE_RUN = /^\/api\/v1\/pipelines\/run\/[^/]+\/(.+)$/;

/** 404 for an unknown route; an unknown pipeline's run path points at the list of pipelines. */
function notFoundHandler(c: Context) {
  const pipeline = PIPELINE_RUN.exec(c.req.path)?.[1];
  if (pipeline !== undefined) {
    return errorBody(
      c,
      404,
      "NOT_FOUND",
      `No pipeline "${pipeline.slice(0, 100)}"; GET /api/v1/pipelines lists the pipelines and their run paths`,
    );
  }
  return errorBody(c, 404, "NOT_FOUND", `No route for ${c.req.method} ${c.req.path.slice(0, 300)}`);
}
