/**
 * The central stores over a DuckDB file in a temp dir, with the central dataset and every bootstrap table
 * created and a local vault beside it: what the store tests run on.
 */
import { join } from "node:path";
import { openDuckDB } from "../../src/warehouse/duckdb.ts";
import type { Warehouse } from "../../src/warehouse/warehouse.ts";
import { openVault } from "../../src/vault/mod.ts";
import { CENTRAL_DATASET, type CentralStores, createCentralStores } from "../../src/central/mod.ts";
import { tables } from "../../generated/pipelines/setup/bootstrap.ts";

export interface Central {
  readonly warehouse: Warehouse;
  readonly stores: CentralStores;
  close(): Promise<void>;
}

export async function openCentral(): Promise<Central> {
  const dir = await Deno.makeTempDir({ prefix: "central_" });
  const warehouse = await openDuckDB(join(dir, "warehouse.duckdb"));
  await warehouse.ensureDataset(CENTRAL_DATASET);
  for (const schema of Object.values(tables)) await warehouse.ensureTable(CENTRAL_DATASET, schema);
  const vault = await openVault({ kind: "local", dataDir: dir });
  return {
    warehouse,
    stores: createCentralStores(warehouse, tables, vault),
    async close() {
      await warehouse.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
