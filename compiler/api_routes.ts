/**
 * The API routes that are not pipelines (statuses, pricing, runs, costs, ...), described for the
 * OpenAPI document. Pipeline routes come from the configs; these are the runtime's own handlers.
 */
import { PRICED_SLUGS, PROVIDER_SLUGS } from "../src/providers/catalogue.ts";

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
const provider = { type: "string", enum: [...PROVIDER_SLUGS] };
const pricedProvider = { type: "string", enum: [...PRICED_SLUGS] };
const nullable = (s: JsonSchema): JsonSchema => ({ anyOf: [s, { type: "null" }] });
const int = (description?: string) => ({ type: "integer", minimum: 0, ...(description ? { description } : {}) });
/** Queue items by status (QUEUED, CLAIMED, DEFERRED, DONE, FAILED); absent statuses are left out. */
const QUEUE_COUNTS = { type: "object", additionalProperties: { type: "integer", minimum: 0 } };

/** An amount in a request: a decimal string (exact) or a JSON number; no sign, at most 9 decimals, at most `max`. */
const amountIn = (max: number): JsonSchema => ({
  anyOf: [
    { type: "string", pattern: "^\\d+(\\.\\d{1,9})?$" },
    { type: "number", minimum: 0, maximum: max },
  ],
  description: `Non-negative decimal, at most 9 decimals, at most ${max}; returned as a decimal string`,
});
const price = amountIn(1_000_000);
const fee = amountIn(1_000_000_000);
/** An amount in a response: a decimal string without trailing zeros, e.g. "2.5". */
const amountOut = { type: "string", pattern: "^\\d+(\\.\\d{1,9})?$" };
const notes = nullable({ type: "string", maxLength: 500 });
const effectiveTo = nullable({ ...date, description: "First day no longer in force (exclusive); null = open" });
const PRICE_FIELDS: Record<string, JsonSchema> = {
  input_per_1m: price,
  cached_input_per_1m: nullable(price),
  cache_write_5m_per_1m: nullable(price),
  cache_write_1h_per_1m: nullable(price),
  output_per_1m: price,
  currency: { type: "string", enum: ["USD", "CNY", "EUR"], default: "USD" },
  effective_from: { ...date, description: "First day in force (inclusive); defaults to today (UTC)" },
  effective_to: effectiveTo,
  notes,
};
const SUBSCRIPTION_FIELDS: Record<string, JsonSchema> = {
  quantity: int("Units bought; 0 = informational tier"),
  unit_price_usd: fee,
  billing_period: { type: "string", enum: ["monthly", "yearly"], default: "monthly" },
  rpm_limit: nullable(int()),
  tpm_limit: nullable(int()),
  monthly_spend_limit_usd: nullable(fee),
  effective_from: { ...date, description: "First day in force (inclusive); defaults to today (UTC)" },
  effective_to: effectiveTo,
  notes,
};
const strict = (properties: Record<string, JsonSchema>, required: string[] = []): JsonSchema => ({
  type: "object",
  additionalProperties: false,
  ...(required.length ? { required } : {}),
  properties,
});

const signedAmount = { type: "string", pattern: "^-?\\d+(\\.\\d{1,9})?$", description: "Exact decimal string" };
const COST_SECTION: Record<string, JsonSchema> = {
  rows: {
    type: "array",
    items: {
      type: "object",
      description: "One row per group: the group_by keys (provider, service, model, day), then the sums",
      properties: {
        provider,
        service: nullable(str),
        model: nullable(str),
        day: date,
        cost: nullable({ ...signedAmount, description: "List cost computed from usage (GCP: net of credits)" }),
        billed_cost: nullable({ ...signedAmount, description: "Provider-reported amount; null when none exists" }),
        records: int("Cost-table rows summed"),
        unpriced_records: int("Rows without a price in force (no cost)"),
        unbilled_records: int("Rows without a provider-reported amount"),
      },
    },
  },
  total_cost: nullable(signedAmount),
  total_billed_cost: nullable(signedAmount),
};
const COSTS_RESPONSE: JsonSchema = {
  type: "object",
  properties: {
    org_slug: str,
    currency: str,
    start: date,
    end: date,
    group_by: { type: "array", items: { type: "string", enum: ["provider", "service", "model", "day"] } },
    provider: nullable(provider),
    ...COST_SECTION,
    other_currencies: {
      type: "array",
      items: { type: "object", properties: { currency: str, ...COST_SECTION } },
    },
  },
};

