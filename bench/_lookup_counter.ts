/**
 * Preload for `bench/flood.ts` (`deno run --preload=bench/_lookup_counter.ts ...`): counts the org-key lookups that
 * reach the warehouse (the `org_api_keys` query of `ApiKeyStore.lookup`, which runs only on a key-cache miss) and
 * writes the running count to the file named by FLOOD_LOOKUP_FILE every 100 ms.
 */
import { DuckDBWarehouse } from "../src/warehouse/duckdb.ts";

const file = Deno.env.get("FLOOD_LOOKUP_FILE");
if (file) {
  let lookups = 0;
  let written = -1;
  const query = DuckDBWarehouse.prototype.query;
  DuckDBWarehouse.prototype.query = function (this: DuckDBWarehouse, sql, params) {
    if (sql.includes(".org_api_keys") && sql.includes("org_api_key_hash = @hash")) lookups++;
    return query.call(this, sql, params);
  } as typeof query;
  const timer = setInterval(() => {
    if (lookups === written) return;
    written = lookups;
    Deno.writeTextFileSync(file, String(lookups));
  }, 100);
  Deno.unrefTimer(timer);
}
