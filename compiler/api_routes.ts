/**
 * The API routes that are not pipelines (statuses, pricing, runs, costs, ...), described for the
 * OpenAPI document. Pipeline routes come from the configs; these are the runtime's own handlers.
 */

export type JsonSchema = Record<string, unknown>;

export interface ApiRoute {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  readonly path: string;
  readonly auth: "root" | "org" | "root_or_org" | "none";
  readonly summary: string;
  readonly tag: string;
  readonly status: number;
  readonly query?: Readonly<Record<string, JsonSchema>>;
  readonly body?: JsonSchema;
  readonly response?: JsonSchema;
}

const str = { type: "string" };
const date = { type: "string", format: "date" };
const money = { type: "string", pattern: "^-?\\d+(\\.\\d{1,9})?$", description: "Decimal amount" };
const provider = { type: "string", enum: ["openai", "anthropic", "deepseek", "gcp"] };
const pricedProvider = { type: "string", enum: ["openai", "anthropic", "deepseek"] };

export const PRICE_BODY: JsonSchema = {
  type: "object",
  additionalProperties: false,
  required: ["model_id", "input_per_1m", "output_per_1m"],
  properties: {
    model_id: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$" },
    input_per_1m: money,
    cached_input_per_1m: money,
    cache_write_5m_per_1m: money,
    cache_write_1h_per_1m: money,
    output_per_1m: money,
    currency: { type: "string", enum: ["USD", "CNY", "EUR"] },
    effective_from: date,
    effective_to: date,
  },
};

export const SUBSCRIPTION_BODY: JsonSchema = {
  type: "object",
  additionalProperties: false,
  required: ["plan_name"],
  properties: {
    plan_name: { type: "string", pattern: "^[A-Z][A-Z0-9_]{0,49}$" },
    quantity: { type: "integer", minimum: 0 },
    unit_price_usd: money,
    billing_period: { type: "string", enum: ["monthly", "yearly"] },
    rpm_limit: { type: "integer", minimum: 0 },
    tpm_limit: { type: "integer", minimum: 0 },
    effective_from: date,
    effective_to: date,
    notes: { type: "string", maxLength: 500 },
  },
};

/** Every non-pipeline route of /api/v1 (plus /health). */
export const API_ROUTES: readonly ApiRoute[] = [
  {
    method: "GET",
    path: "/health",
    auth: "none",
    summary: "Liveness and warehouse reachability",
    tag: "system",
    status: 200,
  },
  { method: "GET", path: "/api/v1/openapi.json", auth: "none", summary: "This document", tag: "system", status: 200 },
  {
    method: "GET",
    path: "/api/v1/pipelines",
    auth: "root_or_org",
    summary: "The pipeline catalogue",
    tag: "pipelines",
    status: 200,
  },
  {
    method: "POST",
    path: "/api/v1/organizations/{org_slug}/api-key/rotate",
    auth: "root_or_org",
    summary: "Issue a new org API key and revoke the old one at once",
    tag: "organizations",
    status: 200,
    body: { type: "object", additionalProperties: false, properties: {} },
  },
  {
    method: "GET",
    path: "/api/v1/integrations/{org_slug}",
    auth: "org",
    summary: "All integration statuses",
    tag: "integrations",
    status: 200,
  },
  {
    method: "GET",
    path: "/api/v1/integrations/{org_slug}/{provider}",
    auth: "org",
    summary: "One integration status",
    tag: "integrations",
    status: 200,
  },
  {
    method: "DELETE",
    path: "/api/v1/integrations/{org_slug}/{provider}",
    auth: "org",
    summary: "Remove an integration",
    tag: "integrations",
    status: 200,
  },
  {
    method: "GET",
    path: "/api/v1/integrations/{org_slug}/{provider}/pricing",
    auth: "org",
    summary: "List model prices",
    tag: "pricing",
    status: 200,
  },
  {
    method: "POST",
    path: "/api/v1/integrations/{org_slug}/{provider}/pricing",
    auth: "org",
    summary: "Add a model price",
    tag: "pricing",
    status: 201,
    body: PRICE_BODY,
  },
  {
    method: "PUT",
    path: "/api/v1/integrations/{org_slug}/{provider}/pricing/{model_id}",
    auth: "org",
    summary: "Update a model price",
    tag: "pricing",
    status: 200,
    body: PRICE_BODY,
  },
  {
    method: "DELETE",
    path: "/api/v1/integrations/{org_slug}/{provider}/pricing/{model_id}",
    auth: "org",
    summary: "Delete a model price",
    tag: "pricing",
    status: 200,
  },
  {
    method: "POST",
    path: "/api/v1/integrations/{org_slug}/{provider}/pricing/reset",
    auth: "org",
    summary: "Reset prices to the defaults in configs/",
    tag: "pricing",
    status: 200,
  },
  {
    method: "GET",
    path: "/api/v1/integrations/{org_slug}/openai/subscriptions",
    auth: "org",
    summary: "List OpenAI subscription plans",
    tag: "subscriptions",
    status: 200,
  },
  {
    method: "POST",
    path: "/api/v1/integrations/{org_slug}/openai/subscriptions",
    auth: "org",
    summary: "Add a subscription plan",
    tag: "subscriptions",
    status: 201,
    body: SUBSCRIPTION_BODY,
  },
  {
    method: "PUT",
    path: "/api/v1/integrations/{org_slug}/openai/subscriptions/{plan_name}",
    auth: "org",
    summary: "Update a subscription plan",
    tag: "subscriptions",
    status: 200,
    body: SUBSCRIPTION_BODY,
  },
  {
    method: "DELETE",
    path: "/api/v1/integrations/{org_slug}/openai/subscriptions/{plan_name}",
    auth: "org",
    summary: "Delete a subscription plan",
    tag: "subscriptions",
    status: 200,
  },
  {
    method: "POST",
    path: "/api/v1/integrations/{org_slug}/openai/subscriptions/reset",
    auth: "org",
    summary: "Reset plans to the defaults in configs/",
    tag: "subscriptions",
    status: 200,
  },
  {
    method: "GET",
    path: "/api/v1/pipelines/runs/{org_slug}",
    auth: "org",
    summary: "Recent runs",
    tag: "runs",
    status: 200,
    query: {
      pipeline: str,
      status: { type: "string", enum: ["PENDING", "RUNNING", "COMPLETED", "FAILED"] },
      limit: { type: "integer", minimum: 1, maximum: 500 },
    },
  },
  {
    method: "GET",
    path: "/api/v1/pipelines/runs/{org_slug}/{run_id}",
    auth: "org",
    summary: "One run with its steps",
    tag: "runs",
    status: 200,
  },
  {
    method: "GET",
    path: "/api/v1/costs/{org_slug}",
    auth: "org",
    summary: "Cost rows across providers",
    tag: "costs",
    status: 200,
    query: {
      start: date,
      end: date,
      group_by: { type: "string", description: "Comma-separated: provider, service, model, day" },
      provider,
    },
  },
  {
    method: "POST",
    path: "/api/v1/scheduler/trigger",
    auth: "root",
    summary: "Enqueue the daily schedule now; idempotent per day",
    tag: "scheduler",
    status: 200,
    body: { type: "object", additionalProperties: false, properties: { date } },
  },
];

export { pricedProvider, provider };
