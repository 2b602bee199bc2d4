/**
 * Routes as data: each route file declares `{method, path, auth, summary, description, tag, params, query, body,
 * responses, handler}` with zod schemas. `mountRoutes` registers them on Hono and validates params, query and body
 * with those schemas before the handler runs; runtime/openapi.ts builds the OpenAPI document from the same
 * declarations. Declarations import nothing with side effects (no warehouse, no native module), so the document
 * can be built without starting anything.
 */
import type { Context, Hono, MiddlewareHandler } from "hono";
import { z } from "zod";
import { AppError } from "../src/errors/mod.ts";
import type { Auth } from "../src/pipeline/module.ts";
import { describeIssues } from "../src/pipeline/run_sync.ts";
import { jsonBody } from "./body.ts";
import type { AppDeps, AppEnv } from "./context.ts";
import type { StatusCache } from "./status_cache.ts";
import type { StatusRow } from "./routes/integrations.ts";

export type Method = "GET" | "POST" | "PUT" | "DELETE";

/** The OpenAPI tags; each operation has exactly one. Descriptions are in runtime/openapi.ts. */
export type Tag =
  | "system"
  | "admin"
  | "organizations"
  | "integrations"
  | "pricing"
  | "subscriptions"
  | "pipelines"
  | "runs"
  | "scheduler"
  | "costs";

/** What handlers share beyond the app's deps: per-app state that outlives a request. */
export interface RouteDeps extends AppDeps {
  /** Integration statuses per org, cached (runtime/status_cache.ts). */
  readonly statuses: StatusCache<StatusRow[]>;
  /** The OpenAPI document of the routes (runtime/openapi.ts), served at /api/v1/openapi.json. */
  readonly openapi: Record<string, unknown>;
}

/** One documented response of a route. */
export interface ResponseDef {
  readonly description: string;
  /** Default application/json. */
  readonly contentType?: string;
  readonly schema: z.ZodType;
}

/** A parsed request: what the route's schemas made of the path, the query string and the body. */
export interface Input<P, Q, B> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
}

export type Handler<P, Q, B> = (c: Context<AppEnv>, input: Input<P, Q, B>) => Response | Promise<Response>;

/** A route as data. `P`, `Q`, `B` are the zod schemas of the path params, the query and the body. */
export interface Route<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
> {
  readonly method: Method;
  /** OpenAPI style: `/api/v1/costs/{org_slug}`. */
  readonly path: string;
  readonly auth: Auth;
  readonly operationId?: string;
  readonly summary: string;
  readonly description: string;
  readonly tag: Tag;
  /** Path params; a value outside a closed set (`z.enum`) names nothing: 404 NOT_FOUND with the schema's message. */
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  /** Whether a request must carry a body (default: false; an empty body is parsed as `{}`). */
  readonly bodyRequired?: boolean;
  /** 2xx responses by status. */
  readonly responses: Readonly<Record<number, ResponseDef>>;
  /** Error statuses the route can answer with, beyond the 400/401/403/429/500 every route can. */
  readonly errors?: readonly number[];
  /** false: mounted but left out of the OpenAPI document (a static asset, not an API operation). */
  readonly documented?: boolean;
  /** Builds the request handler once per app. */
  readonly handler: (deps: RouteDeps) => Handler<z.output<P>, z.output<Q>, z.output<B>>;
}

/** Types a route's handler from its schemas; the result goes into a route file's list. */
export function defineRoute<
  P extends z.ZodType = z.ZodObject<Record<never, never>>,
  Q extends z.ZodType = z.ZodObject<Record<never, never>>,
  B extends z.ZodType = z.ZodUndefined,
>(route: Route<P, Q, B>): Route {
  return route as unknown as Route;
}

/** Turns `{org_slug}` placeholders into Hono's `:org_slug`. */
export function honoPath(path: string): string {
  return path.replace(/\{([a-z_]+)\}/g, ":$1");
}

/**
 * The message of failed issues: each names its field (`Field "limit": ...`) unless the schema's own message already
 * does (`Query "org" must be ...`).
 */
export function issuesMessage(issues: readonly z.core.$ZodIssue[]): string {
  return issues.slice(0, 5).map((i) => {
    const field = i.path.join(".");
    return field && i.message.startsWith(`Query "${field}"`) ? i.message : describeIssues([i]);
  }).join("; ");
}

function parsePart<S extends z.ZodType>(schema: S | undefined, value: unknown): z.output<S> | undefined {
  if (!schema) return undefined;
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new AppError("VALIDATION_ERROR", issuesMessage(r.error.issues), { field: r.error.issues[0]?.path.join(".") });
}

function parseParams(schema: z.ZodType | undefined, value: Record<string, string>): unknown {
  if (!schema) return value;
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const closed = r.error.issues.find((i) => i.code === "invalid_value");
  if (closed) throw new AppError("NOT_FOUND", closed.message, { field: closed.path.join(".") });
  throw new AppError("VALIDATION_ERROR", issuesMessage(r.error.issues), { field: r.error.issues[0]?.path.join(".") });
}

/** Registers `routes` on `app`: the auth guard first, then params, query and body validation, then the handler. */
export function mountRoutes(
  app: Hono<AppEnv>,
  routes: readonly Route[],
  deps: RouteDeps,
  guard: (mode: Auth) => MiddlewareHandler<AppEnv>,
): void {
  for (const r of routes) {
    const handler = r.handler(deps);
    const run = async (c: Context<AppEnv>) => {
      const params = parseParams(r.params, c.req.param() as Record<string, string>);
      const query = parsePart(r.query, c.req.query()) ?? {};
      const body = r.body ? parsePart(r.body, await jsonBody(c)) : undefined;
      return await handler(c, { params, query, body });
    };
    if (r.auth === "none") app.on(r.method, honoPath(r.path), run);
    else app.on(r.method, honoPath(r.path), guard(r.auth), run);
  }
}
