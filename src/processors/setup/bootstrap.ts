/** `setup.initial.onetime_bootstrap`: the central dataset and every table the step lists. */
import { bootstrapSpec } from "../specs.ts";
import { defineProcessor } from "../registry.ts";

export const bootstrapProcessor = defineProcessor(bootstrapSpec, async (ctx, config) => {
  const { warehouse, step, pipeline } = ctx;
  const recreated = ctx.params.force_recreate_dataset === true;
  if (recreated) {
    ctx.logger.warn("dropping the central dataset before bootstrap", { dataset: config.dataset });
    await warehouse.dropDataset(config.dataset);
    ctx.keys.forgetAll(); // the keys went with the dataset: none may keep working from the cache
  }
  await warehouse.ensureDataset(config.dataset);
  const created: string[] = [];
  const existing: string[] = [];
  for (const t of step.tables) {
    const schema = pipeline.tables[t.table];
    if (!schema) throw new Error(`Bootstrap table "${t.table}" has no schema in the generated module`);
    if (await warehouse.tableExists(config.dataset, t.table)) {
      existing.push(t.table);
      continue;
    }
    await warehouse.ensureTable(config.dataset, schema);
    created.push(t.table);
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