/** POST .../pricing: a new price version; an open version of the model starting earlier is closed at its start. */
export const PRICE_BODY: JsonSchema = strict(
  { model_id: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$" }, ...PRICE_FIELDS },
  ["model_id", "input_per_1m", "output_per_1m"],
);
/** PUT .../pricing/{model_id}: fields to change on the model's current version (the open one, else the latest). */
export const PRICE_UPDATE_BODY: JsonSchema = { ...strict(PRICE_FIELDS), minProperties: 1 };

/** POST .../subscriptions: a new plan version; an open version starting earlier is closed at its start. */
export const SUBSCRIPTION_BODY: JsonSchema = strict(
  { plan_name: { type: "string", pattern: "^[A-Z][A-Z0-9_]{0,49}$" }, ...SUBSCRIPTION_FIELDS },
  ["plan_name", "quantity", "unit_price_usd"],
);
/** PUT .../subscriptions/{plan_name}: fields to change on the plan's current version. */
export const SUBSCRIPTION_UPDATE_BODY: JsonSchema = { ...strict(SUBSCRIPTION_FIELDS), minProperties: 1 };

const stamps = { source: { type: "string", enum: ["seed", "user"] }, created_at: str, updated_at: str };
const PRICE_ROW: JsonSchema = {
  type: "object",
  properties: {
    provider: pricedProvider,
    model_id: str,
    input_per_1m: amountOut,
    cached_input_per_1m: nullable(amountOut),
    cache_write_5m_per_1m: nullable(amountOut),
    cache_write_1h_per_1m: nullable(amountOut),
    output_per_1m: amountOut,
    currency: str,
    effective_from: date,
    effective_to: nullable(date),
    notes: nullable(str),
    ...stamps,
  },
};
const SUBSCRIPTION_ROW: JsonSchema = {
  type: "object",
  properties: {
    plan_name: str,
    quantity: { type: "integer" },
    unit_price_usd: amountOut,
    billing_period: str,
    rpm_limit: nullable({ type: "integer" }),
    tpm_limit: nullable({ type: "integer" }),
    monthly_spend_limit_usd: nullable(amountOut),
    effective_from: date,
    effective_to: nullable(date),
    notes: nullable(str),
    ...stamps,
  },
};
const closedPrevious = nullable({ type: "object", properties: { effective_from: date, effective_to: date } });
const added = (row: JsonSchema): JsonSchema => ({
  ...row,
  properties: { org_slug: str, ...(row.properties as JsonSchema), closed_previous: closedPrevious },
});
const updated = (row: JsonSchema): JsonSchema => ({
  ...row,
  properties: { org_slug: str, ...(row.properties as JsonSchema) },
});
const listOf = (key: string, row: JsonSchema): JsonSchema => ({
  type: "object",
  properties: {
    org_slug: str,
    provider: str,
    as_of: nullable(date),
    count: { type: "integer" },
    [key]: { type: "array", items: row },
  },
});
const counts = (extra: Record<string, JsonSchema> = {}): JsonSchema => ({
  type: "object",
  properties: { success: { type: "boolean" }, org_slug: str, provider: str, ...extra },
});
const asOf = { ...date, description: "Only the rows in force on this UTC day" };

const instant = { type: "string", format: "date-time" };
/** GET .../quota: counted like the run claim (runs of any pipeline and trigger; a retry is the same run). */
const QUOTA_RESPONSE: JsonSchema = {
  type: "object",
  properties: {
    org_slug: str,
    plan: { ...str, description: "Plan of the org's active subscription, e.g. STARTER" },
    limits: {
      type: "object",
      properties: {
        per_day: int("Runs a UTC day"),
        per_month: int("Runs a UTC calendar month"),
        concurrent: int("Runs PENDING or RUNNING at once"),
      },
    },
    used: {
      type: "object",
      properties: {
        today: int("Runs created since UTC midnight, any status"),
        month: int("Runs created since the first of the UTC month, any status"),
        running: int("Runs PENDING or RUNNING now (a run waiting for a retry included)"),
      },
    },
    remaining: {
      type: "object",
      properties: {
        today: int("Runs that can still start today (also bounded by the month)"),
        month: int(),
        concurrent: int(),
      },
    },
    resets: {
      type: "object",
      properties: {
        daily: { ...instant, description: "Next UTC midnight" },
        monthly: { ...instant, description: "First instant of the next UTC month" },
      },
    },
    as_of: instant,
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
    path: "/api/v1/organizations/{org_slug}/quota",
    auth: "root_or_org",
    summary: "Plan limits, runs used today / this month / now, what remains and when the counts reset (UTC)",
    tag: "organizations",
    status: 200,
    response: QUOTA_RESPONSE,
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
    query: { model_id: str, as_of: asOf },
    response: listOf("prices", PRICE_ROW),
  },
  {
    method: "POST",
    path: "/api/v1/integrations/{org_slug}/{provider}/pricing",
    auth: "org",
    summary: "Add a model price",
    tag: "pricing",
    status: 201,
    body: PRICE_BODY,
    response: added(PRICE_ROW),
  },
  {
    method: "PUT",
    path: "/api/v1/integrations/{org_slug}/{provider}/pricing/{model_id}",
    auth: "org",
    summary: "Update a model price",
    tag: "pricing",
    status: 200,
    body: PRICE_UPDATE_BODY,
    response: updated(PRICE_ROW),
  },
  {
    method: "DELETE",
    path: "/api/v1/integrations/{org_slug}/{provider}/pricing/{model_id}",
    auth: "org",
    summary: "Delete a model price",
    tag: "pricing",
    status: 200,
    response: counts({ model_id: str, deleted: { type: "integer" } }),
  },
  {
    method: "POST",
    path: "/api/v1/integrations/{org_slug}/{provider}/pricing/reset",
    auth: "org",
    summary: "Reset prices to the defaults in configs/",
    tag: "pricing",
    status: 200,
    body: strict({}),
    response: counts({ deleted: { type: "integer" }, inserted: { type: "integer" } }),
  },
  {
    method: "GET",
    path: "/api/v1/integrations/{org_slug}/openai/subscriptions",
    auth: "org",
    summary: "List OpenAI subscription plans",
    tag: "subscriptions",
    status: 200,
    query: { plan_name: str, as_of: asOf },
    response: listOf("subscriptions", SUBSCRIPTION_ROW),
  },
  {
    method: "POST",
    path: "/api/v1/integrations/{org_slug}/openai/subscriptions",
    auth: "org",
    summary: "Add a subscription plan",
    tag: "subscriptions",
    status: 201,
    body: SUBSCRIPTION_BODY,
    response: added(SUBSCRIPTION_ROW),
  },
  {
    method: "PUT",
    path: "/api/v1/integrations/{org_slug}/openai/subscriptions/{plan_name}",
    auth: "org",
    summary: "Update a subscription plan",
    tag: "subscriptions",
    status: 200,
    body: SUBSCRIPTION_UPDATE_BODY,
    response: updated(SUBSCRIPTION_ROW),
  },
  {
    method: "DELETE",
    path: "/api/v1/integrations/{org_slug}/openai/subscriptions/{plan_name}",
    auth: "org",
    summary: "Delete a subscription plan",
    tag: "subscriptions",
    status: 200,
    response: counts({ plan_name: str, deleted: { type: "integer" } }),
  },
  {
    method: "POST",
    path: "/api/v1/integrations/{org_slug}/openai/subscriptions/reset",
    auth: "org",
    summary: "Reset plans to the defaults in configs/",
    tag: "subscriptions",
    status: 200,
    body: strict({}),
    response: counts({ deleted: { type: "integer" }, inserted: { type: "integer" } }),
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
    summary: "Cost across providers from the org's cost tables, summed per group; other currencies kept apart",
    tag: "costs",
    status: 200,
    query: {
      start: { ...date, description: "First UTC day (inclusive); default 29 days before end" },
      end: { ...date, description: "Last UTC day (inclusive); default today (UTC); at most 366 days from start" },
      group_by: {
        type: "string",
        description:
          "Comma-separated (or repeated) keys: provider, service, model, day; default provider; empty = totals only",
      },
      provider,
      currency: {
        type: "string",
        pattern: "^[A-Z]{3}$",
        default: "USD",
        description:
          "Currency of rows and totals; cost in other currencies is listed under other_currencies, never converted",
      },
      format: {
        type: "string",
        enum: ["summary", "focus"],
        default: "summary",
        description: "focus: one row per charge with FinOps FOCUS column names (no group_by)",
      },
      limit: { type: "integer", minimum: 1, maximum: 50000, default: 10000, description: "Rows of format=focus" },
    },
    response: COSTS_RESPONSE,
  },
  {
    method: "POST",
    path: "/api/v1/scheduler/trigger",
    auth: "root",
    summary:
      "Enqueue the daily schedule now (idempotent per day); with a date, that day's FAILED items are queued again",
    tag: "scheduler",
    status: 200,
    body: {
      type: "object",
      additionalProperties: false,
      properties: {
        date: { ...date, description: "Logical date (default yesterday, UTC); re-queues the day's FAILED items" },
        wait: { type: "boolean", description: "Answer once the queue is drained" },
      },
    },
    response: {
      type: "object",
      properties: {
        logical_date: date,
        enqueued: int(),
        already_queued: int(),
        requeued: int("FAILED items of the day queued again"),
        eligible: int(),
        queue: QUEUE_COUNTS,
      },
    },
  },
  {
    method: "GET",
    path: "/api/v1/scheduler/status",
    auth: "root",
    summary: "Execution queue counts by status, in total and per org",
    tag: "scheduler",
    status: 200,
    query: { org: { type: "string", description: "Only this org" } },
    response: {
      type: "object",
      properties: {
        org_slug: str,
        queue: QUEUE_COUNTS,
        orgs: {
          type: "array",
          items: {
            type: "object",
            properties: {
              org_slug: str,
              queue: QUEUE_COUNTS,
              running_here: int("Items of the org running in this instance"),
            },
          },
        },
      },
    },
  },
  {
    method: "POST",
    path: "/api/v1/pipelines/backfill/{org_slug}",
    auth: "org",
    summary: "Queue the range's days that no completed run or live item covers (one run per chunk of up to 31 " +
      "days; a monthly pipeline: one per month) and re-queue its FAILED items; 422 BACKFILL_EXCEEDS_PLAN when " +
      "the runs needed exceed the runs left this month, 422 BACKFILL_NOT_SUPPORTED for deepseek/usage_cost",
    tag: "runs",
    status: 202,
    body: {
      type: "object",
      additionalProperties: false,
      required: ["pipeline", "start_date", "end_date"],
      properties: { pipeline: { type: "string", maxLength: 100 }, start_date: date, end_date: date },
    },
    response: {
      type: "object",
      properties: {
        org_slug: str,
        pipeline: str,
        start_date: date,
        end_date: date,
        days: int("Days of the range (months for a monthly pipeline)"),
        missing: int("Days (months) not covered"),
        enqueued: int("Items queued (one run each)"),
        requeued: int("FAILED items queued again"),
        runs_needed: int(),
        runs_left_this_month: int(),
      },
    },
  },
  {
    method: "GET",
    path: "/api/v1/pipelines/backfill/{org_slug}",
    auth: "org",
    summary: "The org's queue items (scheduled and backfill), newest first, with counts by status",
    tag: "runs",
    status: 200,
    query: {
      pipeline: { type: "string" },
      status: { type: "string", enum: ["QUEUED", "CLAIMED", "DEFERRED", "DONE", "FAILED"] },
      limit: { type: "integer", minimum: 1, maximum: 500, default: 50 },
    },
    response: {
      type: "object",
      properties: {
        org_slug: str,
        pipeline: str,
        queue: QUEUE_COUNTS,
        limit: int(),
        items: {
          type: "array",
          items: {
            type: "object",
            properties: {
              queue_id: str,
              pipeline: str,
              logical_date: date,
              start_date: nullable(date),
              end_date: nullable(date),
              status: {
                type: "string",
                enum: ["QUEUED", "CLAIMED", "DEFERRED", "DONE", "FAILED"],
                description: "DEFERRED: waiting for a daily or monthly plan limit to reset (see last_error)",
              },
              attempts: int("Claims; a wait for a free slot or a deferral does not count"),
              last_error: nullable({
                type: "string",
                description: 'The run\'s error, "waiting: ..." (no free run slot) or "deferred: ... until <instant>"',
              }),
              run_id: nullable(str),
              not_before: nullable({ type: "string", format: "date-time" }),
              created_at: nullable({ type: "string", format: "date-time" }),
              updated_at: nullable({ type: "string", format: "date-time" }),
            },
          },
        },
      },
    },
  },
];

export { pricedProvider, provider };
