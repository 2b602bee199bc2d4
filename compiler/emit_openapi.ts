/** Builds the OpenAPI 3.1 document for the whole API from the pipelines and the runtime's own routes. */
import type { ParamIR, PipelineIR } from "./ir.ts";
import { API_ROUTES, type ApiRoute, type JsonSchema, pricedProvider, provider } from "./api_routes.ts";

/** The JSON schema of one param, as the request body carries it. */
export function paramJsonSchema(p: ParamIR): JsonSchema {
  const c = p.constraints;
  const s: JsonSchema = {};
  if (p.description) s.description = p.description;
  if (p.aliasOf) {
    const names = p.aliasOf.map((n) => `"${n}"`).join(" and ");
    s.description = [
      p.description,
      `Shorthand for ${names}, never given with ${p.aliasOf.length > 1 ? "them" : "it"}`,
      p.aliasNote && `Shorthands of ${names} must agree: ${p.aliasNote}`,
    ].filter(Boolean).join(". ");
    s["x-alias-of"] = [...p.aliasOf];
  }
  switch (p.type) {
    case "date":
      Object.assign(s, {
        type: "string",
        format: "date",
        description: `${s.description ? `${s.description}. ` : ""}A UTC day from 2015-01-01 to today`,
      });
      break;
    case "integer":
    case "number":
      Object.assign(s, { type: p.type });
      if (c.minimum !== undefined) s.minimum = c.minimum;
      if (c.maximum !== undefined) s.maximum = c.maximum;
      break;
    case "boolean":
      s.type = "boolean";
      break;
    case "string":
      s.type = "string";
      if (p.enum) s.enum = [...p.enum];
      if (c.format === "email") s.format = "email";
      if (c.min_length !== undefined) s.minLength = c.min_length;
      if (c.max_length !== undefined) s.maxLength = c.max_length;
      if (c.pattern !== undefined) s.pattern = c.pattern;
      break;
  }
  if (p.default !== undefined && !String(p.default).includes("{{")) s.default = p.default;
  if (p.secret) s.writeOnly = true;
  return s;
}

const ERROR = { $ref: "#/components/schemas/Error" };

function security(auth: ApiRoute["auth"]): Record<string, string[]>[] | undefined {
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

const IDEMPOTENCY_PARAM: JsonSchema = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  description: "Repeat the request safely: the same key and body within 24 h return the first 2xx response " +
    "(header Idempotent-Replayed: true); the same key with another request is 422 IDEMPOTENCY_KEY_REUSED",
  schema: { type: "string", pattern: "^[A-Za-z0-9._:-]{1,255}$" },
};

function operation(r: ApiRoute): JsonSchema {
  const params: JsonSchema[] = [...r.path.matchAll(/\{([a-z_]+)\}/g)].map((m) => ({
    name: m[1],
    in: "path",
    required: true,
    schema: m[1] === "org_slug"
      ? { type: "string", pattern: "^[a-z][a-z0-9_]{2,49}$" }
      : m[1] === "provider"
      ? (r.tag === "pricing" ? pricedProvider : provider)
      : { type: "string" },
  }));
  for (const [name, schema] of Object.entries(r.query ?? {})) {
    params.push({ name, in: "query", required: false, schema });
  }
  // The routes runtime/idempotency.ts `takesIdempotencyKey` accepts the header on (a test keeps the two in step).
  if (r.method === "POST" && r.path.startsWith("/api/v1/organizations/")) params.push(IDEMPOTENCY_PARAM);
  const responses: JsonSchema = {
    [String(r.status)]: {
      description: "Success",
      content: { "application/json": { schema: r.response ?? { type: "object" } } },
    },
    default: { description: "Error", content: { "application/json": { schema: ERROR } } },
  };
  const op: JsonSchema = {
    operationId: `${r.method.toLowerCase()}_${
      r.path.replace(/^\/api\/v1/, "").replace(/[^a-z0-9]+/gi, "_").replace(/^_|_$/g, "")
    }`,
    summary: r.summary,
    tags: [r.tag],
    security: security(r.auth),
    "x-auth": r.auth,
    parameters: params,
    responses,
  };
  if (r.body) op.requestBody = { required: true, content: { "application/json": { schema: r.body } } };
  return op;
}

function pipelineRoute(p: PipelineIR): ApiRoute {
  const body: JsonSchema = {
    type: "object",
    additionalProperties: false,
    properties: Object.fromEntries(p.params.map((x) => [x.name, paramJsonSchema(x)])),
  };
  const required = p.params.filter((x) => x.required).map((x) => x.name);
  if (required.length) body.required = required;
  return {
    method: p.route.method,
    path: `/api/v1${p.route.path}`,
    auth: p.route.auth,
    summary: p.description,
    tag: p.kind === "data" ? "pipelines" : p.kind === "integration" ? "integrations" : "admin",
    status: p.route.status,
    body,
    ...(p.kind === "data" ? { query: { wait: { type: "boolean", description: "Block until the run ends" } } } : {}),
  };
}

/** The OpenAPI 3.1 document: deterministic (paths and methods sorted). */
export function emitOpenApi(pipelines: readonly PipelineIR[]): JsonSchema {
  const routes = [...pipelines.map(pipelineRoute), ...API_ROUTES];
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const r of routes) (paths[r.path] ??= {})[r.method.toLowerCase()] = operation(r);
  const sorted = Object.fromEntries(
    Object.keys(paths).sort().map((
      k,
    ) => [k, Object.fromEntries(Object.entries(paths[k]!).sort(([a], [b]) => a.localeCompare(b)))]),
  );
  return {
    openapi: "3.1.0",
    info: {
      title: "Convergence API",
      version: "1.0.0",
      description: "Multi-tenant cloud and LLM cost pipelines.",
      "x-generated":
        "Generated by the Convergence compiler (compiler/) from configs/. DO NOT EDIT: change configs/ and run `deno task compile`.",
    },
    paths: sorted,
    components: {
      securitySchemes: {
        RootKey: { type: "apiKey", in: "header", name: "X-CA-Root-Key" },
        OrgKey: { type: "apiKey", in: "header", name: "X-API-Key" },
      },
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: {
              type: "object",
              required: ["code", "message", "request_id"],
              properties: { code: { type: "string" }, message: { type: "string" }, request_id: { type: "string" } },
            },
          },
        },
      },
    },
  };
}
