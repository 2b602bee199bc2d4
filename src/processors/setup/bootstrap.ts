/** `setup.initial.onetime_bootstrap`: the central dataset and every table the step lists (existing ones gain the NULLABLE columns their schema added). */
import { bootstrapSpec } from "../specs.ts";
import { defineProcessor } from "../registry.ts";

export const bootstrapProcessor = defineProcessor(bootstrapSpec, async (ctx, config) => {
  const { warehouse, step, pipeline } = ctx;
  const recreated = ctx.params.force_recreate_dataset === true;
  if (recreated) {
    ctx.logger.warn("dropping the central dataset before bootstrap", { dataset: config.dataset });
    await warehouse.dropDataset(config.dataset);
    ctx.stores.apiKeys.forgetAll(); // the keys went with the dataset: none may keep working from the cache
  }
  await warehouse.ensureDataset(config.dataset);
  const created: string[] = [];
  const existing: string[] = [];
  for (const t of step.tables) {
    const schema = pipeline.tables[t.table];
    if (!schema) throw new Error(`Bootstrap table "${t.table}" has no schema in the generated module`);
    const exists = await warehouse.tableExists(config.dataset, t.table);
    // An existing table is brought up to its schema too (the NULLABLE columns it lacks are added).
    await warehouse.ensureTable(config.dataset, schema);
    (exists ? existing : created).push(t.table);
  }
  ctx.logger.info("bootstrap done", { created: created.length, existing: existing.length });
  return {
    response: {
      status: "SUCCESS",
      dataset_id: config.dataset,
      dataset_recreated: recreated,
      tables_created: created,
      tables_existing: existing,
      total_tables: step.tables.length,
    },
  };
});
