/**
 * The OpenAPI 3.1 document of the whole API, built from the route declarations (runtime/route.ts) with
 * `z.toJSONSchema`: the schemas that validate a request are the ones documented. Deterministic: paths and methods
 * sorted, no timestamps. `deno task compile` writes it to generated/openapi.json (runtime/openapi_main.ts).
 */
import { z } from "zod";
import type { Route, Tag } from "./route.ts";
import { takesIdempotencyKey } from "./idempotency.ts";

export type JsonSchema = Record<string, unknown>;

/** Tag descriptions, in the order the reference shows them. */
export const TAGS: Readonly<Record<Tag, string>> = {
  system: "Liveness, this document and its reference page",
  admin: "One-time set-up of the central dataset and organizations (root key)",
  organizations: "An organization's API key and plan quota",
  integrations: "Provider credentials of an org: set up (validated, stored encrypted), validate, status, remove",
  pricing: "Per-org, effective-dated model prices of the priced providers (decimal strings)",
  subscriptions: "Per-org, effective-dated OpenAI subscription plans (decimal strings)",
  pipelines: "The pipeline catalogue and the data pipelines' run routes",
  runs: "Run history, run details and backfills of an org",
  scheduler: "The daily schedule's queue (root key)",
  costs: "Cost across providers from the org's cost tables",
};

const ERROR_SCHEMA: JsonSchema = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message", "request_id"],
      properties: {
        code: { type: "string", description: "Stable error code, e.g. VALIDATION_ERROR" },
        message: { type: "string", description: "What failed and why, naming the field" },
        request_id: { type: "string", description: "Quote it when reporting a problem" },
        details: { type: "object", additionalProperties: true },
      },
    },
  },
};

/** Error responses by status, shared through components.responses. */
const ERRORS: Readonly<Record<number, [name: string, description: string]>> = {
  400: ["BadRequest", "The request is malformed or a field is invalid (VALIDATION_ERROR names the field)"],
  401: ["Unauthorized", "No valid key was given"],
  403: ["Forbidden", "The key may not act on this organization or route"],
  404: ["NotFound", "The organization, provider or item does not exist"],
  409: ["Conflict", "The request conflicts with the current state (exists, overlaps, in progress)"],
  413: ["PayloadTooLarge", "The request body exceeds the configured limit"],
  422: ["Unprocessable", "The request is well-formed but cannot be carried out (see the error code)"],
  429: ["TooManyRequests", "Rate or plan limit reached; Retry-After says when to retry"],
  502: ["BadGateway", "The provider answered with an error or could not be reached"],
  503: ["Unavailable", "The warehouse or key vault is unavailable; retry later"],
};

/** A zod schema as a JSON Schema (draft 2020-12, OpenAPI 3.1's dialect) without the `$schema` key. */
export function jsonSchema(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as JsonSchema;
  return rest;
}

function security(auth: Route["auth"]): Record<string, string[]>[] {
  switch (auth) {
    case "root":
      return [{ RootKey: [] }];
    case "org":
      return [{ OrgKey: [] }];
    case "root_or_org":
      return [{ RootKey: [] }, { OrgKey: [] }];
    case "none":
      return [];
  }
}

/** `get_costs_org_slug` from `GET /api/v1/costs/{org_slug}`. */
export function operationId(r: Pick<Route, "method" | "path" | "operationId">): string {
  return r.operationId ??
    `${r.method.toLowerCase()}_${r.path.replace(/^\/api\/v1/, "").replace(/[^a-z0-9]+/gi, "_").replace(/^_|_$/g, "")}`;
}

const IDEMPOTENCY_PARAM: JsonSchema = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  description: "Repeat the request safely: the same key and body within 24 h return the first 2xx response " +
    "(header Idempotent-Replayed: true); the same key with another request is 422 IDEMPOTENCY_KEY_REUSED",
  schema: { type: "string", pattern: "^[A-Za-z0-9._:-]{1,255}$" },
};

