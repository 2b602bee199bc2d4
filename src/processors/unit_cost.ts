/**
 * `usage.unit_cost`: prices a provider's usage billed by a unit other than tokens (its meters: images, characters,
 * seconds, GB-days, sessions, tool calls; src/pricing/meters.ts) per UTC day at the org's unit prices
 * (org_unit_pricing), in the warehouse: the step hands the executor one SELECT (`StepResult.load`) that reads the
 * meters' raw tables and the prices and writes `<provider>_unit_cost_daily`, so no usage row passes through
 * JavaScript, and the step's checks are counted in SQL over the new rows. The rules are the SQL's
 * (src/central/_unit_cost_sql.ts). A provider whose meters have no raw table yet writes nothing.
 */
import { dayRange, orgOf } from "./_cost.ts";
import { unitCostSpec } from "./specs.ts";
import { defineProcessor } from "./registry.ts";

export const unitCostProcessor = defineProcessor(unitCostSpec, async (ctx, config) => {
  const org = orgOf(ctx);
  const range = dayRange(config.start_date, config.end_date);
  await ctx.stores.prices.ensureUnitPriceTable();
  const load = await ctx.stores.costs.unitCostLoad(org, config.provider, range, {
    runId: ctx.run?.id ?? "adhoc",
    pricedAt: ctx.now().toISOString(),
  }, config.billed_table);
  if (load === null) {
    ctx.logger.info("no metered usage table yet", { provider: config.provider });
    return { rows: [], range };
  }
  return { load, range };
});
