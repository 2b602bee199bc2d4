/** `integrations.seed`: on first setup, the default prices/plans of the step's seed (from configs/) for the org. */
import { seedSpec } from "../specs.ts";
import { defineProcessor } from "../registry.ts";
import { requireOrg } from "./_credential.ts";
import { seedFlag } from "../../pricing/seed.ts";

export const seedProcessor = defineProcessor(seedSpec, async (ctx, config) => {
  const org = requireOrg(ctx);
  const seed = ctx.step.seed;
  if (!seed) throw new Error(`Step "${ctx.step.id}" of "${ctx.pipeline.path}" declares no seed`);
  if (!ctx.pipeline.tables[seed.table]) {
    throw new Error(`Seed table "${seed.table}" has no schema in "${ctx.pipeline.path}"`);
  }
  const r = await ctx.stores.prices.seedDefaults(seed.table, org.slug, config.provider, seed.rows, ctx.now(), {
    onlyIfEmpty: true,
  });
  const flag = seedFlag(seed.table);
  ctx.logger.info("defaults seeded", { table: seed.table, inserted: r.inserted, skipped: r.skipped });
  return { rowsWritten: r.inserted, response: { [`${flag}_initialized`]: !r.skipped, [`${flag}_rows`]: r.inserted } };
});