function parameters(r: Route): JsonSchema[] {
  const out: JsonSchema[] = [];
  const params = r.params ? jsonSchema(r.params, "input") : {};
  const pathProps = (params.properties ?? {}) as Record<string, JsonSchema>;
  for (const m of r.path.matchAll(/\{([a-z_]+)\}/g)) {
    const { description, ...schema } = pathProps[m[1]!] ?? { type: "string" };
    out.push({ name: m[1], in: "path", required: true, ...(description ? { description } : {}), schema });
  }
  if (r.query) {
    const q = jsonSchema(r.query, "input");
    const required = new Set((q.required ?? []) as string[]);
    for (const [name, s] of Object.entries((q.properties ?? {}) as Record<string, JsonSchema>)) {
      const { description, ...schema } = s;
      out.push({
        name,
        in: "query",
        required: required.has(name),
        ...(description ? { description } : {}),
        schema,
      });
    }
  }
  // The routes runtime/idempotency.ts `takesIdempotencyKey` accepts the header on (a test keeps the two in step).
  if (takesIdempotencyKey(r.method, r.path)) out.push(IDEMPOTENCY_PARAM);
  return out;
}

function errorStatuses(r: Route): number[] {
  const s = new Set<number>(r.errors ?? []);
  if (r.params || r.query || r.body) s.add(400);
  if (r.body) s.add(413);
  if (r.auth !== "none") [401, 403, 429].forEach((x) => s.add(x));
  if (r.path.includes("{")) s.add(404);
  return [...s].sort((a, b) => a - b);
}

function operation(r: Route): JsonSchema {
  const responses: JsonSchema = {};
  for (const [status, def] of Object.entries(r.responses)) {
    responses[status] = {
      description: def.description,
      content: { [def.contentType ?? "application/json"]: { schema: jsonSchema(def.schema, "output") } },
    };
  }
  for (const status of errorStatuses(r)) {
    responses[String(status)] = { $ref: `#/components/responses/${ERRORS[status]![0]}` };
  }
  responses.default = { $ref: "#/components/responses/Error" };
  const op: JsonSchema = {
    operationId: operationId(r),
    summary: r.summary,
    description: r.description,
    tags: [r.tag],
    security: security(r.auth),
    "x-auth": r.auth,
    parameters: parameters(r),
  };
  if (r.body) {
    op.requestBody = {
      required: r.bodyRequired ?? false,
      content: { "application/json": { schema: jsonSchema(r.body, "input") } },
    };
  }
  op.responses = responses;
  return op;
}

/** The OpenAPI 3.1 document of `routes`; throws when two operations share an operationId. */
export function buildOpenApi(routes: readonly Route[]): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  const ids = new Set<string>();
  for (const r of routes) {
    if (r.documented === false) continue;
    const op = operation(r);
    if (ids.has(op.operationId as string)) throw new Error(`Two operations have the id "${op.operationId}"`);
    ids.add(op.operationId as string);
    (paths[r.path] ??= {})[r.method.toLowerCase()] = op;
  }
  const sorted = Object.fromEntries(
    Object.keys(paths).sort().map((k) => [
      k,
      Object.fromEntries(Object.entries(paths[k]!).sort(([a], [b]) => a.localeCompare(b))),
    ]),
  );
  const used = new Set(routes.map((r) => r.tag));
  return {
    openapi: "3.1.0",
    info: {
      title: "Convergence API",
      version: "1.0.0",
      description: "Multi-tenant cloud and LLM cost pipelines: set up provider integrations per organization, run " +
        "the pipelines that load usage and cost into the org's dataset, and query cost across providers.",
      contact: { name: "Convergence maintainers", url: "https://github.com/convergence" },
      license: { name: "Proprietary", identifier: "LicenseRef-Proprietary" },
      "x-generated": "Generated by `deno task compile` from the route declarations in runtime/routes/ and the " +
        "pipelines of configs/. DO NOT EDIT.",
    },
    servers: [{ url: "http://localhost:8080", description: "A local server (`deno task start`)" }],
    tags: Object.entries(TAGS).filter(([name]) => used.has(name as Tag)).map(([name, description]) => ({
      name,
      description,
    })),
    paths: sorted,
    components: {
      securitySchemes: {
        RootKey: { type: "apiKey", in: "header", name: "X-CA-Root-Key", description: "The deployment's root key" },
        OrgKey: { type: "apiKey", in: "header", name: "X-API-Key", description: "An organization's API key" },
      },
      schemas: { Error: ERROR_SCHEMA },
      responses: {
        ...Object.fromEntries(
          Object.values(ERRORS).map(([name, description]) => [name, errorResponse(description)]),
        ),
        Error: errorResponse("Any other error, in the same shape"),
      },
    },
  };
}

function errorResponse(description: string): JsonSchema {
  return { description, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
}
