/**
 * Per-org model prices of a provider (openai, anthropic, deepseek): list, add an effective-dated version, update
 * the current one, delete a model, reset to the defaults compiled from configs/. Amounts are decimal strings.
 */
import type { Context, Hono, MiddlewareHandler } from "hono";
import { z } from "zod";
import { pipelines } from "../../generated/manifest.ts";
import type { Auth, PipelineModule } from "../../src/pipeline/module.ts";
import { describeIssues } from "../../src/pipeline/run_sync.ts";
import type { Row } from "../../src/warehouse/warehouse.ts";
import {
  modelId,
  priceCreate,
  PRICED_PROVIDERS,
  type PricedProvider,
  priceQuery,
  pricesTable,
  priceUpdate,
  type RepairResult,
  subscriptionsTable,
  utcDay,
} from "../../src/pricing/mod.ts";
import { parseBody } from "../body.ts";
import { notFound } from "../errors.ts";
import { AppError } from "../../src/errors/mod.ts";
import type { AppDeps, AppEnv } from "../context.ts";

/** The org_model_pricing schema, as compiled from configs/setup/bootstrap/schemas/. */
export const PRICING_SCHEMA = pipelines["setup/bootstrap"].tables.org_model_pricing;
const TABLE = pricesTable(PRICING_SCHEMA);
/** The reset routes take no fields. */
export const RESET_BODY = z.strictObject({});

/**
 * The default rows of `table` compiled from configs/: the seed rows of the `integrations.seed` step of the
 * pipeline at `path` (e.g. `integrations/openai/setup`).
 * @throws {Error} when that pipeline has no such seed step (a config error)
 */
export function defaultRows(path: string, table: string): readonly Row[] {
  const pipeline = (pipelines as Readonly<Record<string, PipelineModule>>)[path];
  const step = pipeline?.steps.find((s) => s.psType === "integrations.seed" && s.seed?.table === table);
  if (!step?.seed) throw new Error(`Pipeline "${path}" has no integrations.seed step for ${table}`);
  return step.seed.rows;
}

/** Parses the query string with a strict zod schema; errors name the parameter. */
export function parseQuery<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  const r = schema.safeParse(c.req.query());
  if (!r.success) throw new AppError("VALIDATION_ERROR", describeIssues(r.error.issues));
  return r.data;
}

/** Checks a path parameter (e.g. a model id); a bad one is 400 naming it. */
export function pathParam(c: Context, name: string, schema: z.ZodType<string>): string {
  const r = schema.safeParse(c.req.param(name));
  if (!r.success) {
    throw new AppError("VALIDATION_ERROR", describeIssues(r.error.issues.map((i) => ({ ...i, path: [name] }))));
  }
  return r.data;
}

/**
 * Start-up: repairs overlapping price and plan versions left by writes made before writes were serialised, where
 * that is unambiguous, and logs a warning naming org and item for the rest (see src/pricing/repair.ts).
 */
export async function repairPricingOverlaps(
  deps: Pick<AppDeps, "stores" | "logger" | "now">,
): Promise<RepairResult[]> {
  const tables = [TABLE, subscriptionsTable(pipelines["setup/bootstrap"].tables.org_openai_subscriptions)];
  const results: RepairResult[] = [];
  for (const t of tables) {
    const r = await deps.stores.prices.repairOverlaps(t, deps.now(), (msg, fields) => deps.logger.warn(msg, fields));
    if (r.items) {
      const { unresolved, ...counts } = r;
      deps.logger.info("overlapping versions repaired", { table: t.schema.table, ...counts, left: unresolved.length });
    }
    results.push(r);
  }
  return results;
}

function pricedProvider(name: string): PricedProvider {
  if (!(PRICED_PROVIDERS as readonly string[]).includes(name)) {
    throw notFound(`Provider "${name}" has no model pricing; expected one of ${PRICED_PROVIDERS.join(", ")}`);
  }
  return name as PricedProvider;
}

export function mountPricingRoutes(
  app: Hono<AppEnv>,
  deps: AppDeps,
  guard: (mode: Auth) => MiddlewareHandler<AppEnv>,
): void {
  const base = "/api/v1/integrations/:org_slug/:provider/pricing";
  const target = (c: Context) => ({
    org: c.req.param("org_slug")!,
    provider: pricedProvider(c.req.param("provider")!),
  });
  const log = (c: Context, msg: string, fields: Record<string, unknown>) =>
    deps.logger.info(msg, { request_id: c.get("requestId"), org_slug: c.req.param("org_slug"), ...fields });

  app.get(base, guard("org"), async (c) => {
    const { org, provider } = target(c);
    const q = parseQuery(c, priceQuery);
    const filter = { provider, ...(q.model_id ? { model_id: q.model_id } : {}) };
    const prices = await deps.stores.prices.listVersions(TABLE, org, filter, q.as_of);
    return c.json({ org_slug: org, provider, as_of: q.as_of ?? null, count: prices.length, prices });
  });

  app.post(`${base}/reset`, guard("org"), async (c) => {
    const { org, provider } = target(c);
    await parseBody(c, RESET_BODY);
    const rows = defaultRows(`integrations/${provider}/setup`, PRICING_SCHEMA.table);
    const r = await deps.stores.prices.seedPricing(org, provider, rows, deps.now(), { onlyIfEmpty: false });
    log(c, "pricing reset", { provider, deleted: r.deleted, inserted: r.inserted });
    return c.json({ success: true, org_slug: org, provider, deleted: r.deleted, inserted: r.inserted });
  });

  app.post(base, guard("org"), async (c) => {
    const { org, provider } = target(c);
    const { model_id, effective_from, effective_to, ...rest } = await parseBody(c, priceCreate);
    const now = deps.now();
    const values = { ...rest, effective_from: effective_from ?? utcDay(now), effective_to: effective_to ?? null };
    const { row, closed } = await deps.stores.prices.addVersion(TABLE, org, { provider, model_id }, values, now);
    log(c, "price added", { provider, model_id, effective_from: values.effective_from, closed: closed !== null });
    return c.json({ org_slug: org, ...row, closed_previous: closed }, 201);
  });

  app.put(`${base}/:model_id`, guard("org"), async (c) => {
    const { org, provider } = target(c);
    const model_id = pathParam(c, "model_id", modelId);
    const patch = await parseBody(c, priceUpdate);
    const row = await deps.stores.prices.updateVersion(TABLE, org, { provider, model_id }, patch, deps.now());
    log(c, "price updated", { provider, model_id, fields: Object.keys(patch) });
    return c.json({ org_slug: org, ...row });
  });

  app.delete(`${base}/:model_id`, guard("org"), async (c) => {
    const { org, provider } = target(c);
    const model_id = pathParam(c, "model_id", modelId);
    const deleted = await deps.stores.prices.deleteItem(TABLE, org, { provider, model_id }, deps.now());
    if (!deleted) throw notFound(`Model "${model_id}" of ${provider} has no price for org "${org}"`);
    log(c, "price deleted", { provider, model_id, deleted });
    return c.json({ success: true, org_slug: org, provider, model_id, deleted });
  });
}
